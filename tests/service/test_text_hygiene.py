"""One text rule for every text field of every input (issue 11 item 9, decision 0019): no
control characters (tab and line feed only in long free text), no bidirectional embedding,
override or isolate controls, no surrogates, private-use, unassigned, line-separator or tag
characters, and at least one visible character.

The tables run over every string field of every input schema; a walk of each schema's JSON
Schema checks that the tables miss none. Then the same through the real app (in-process):
each route answers 422 naming the field and stores nothing.
"""

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select

from federation.storage.tables import EntryRow
from service.consultations.schema import (
    AnswerInput,
    ApprovalInput,
    ConsultationInput,
    ExtensionInput,
    FollowUpInput,
)
from service.notices.schema import NoticeInput, ReviewInput, RevokeInput, field_errors
from service.notices.text import text_problem
from service.screening.schema import ApplicationInput, CloseInput, DeterminationInput
from service.storage.models import AuditRow, NoticeRow
from tests.nodes import LiveNode
from tests.service.notice_data import application, notice

UUID = "0193b7c4-0000-7000-8000-000000000000"

# --- the rule itself ------------------------------------------------------------------------------

ACCEPTED = [
    "Severny Signal LLC",
    "ООО «Северный сигнал»",
    "شركة الإشارة\u200f (Severny)",  # RLM, the mark Arabic text needs beside Latin
    "می\u200cخواهم",  # ZWNJ, part of Persian spelling
    "👩\u200d🔬 Lab",  # ZWJ in an emoji sequence
    "Cafe\u0301 Zürich",  # combining accent
    "北京信号有限公司",
    "1\u00a0Example\u00a0Street",  # no-break spaces between visible words
    "x",
]
REFUSED = [
    ("NUL", "A\x00B", "control character U+0000"),
    ("escape", "A\x1b[2JB", "control character U+001B"),
    ("delete", "A\x7fB", "control character U+007F"),
    ("C1 next line", "A\x85B", "control character U+0085"),
    ("C1 CSI", "A\x9bB", "control character U+009B"),
    ("carriage return", "A\rB", "control character U+000D"),
    *[
        (f"bidi U+{point:04X}", f"invoice{chr(point)}fdp.exe", f"U+{point:04X}, a bidirectional")
        for point in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]
    ],
    ("lone surrogate", "A\ud800B", "lone surrogate U+D800"),
    ("private use", "A\ue000B", "private-use character U+E000"),
    ("unassigned", "A\u0378B", "unassigned code point U+0378"),
    ("line separator", "A\u2028B", "line separator U+2028"),
    ("paragraph separator", "A\u2029B", "paragraph separator U+2029"),
    ("tag character", "A\U000e0041B", "U+E0041, an invisible tag character"),
    ("empty", "", "visible character"),
    ("spaces", "   ", "visible character"),
    ("zero-width space only", "\u200b\u200b", "visible character"),
    ("hangul filler only", "\u3164", "visible character"),
    ("braille blank only", "\u2800\u2800", "visible character"),
    ("marks only", "\u200e\u200f\u00a0\ufeff", "visible character"),
    ("joiners only", " \u200d\u200c ", "visible character"),
    ("variation selector only", "\ufe0f", "visible character"),
]


@pytest.mark.parametrize("value", ACCEPTED)
def test_real_names_in_any_script_are_accepted(value: str) -> None:
    assert text_problem(value) is None
    assert text_problem(value, multiline=True) is None


@pytest.mark.parametrize(
    ("value", "reason"), [(v, r) for _c, v, r in REFUSED], ids=[c for c, _v, _r in REFUSED]
)
def test_each_refused_character_is_named(value: str, reason: str) -> None:
    for multiline in (False, True):
        problem = text_problem(value, multiline=multiline)
        assert problem is not None and reason in problem, problem


@pytest.mark.parametrize("value", ["line one\nline two", "col\tcol", "a\n\n\tb"])
def test_tabs_and_line_feeds_only_in_long_free_text(value: str) -> None:
    assert text_problem(value, multiline=True) is None
    problem = text_problem(value)
    assert problem is not None and problem.startswith("must be one line")


# --- every string field of every input schema ----------------------------------------------------


