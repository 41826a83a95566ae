"""The rules the OpenAPI document states are the rules the code applies (docs/decisions/0024):
the text rule's pattern matches exactly what `text_problem` passes, every control-list entry
the pattern matches normalises, and the node's document names its own regimes."""

import re
import unicodedata
from collections.abc import Awaitable, Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from service.notices import control, text
from tests.nodes import LiveNode

ONE_LINE = re.compile(text.pattern())
PROSE = re.compile(text.pattern(multiline=True))

# every kind of character the rule decides on, mixed with ordinary ones
SPECIAL = st.sampled_from(
    [
        "\t", "\n", "\r", "\x00", "\x7f", "\x85", " ", "\u00a0", "\u00ad", "\u200b", "\u200d",
        "\u200e", "\u202e", "\u2066", "\u2028", "\u2029", "\u2800", "\u3164", "\ufeff",
        "\ue000", "\U000f0000", "\U000e0041", "\U000e0100", "\U0001d173", "\u0378", "\U0003ffff",
        "\ud800", "a", "Ж", "中", "٣", "\u0301",
    ]
)  # fmt: skip
TEXTS = st.lists(st.one_of(SPECIAL, st.characters()), max_size=8).map("".join)


@settings(max_examples=600, derandomize=True, database=None)
@given(TEXTS)
def test_the_text_pattern_is_the_text_rule(value: str) -> None:
    assert (ONE_LINE.fullmatch(value) is not None) == (text.text_problem(value) is None)
    multiline = text.text_problem(value, multiline=True) is None
    assert (PROSE.fullmatch(value) is not None) == multiline


def test_the_text_pattern_decides_every_code_point_as_the_rule_does() -> None:
    """Each character alone, and after a visible one (so that only its own refusal counts)."""
    for point in range(0x110000):
        char = chr(point)
        if unicodedata.category(char) == "Cn" and point > 0x40000:
            continue  # planes 4-13 hold nothing assigned: one run of the same refusal
        for value in (char, "a" + char):
            assert (ONE_LINE.fullmatch(value) is not None) == (text.text_problem(value) is None)


@settings(max_examples=300, derandomize=True, database=None)
@given(st.from_regex(control.PATTERN, fullmatch=True).filter(lambda v: len(v) <= 40))
def test_every_control_entry_the_pattern_states_normalises(value: str) -> None:
    normal = control.parse(value)
    assert normal == control.normalise(normal)  # and its normal form is a fixed point


def test_the_spellings_officers_type_are_in_the_pattern() -> None:
    for spelling, normal in {
        "5A001.j": "5A001.j",
        "5.A.1.j": "5A001.j",
        "5a001j": "5A001.j",
        "5A001.j.1.a": "5A001.j.1.a",
        " 5A001 ": "5A001",
        "5A001.1": "5A001.1",
        "ML21.b": "ML21.b",
        "ml 21 b": "ML21.b",
        "catch-all": "catch-all",
        "CATCH ALL": "catch-all",
    }.items():
        assert control.is_spelled(spelling), spelling
        assert control.parse(spelling) == normal
    for wrong in ("5Z001", "5A0011", "5A001.a.b", "5A001 1", "ML211", "", "5A001..j"):
        assert not control.is_spelled(wrong), wrong


async def test_the_document_names_this_nodes_regimes(
    make_node: Callable[..., Awaitable[LiveNode]],
) -> None:
    live = await make_node("de-bafa")
    schema = (await live.client.get("/openapi.json")).json()
    regimes = schema["components"]["schemas"]["NoticeInput"]["properties"]["regimes"]
    assert regimes["items"]["enum"] == sorted(live.node.identity.regimes)
    assert regimes["uniqueItems"] is True
