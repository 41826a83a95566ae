"""Control-list entries: one normal form, and hierarchical coverage.

`5.A.1.j`, `5a001j` and `5A001.j` all become `5A001.j`; `ml 21 b` becomes `ML21.b`; every
spelling of catch-all becomes `catch-all`. An entry covers another when its parts are a
prefix of the other's: `5A001` covers `5A001.j.1`. Pure functions.
"""

import itertools
import json
import re

CATCH_ALL = "catch-all"

_DUAL_USE = re.compile(r"^([0-9])\.?([A-E])\.?([0-9]{1,3})(?![0-9])(.*)$")
_MUNITIONS = re.compile(r"^ML\.?([0-9]{1,2})(?![0-9])(.*)$")
_CATCH_ALL = re.compile(r"^CATCH[\s_-]*ALL$")
_SUB_ITEM = re.compile(r"[A-Z]{1,2}|[0-9]{1,3}")
_SEPARATORS = re.compile(r"[\s.]+")


def _alternating(first: str, second: str, parts: int) -> str:
    """A regex of 1 to `parts` sub-items, `first` and `second` in turn, each after an
    optional separator."""
    if parts == 1:
        return first
    return f"{first}(?:[ .]?{_alternating(second, first, parts - 1)})?"


_LETTERS, _NUMBER = "[A-Za-z]{1,2}", "[0-9]{1,3}"
# after the head's number, a sub-item number needs a dot (a space would join the numbers)
_REST = f"(?:[ .]?{_alternating(_LETTERS, _NUMBER, 8)}|\\.{_alternating(_NUMBER, _LETTERS, 8)})?"
# The spellings the API accepts, as the OpenAPI document states them (ECMA 262 and Python
# alike): every string it matches normalises (a test pins this), up to 40 characters.
PATTERN = (
    "^ *(?:[Cc][Aa][Tt][Cc][Hh][ _-]*[Aa][Ll][Ll]"
    f"|[Mm][Ll][ .]?[0-9]{{1,2}}{_REST}"
    f"|[0-9][ .]?[A-Ea-e][ .]?[0-9]{{1,3}}{_REST}) *$"
)
_SPELLING = re.compile(PATTERN)
EXPECTED = "is not a control-list entry (expected e.g. 5A001.j, 5.A.1.j, ML21.b or catch-all)"


def is_spelled(text: str) -> bool:
    """Is `text` in one of the spellings the API accepts (PATTERN)?"""
    return _SPELLING.fullmatch(text) is not None


class ControlEntryError(ValueError):
    """Text that is not a control-list entry in any accepted notation."""


def _quoted(text: str) -> str:
    """`text` in double quotes, as JSON writes it (control characters escaped)."""
    return json.dumps(text, ensure_ascii=False)


def _sub_items(rest: str, original: str) -> list[str]:
    compact = _SEPARATORS.sub(".", rest).strip(".")
    if not compact:
        return []
    parts: list[str] = []
    for chunk in compact.split("."):
        pieces = _SUB_ITEM.findall(chunk)
        if "".join(pieces) != chunk:
            raise ControlEntryError(
                f"{_quoted(original)} has a malformed sub-item {_quoted(chunk)}"
            )
        parts.extend(p.lower() if p.isalpha() else str(int(p)) for p in pieces)
    for before, after in itertools.pairwise(parts):
        if before.isalpha() == after.isalpha():
            raise ControlEntryError(
                f"{_quoted(original)}: sub-items must alternate letters and numbers"
            )
    if len(parts) > 8:
        raise ControlEntryError(f"{_quoted(original)} nests deeper than 8 sub-items")
    return parts


def normalise(text: str) -> str:
    """The normal form of a control-list entry; raises ControlEntryError."""
    original = text
    upper = text.strip().upper()
    if not upper or len(upper) > 40:
        raise ControlEntryError(f"{_quoted(original)} is not a control-list entry")
    if _CATCH_ALL.match(upper):
        return CATCH_ALL
    if match := _MUNITIONS.match(upper.replace(" ", "")):
        head = f"ML{int(match.group(1))}"
        rest = match.group(2)
    elif match := _DUAL_USE.match(upper.replace(" ", "")):
        head = f"{match.group(1)}{match.group(2)}{int(match.group(3)):03d}"
        rest = match.group(4)
    else:
        raise ControlEntryError(
            f"{_quoted(original)} is not a control-list entry (expected e.g. 5A001.j, 5.A.1.j, ML21.b "
            "or catch-all)"
        )
    return ".".join([head, *_sub_items(rest, original)])


def parse(text: str) -> str:
    """The normal form of a control-list entry an officer typed: one of the spellings
    PATTERN states (what the API and imports accept), normalised; raises ControlEntryError."""
    if not is_spelled(text):
        raise ControlEntryError(f"{_quoted(text)} {EXPECTED}")
    return normalise(text)


def parts(entry: str) -> tuple[str, ...]:
    """The hierarchy of a normalised entry: `5A001.j.1` -> ("5A001", "j", "1")."""
    return tuple(entry.split("."))


def covers(broader: str, narrower: str) -> bool:
    """True if normalised `broader` is `narrower` or one of its ancestors."""
    if CATCH_ALL in (broader, narrower):
        return broader == narrower
    b, n = parts(broader), parts(narrower)
    return n[: len(b)] == b


def overlaps(a: str, b: str) -> bool:
    """True if either normalised entry covers the other."""
    return covers(a, b) or covers(b, a)