def full_notice() -> dict[str, Any]:
    """A valid notice with every optional string field filled."""
    body = notice(valid_until="2029-11-20", audience=["de-bafa"])
    body["public_listings"] = [{"list": "US-EL", "ref": "86 FR 60759"}]
    return body


def full_application() -> dict[str, Any]:
    body = application()
    body["parties"][0].update(
        {
            "aliases": ["Severnyi"],
            "address": {"street": "1 Example Street", "city": "Minsk", "postal_code": "220000"},
            "identifiers": [{"scheme": "LEI", "value": "5493001KJTIIGC8Y1R12"}],
        }
    )
    return body


# model, a valid body with every string field present, and which of them are long free text
INPUTS: dict[str, tuple[type[BaseModel], dict[str, Any], set[str]]] = {
    "notice": (
        NoticeInput,
        full_notice(),
        {"items.0.description", "end_use", "grounds.0.text"},
    ),
    "revocation": (
        RevokeInput,
        {
            "reason": "annulled by court",
            "revoked_on": "2026-12-01",
            "code": "superseded",
            "superseded_by": UUID,
        },
        {"reason"},
    ),
    "review": (
        ReviewInput,
        {
            "outcome": "maintained",
            "reviewed_on": "2026-12-01",
            "next_review": "2029-12-01",
            "note": "n",
        },
        {"note"},
    ),
    "determination": (
        DeterminationInput,
        {"origin": "de-bafa", "notice_id": UUID, "identical": True, "reasons": "r"},
        {"reasons"},
    ),
    "application": (ApplicationInput, full_application(), {"items.0.description", "end_use"}),
    "close": (
        CloseInput,
        {"outcome": "approved", "licence_ref": "L-1", "decided_on": "2026-12-01"},
        set(),
    ),
    "consultation": (
        ConsultationInput,
        {
            "screening_id": UUID,
            "origin": "de-bafa",
            "notice_id": UUID,
            "summary": "s",
            "message": "m",
            "reply_due": "2026-12-31",
            "regime": "EU",
        },
        {"summary", "message"},
    ),
    "answer": (
        AnswerInput,
        {
            "step": "final",
            "position": "conditional_no_objection",
            "conditions": "c",
            "message": "m",
            "requester": "fr-sbdu",
        },
        {"message", "conditions"},
    ),
    "extension": (
        ExtensionInput,
        {"reply_due": "2027-01-31", "message": "m", "requester": "fr-sbdu"},
        {"message"},
    ),
    "follow_up": (FollowUpInput, {"step": "information", "message": "m"}, {"message"}),
    "approval": (
        ApprovalInput,
        {
            "origin": "de-bafa",
            "notice_id": UUID,
            "consultation_id": UUID,
            "licence_ref": "L-1",
            "decided_on": "2026-12-01",
            "explanation": "e",
        },
        {"explanation"},
    ),
}
# string fields whose own format (a code, a date, an id) refuses any such text already
FORMATTED = {
    "decision", "decided_on", "valid_until", "regimes.0", "destination", "audience.0",
    "items.0.control_entry", "items.0.quantity", "items.0.value.amount",
    "items.0.value.currency", "parties.0.role", "parties.0.country",
    "parties.0.identifiers.0.scheme", "grounds.0.code", "revoked_on", "outcome",
    "screening_id", "notice_id", "consultation_id", "reply_due", "position", "origin",
    "requester", "code", "superseded_by", "reviewed_on", "next_review", "regime", "step",
}  # fmt: skip


