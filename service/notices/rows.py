"""The derived notice rows of a notice version: pure functions of an entry's body, shared
by applying entries (`derived`) and by bulk import's worker processes, which build the rows
of the notices they seal so that the storing process only inserts them.

Search terms are columns of the notice row, one per kind (`control_terms`, `party_terms`,
`regime_terms`): each term between two SEP characters, so that a filter is one `LIKE` on the
row it already reads (decision 0016).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson

from service.notices import text

SEP = "\x1f"  # ASCII unit separator: never part of a term (replaced by a space if met)
TERM_COLUMNS = ("control_terms", "party_terms", "regime_terms")
MAX_TERM = 300


def _joined(terms: Iterable[str]) -> str:
    clean = sorted({t.replace(SEP, " ")[:MAX_TERM] for t in terms})
    return SEP + SEP.join(clean) + SEP if clean else ""


def term_columns(body: dict[str, Any]) -> dict[str, str]:
    """The search-term columns of a notice version: control entries, folded party names and
    aliases, regimes."""
    return {
        "control_terms": _joined(item["control_entry"] for item in body["items"]),
        "party_terms": _joined(
            text.fold(name)
            for party in body["parties"]
            for name in [party["name"], *party["aliases"]]
        ),
        "regime_terms": _joined(body["regimes"]),
    }


def term_pattern(term: str) -> str:
    """What a term column holds around `term` (to search with `contains`)."""
    return SEP + term.replace(SEP, " ") + SEP


def notice_values(body: dict[str, Any], audience: Sequence[str], seq: int) -> dict[str, Any]:
    """The notice columns a (published or amended) version sets."""
    return {
        "version": body["version"],
        "reference": body["reference"],
        "decision": body["decision"],
        "decided_on": date.fromisoformat(body["decided_on"]),
        "valid_until": date.fromisoformat(body["valid_until"]),
        "destination": body["destination"],
        "regimes": list(body["regimes"]),
        "audience": list(audience),
        "body": body,
        "last_seq": seq,
        **term_columns(body),
    }


NEW_ROW = {
    "revoked_on": None,
    "revoked_reason": None,
    "revoked_code": None,
    "superseded_by": None,
    "reviewed_on": None,
    "revoked_seq": None,
    "invalid_reason": None,
}


def new_notice(
    origin: str, seq: int, audience: Sequence[str], body: dict[str, Any]
) -> dict[str, Any]:
    """The `notices` row of a notice first known by the entry at `seq`."""
    return {
        "origin": origin,
        "notice_id": body["notice_id"],
        "first_seq": seq,
        **notice_values(body, list(audience), seq),
        **NEW_ROW,
    }


def version_row(
    origin: str, seq: int, notice_id: str, version: int, kind: str = "published"
) -> dict[str, Any]:
    """The `notice_versions` row of the entry at `seq`."""
    return {"origin": origin, "seq": seq, "notice_id": notice_id, "version": version, "kind": kind}


@dataclass
class FreshRows:
    """The derived rows of notices published by entries sealed for this node's own log, built
    where they were sealed (the bulk import's worker processes) and inserted as they are."""

    notices: list[dict[str, Any]]
    versions: list[dict[str, Any]]


def fresh_rows(entries: Sequence[tuple[str, int, Sequence[str], bytes]]) -> FreshRows:
    """Rows for `notice.published` entries `(origin, seq, audience, body)` of brand-new notices
    (fresh notice ids: nothing stored can conflict). Pure."""
    rows = FreshRows([], [])
    for origin, seq, audience, raw in entries:
        body = orjson.loads(raw)
        rows.notices.append(new_notice(origin, seq, audience, body))
        rows.versions.append(version_row(origin, seq, body["notice_id"], body["version"]))
    return rows
