"""Reading notices for bulk import: JSON lines (one notice object a line) or CSV.

CSV has one row per (notice, item, party, ground); rows with the same `reference` are merged
into one notice. Columns: reference, decision, decided_on, valid_until, regimes (`;`-separated),
destination, control_entry, item_description, quantity, value_amount, value_currency,
party_role, party_name, party_aliases (`;`), party_country, party_identifiers
(`SCHEME:VALUE;...`), end_use, ground_code, ground_ref, ground_text. Empty cells are absent.
Everything is validated before anything is written; errors name the line and the field.
"""

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from service.notices.schema import NoticeContext, NoticeInput, field_errors

CSV_COLUMNS = (
    "reference",
    "decision",
    "decided_on",
    "valid_until",
    "regimes",
    "destination",
    "control_entry",
    "item_description",
    "quantity",
    "value_amount",
    "value_currency",
    "party_role",
    "party_name",
    "party_aliases",
    "party_country",
    "party_identifiers",
    "end_use",
    "ground_code",
    "ground_ref",
    "ground_text",
)
MAX_ERRORS = 20


@dataclass(frozen=True)
class LineError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def _validate(
    raw: Any, line: int, errors: list[LineError], context: NoticeContext | None
) -> NoticeInput | None:
    if not isinstance(raw, dict):
        errors.append(LineError(line, "a notice must be a JSON object"))
        return None
    try:
        return NoticeInput.model_validate(raw, context={"node": context})
    except ValidationError as exc:
        errors.extend(LineError(line, f"{e['field']}: {e['message']}") for e in field_errors(exc))
        return None


def parse_json_lines(
    text: str, context: NoticeContext | None = None
) -> tuple[list[NoticeInput], list[LineError]]:
    notices: list[NoticeInput] = []
    errors: list[LineError] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(LineError(number, f"not valid JSON: {exc.msg}"))
            continue
        if (notice := _validate(raw, number, errors, context)) is not None:
            notices.append(notice)
    return notices, errors


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


def _cell(row: dict[str, str], key: str) -> str | None:
    value = (row.get(key) or "").strip()
    return value or None


def _row_parts(row: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    value = None
    if _cell(row, "value_amount") or _cell(row, "value_currency"):
        value = {"amount": _cell(row, "value_amount"), "currency": _cell(row, "value_currency")}
    item = {
        "control_entry": _cell(row, "control_entry"),
        "description": _cell(row, "item_description"),
        "quantity": _cell(row, "quantity"),
        "value": value,
    }
    identifiers = []
    for ident in _split(row.get("party_identifiers") or ""):
        scheme, _, number = ident.partition(":")
        identifiers.append({"scheme": scheme.strip(), "value": number.strip()})
    party = {
        "role": _cell(row, "party_role"),
        "name": _cell(row, "party_name"),
        "aliases": _split(row.get("party_aliases") or ""),
        "country": _cell(row, "party_country"),
        "identifiers": identifiers,
    }
    ground = {
        "code": _cell(row, "ground_code"),
        "ref": _cell(row, "ground_ref"),
        "text": _cell(row, "ground_text"),
    }
    return item, party, ground


def parse_csv(
    text: str, context: NoticeContext | None = None
) -> tuple[list[NoticeInput], list[LineError]]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [
        c for c in ("reference", "decision", "decided_on") if c not in (reader.fieldnames or [])
    ]
    if missing:
        return [], [LineError(1, f"CSV header lacks column(s) {', '.join(missing)}")]
    unknown = [c for c in reader.fieldnames or [] if c not in CSV_COLUMNS]
    if unknown:
        return [], [LineError(1, f"CSV header has unknown column(s) {', '.join(unknown)}")]
    merged: dict[str, tuple[int, dict[str, Any]]] = {}
    for row in reader:
        line = reader.line_num
        reference = _cell(row, "reference") or f"<line {line}>"
        item, party, ground = _row_parts(row)
        if reference not in merged:
            merged[reference] = (
                line,
                {
                    "reference": _cell(row, "reference"),
                    "decision": _cell(row, "decision"),
                    "decided_on": _cell(row, "decided_on"),
                    "valid_until": _cell(row, "valid_until"),
                    "regimes": _split(row.get("regimes") or ""),
                    "destination": _cell(row, "destination"),
                    "end_use": _cell(row, "end_use"),
                    "items": [],
                    "parties": [],
                    "grounds": [],
                },
            )
        notice = merged[reference][1]
        for key, part in (("items", item), ("parties", party), ("grounds", ground)):
            if any(v for v in part.values()) and part not in notice[key]:
                notice[key].append(part)
    notices: list[NoticeInput] = []
    errors: list[LineError] = []
    for line, raw in merged.values():
        if (parsed := _validate(raw, line, errors, context)) is not None:
            notices.append(parsed)
    return notices, errors


def parse(
    text: str, *, fmt: str, context: NoticeContext | None = None
) -> tuple[list[NoticeInput], list[LineError]]:
    """Validate every notice of a file (against this node when `context` is given)."""
    if fmt == "csv":
        return parse_csv(text, context)
    return parse_json_lines(text, context)