def string_paths(value: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(value, str):
        yield prefix
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from string_paths(item, f"{prefix}.{key}" if prefix else key)
    elif isinstance(value, list):
        for index, item in enumerate(value[:1]):
            yield from string_paths(item, f"{prefix}.{index}" if prefix else str(index))


def schema_string_paths(schema: dict[str, Any], node: dict[str, Any], prefix: str = "") -> set[str]:
    """Every string field a JSON Schema allows (list items as index 0)."""
    if "$ref" in node:
        return schema_string_paths(schema, schema["$defs"][node["$ref"].split("/")[-1]], prefix)
    found: set[str] = set()
    for option in node.get("anyOf", []):
        found |= schema_string_paths(schema, option, prefix)
    if node.get("type") == "string":
        found.add(prefix)
    if node.get("type") == "array":
        found |= schema_string_paths(schema, node["items"], f"{prefix}.0" if prefix else "0")
    for key, child in node.get("properties", {}).items():
        found |= schema_string_paths(schema, child, f"{prefix}.{key}" if prefix else key)
    return found


def put(body: dict[str, Any], path: str, value: str) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    holder: Any = changed
    for part in parents:
        holder = holder[part]
    holder[last] = value
    return changed


def errors_of(model: type[BaseModel], body: dict[str, Any]) -> dict[str, str]:
    try:
        model.model_validate(body)
    except ValidationError as exc:
        return {e["field"]: e["message"] for e in field_errors(exc)}
    return {}


FIELDS = [
    (name, path) for name, (_model, body, _long) in INPUTS.items() for path in string_paths(body)
]


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_the_tables_cover_every_string_field_of_every_input(name: str) -> None:
    model, body, long_text = INPUTS[name]
    assert errors_of(model, body) == {}, "the full body itself is valid"
    assert set(string_paths(body)) == schema_string_paths(
        model.model_json_schema(), model.model_json_schema()
    )
    assert long_text <= set(string_paths(body))


@pytest.mark.parametrize(("name", "path"), FIELDS, ids=[f"{n}:{p}" for n, p in FIELDS])
def test_every_field_refuses_every_bad_text_naming_the_field(name: str, path: str) -> None:
    model, body, _long = INPUTS[name]
    for case, value, reason in REFUSED:
        errors = errors_of(model, put(body, path, value))
        assert list(errors) == [path], f"{case}: {errors}"
        if path not in FORMATTED:  # ours, or pydantic's for empty text and lone surrogates
            said = errors[path]
            assert reason in said or "at least 1 character" in said or "unicode" in said, (
                f"{case}: {said}"
            )


@pytest.mark.parametrize(("name", "path"), FIELDS, ids=[f"{n}:{p}" for n, p in FIELDS])
def test_line_breaks_only_in_long_free_text_fields(name: str, path: str) -> None:
    model, body, long_text = INPUTS[name]
    errors = errors_of(model, put(body, path, "first line\n\tsecond line"))
    if path in long_text:
        assert errors == {}
    else:
        assert list(errors) == [path], errors


# --- through the app: 422 naming the field, nothing stored ----------------------------------------

ROUTES = {
    "notice": "/api/v1/notices",
    "revocation": f"/api/v1/notices/{UUID}/revoke",
    "application": "/api/v1/screenings",
    "close": f"/api/v1/screenings/{UUID}/close",
    "consultation": "/api/v1/consultations",
    "answer": f"/api/v1/consultations/{UUID}/answer",
    "extension": f"/api/v1/consultations/{UUID}/extend",
    "follow_up": f"/api/v1/consultations/{UUID}/follow-up",
    "review": f"/api/v1/notices/{UUID}/review",
    "determination": f"/api/v1/screenings/{UUID}/determinations",
    "approval": "/api/v1/approvals",
}
API_SAMPLES = ["Severny\x00Signal", "Severny\u202eSignal", "\u200b\u3164"]


async def stored(live: LiveNode) -> tuple[int, int, int]:
    async with live.db.read() as session:
        return (
            int(await session.scalar(select(func.count()).select_from(EntryRow)) or 0),
            int(await session.scalar(select(func.count()).select_from(NoticeRow)) or 0),
            int(await session.scalar(select(func.count()).select_from(AuditRow)) or 0),
        )


async def test_every_route_answers_422_naming_the_field_and_stores_nothing(live: LiveNode) -> None:
    officer = live.auth("officer")
    published = await live.client.post(ROUTES["notice"], json=notice(), headers=officer)
    assert published.status_code == 201, published.text
    amend = f"/api/v1/notices/{published.json()['notice_id']}/amend"
    before = await stored(live)
    wrong = []
    targets = [(name, ROUTES[name], path) for name, path in FIELDS]
    targets += [("notice", amend, path) for name, path in FIELDS if name == "notice"]
    for name, route, path in targets:
        for value in API_SAMPLES:
            response = await live.client.post(
                route, json=put(INPUTS[name][1], path, value), headers=officer
            )
            fields = [e["field"] for e in response.json().get("errors", [])]
            if response.status_code != 422 or fields != [path]:
                wrong.append(f"{route} {path} {value!r}: {response.status_code} {fields}")
    assert not wrong, "\n".join(wrong)
    assert await stored(live) == before
