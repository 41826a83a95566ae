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
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from federation.entry import Draft, SealedEntry
from federation.errors import StaleSeal
from federation.log import log_size
from service.node import Node
from service.notices import publishing
from service.notices.import_workers import LineError, Prepared, Record, Workers
from service.storage.database import Database

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


def json_records(text: str) -> list[Record]:
    """The non-blank lines of a JSON lines file, parsed later (in the workers)."""
    return [
        (number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()
    ]


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


def csv_records(text: str) -> tuple[list[Record], list[LineError]]:
    """CSV rows merged into one raw notice per `reference`, each with its first line."""
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
    return [(line, raw) for line, raw in merged.values()], []


def records(text: str, *, fmt: str) -> tuple[list[Record], list[LineError]]:
    if fmt == "csv":
        return csv_records(text)
    return json_records(text), []


async def publish_all(
    db: Database,
    node: Node,
    workers: Workers,
    prepared: Sequence[Prepared],
    *,
    batch: int,
    clock: Callable[[], datetime],
    after_batch: Callable[[AsyncSession, list[SealedEntry], datetime], Awaitable[None]],
) -> int:
    """Publish prepared notices in batches, one transaction each. The workers seal batch k+1
    (at the seq it will have if nobody else appends) while batch k is written; if the log
    grew or the key changed meanwhile, the batch is sealed again under the lock."""
    origin = node.identity.node_id
    batches = [prepared[i : i + batch] for i in range(0, len(prepared), batch)]
    if not batches:
        return 0
    async with db.read() as session:
        start = await log_size(session, origin)
    now = clock()
    pending = workers.seal(start, batches[0], now)
    done = 0
    for number, items in enumerate(batches):
        sealed, sealed_at = await pending, now
        if number + 1 < len(batches):
            now = clock()
            pending = workers.seal(sealed.entries[-1].seq + 1, batches[number + 1], now)
        try:
            async with db.write() as session:
                await publishing.store_sealed(
                    session, node, sealed.entries, now=sealed_at, rows=sealed.rows
                )
                await after_batch(session, sealed.entries, sealed_at)
            stored = sealed.entries
        except StaleSeal:
            sealed_at = clock()
            async with db.write() as session:
                drafts = [Draft(kind, body, audience, sealed_at) for kind, body, audience in items]
                resealed = await publishing.publish_drafts(session, node, drafts, now=sealed_at)
                stored = [entry for _row, entry in resealed]
                await after_batch(session, stored, sealed_at)
            if number + 1 < len(batches):  # the prediction for the next batch is wrong too
                await pending
                now = clock()
                pending = workers.seal(stored[-1].seq + 1, batches[number + 1], now)
        done += len(stored)
    return done
