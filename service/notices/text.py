"""Text that people type: the one rule every text field of every input follows (notices,
screenings, consultations, approvals, token and node names, revocation reasons), and folding
free text for search terms.

The rule (docs/decisions/0019-text-hygiene.md): no control characters (a tab or a line break
only in long free text), no bidirectional embedding, override or isolate controls, no
surrogates, private-use, unassigned, line-separator or tag characters; and at least one
visible character. Other format characters that scripts need (ZWJ, ZWNJ, LRM, RLM, ALM,
soft hyphen) are allowed, but never count as visible.
"""

import sys
import unicodedata
from functools import cache

# U+202A-U+202E (LRE, RLE, PDF, LRO, RLO) and U+2066-U+2069 (LRI, RLI, FSI, PDI): they
# reorder what is displayed ("Trojan Source", CVE-2021-42574)
BIDI_CONTROLS = frozenset(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]))
LINE_BREAKS = frozenset("\n\t")  # allowed in long free text only
_REFUSED = {
    "Cc": "the control character",
    "Cs": "the lone surrogate",
    "Co": "the private-use character",
    "Cn": "the unassigned code point",
    "Zl": "the line separator",
    "Zp": "the paragraph separator",
}
_ALWAYS_REFUSED = frozenset({"Cs", "Co", "Cn"})  # surrogates: also no regex engine takes them
_TAGS = range(0xE0000, 0xE0080)  # invisible copies of ASCII ("ASCII smuggling")
# Default_Ignorable_Code_Point (Unicode DerivedCoreProperties), plus U+2800 BRAILLE PATTERN
# BLANK: characters that render as nothing
_INVISIBLE = frozenset(
    chr(point)
    for low, high in (
        (0x00AD, 0x00AD),
        (0x034F, 0x034F),
        (0x061C, 0x061C),
        (0x115F, 0x1160),
        (0x17B4, 0x17B5),
        (0x180B, 0x180F),
        (0x200B, 0x200F),
        (0x202A, 0x202E),
        (0x2060, 0x206F),
        (0x2800, 0x2800),
        (0x3164, 0x3164),
        (0xFE00, 0xFE0F),
        (0xFEFF, 0xFEFF),
        (0xFFA0, 0xFFA0),
        (0xFFF0, 0xFFF8),
        (0x1BCA0, 0x1BCA3),
        (0x1D173, 0x1D17A),
        (0xE0000, 0xE0FFF),
    )
    for point in range(low, high + 1)
)
_INVISIBLE_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf", "Cs", "Co", "Cn"})


def _refusal(char: str, *, multiline: bool) -> str | None:
    """Why `char` may not appear in a text field, or None."""
    point = ord(char)
    if char in LINE_BREAKS:
        return None if multiline else f"must be one line, without tabs (found U+{point:04X})"
    if char in BIDI_CONTROLS:
        return (
            f"must not contain U+{point:04X}, a bidirectional embedding, override or isolate "
            "control"
        )
    if point in _TAGS:
        return f"must not contain U+{point:04X}, an invisible tag character"
    what = _REFUSED.get(unicodedata.category(char))
    return None if what is None else f"must not contain {what} U+{point:04X}"


def visible(char: str) -> bool:
    """Does `char` show as something (not space, not a format or ignorable character)?"""
    return char not in _INVISIBLE and unicodedata.category(char) not in _INVISIBLE_CATEGORIES


_NOTHING_VISIBLE = "must contain at least one visible character"


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """What is wrong with `value` as a text field, naming the first offending character, or
    None if it may be stored. `multiline`: a long free-text field (tabs and line breaks)."""
    if value.isascii() and value.isprintable():  # the common case, checked in C
        return None if value.strip() else _NOTHING_VISIBLE
    if not value.isprintable():  # printable: no C*, Z* except the space; else look closer
        for char in value:
            if char != " " and not char.isprintable():
                problem = _refusal(char, multiline=multiline)
                if problem is not None:
                    return problem
    if not any(visible(char) for char in value):
        return _NOTHING_VISIBLE
    return None


@cache
def pattern(*, multiline: bool = False) -> str:
    """The rule as one regular expression, for the OpenAPI document: `^(?!I*$)A*$`, only
    characters the rule allows (A), not all of them invisible (I). It matches exactly the
    values `text_problem` passes (a test pins this), per this Python's Unicode version. Its
    syntax is ECMA 262 with the `u` flag (as JSON Schema 2020-12 asks) and Python's alike:
    BMP code points as \\uXXXX escapes, others as themselves."""
    allowed: list[int] = []
    invisible: list[int] = []
    category = unicodedata.category
    for point in range(sys.maxunicode + 1):
        char = chr(point)
        if category(char) in _ALWAYS_REFUSED:  # most code points: decided at once
            continue
        if char.isprintable() or _refusal(char, multiline=multiline) is None:
            allowed.append(point)
            if not visible(char):
                invisible.append(point)
    return f"^(?!{_char_class(invisible)}*$){_char_class(allowed)}*$"


def _char_class(points: list[int]) -> str:
    ranges: list[list[int]] = []
    for point in points:
        if ranges and ranges[-1][1] == point - 1:
            ranges[-1][1] = point
        else:
            ranges.append([point, point])
    parts = (
        _regex_char(low) if low == high else f"{_regex_char(low)}-{_regex_char(high)}"
        for low, high in ranges
    )
    return "[" + "".join(parts) + "]"


def _regex_char(point: int) -> str:
    return f"\\u{point:04x}" if point < 0x10000 else chr(point)


def fold(value: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())
