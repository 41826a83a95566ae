"""Reading notices for bulk import: JSON lines (one notice object a line) or CSV.

CSV has one row per (notice, item, party, ground); rows with the same `reference` are merged
into one notice. Columns: reference, decision, decided_on, valid_until, regimes (`;`-separated),
destination, control_entry, item_description, quantity, value_amount, value_currency,
party_role, party_name, party_aliases (`;`), party_country, party_identifiers
(`SCHEME:VALUE;...`), end_use, ground_code, ground_ref, ground_text. Empty cells are absent.
Everything is validated before anything is written; errors name the line and the field.

A notice whose reference this node's own notices already hold is skipped (decision 0025): a
file imported twice, or again after a crash, publishes each reference once. A JSON line
repeating the reference of an earlier line is an error (CSV rows of one reference are one
notice by design).
"""

import csv
import io
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from federation.core.entry import Draft, SealedEntry
from federation.core.errors import StaleSeal
from federation.storage.log import lock_log, log_size
from service.node import Node
from service.notices import publishing, queries
from service.notices.import_workers import LineError, Record, ValidatedLine, Workers
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


def repeated(prepared: Sequence[ValidatedLine]) -> list[LineError]:
    """An error for each notice that repeats the reference of an earlier one in the file:
    which of the two is right is for the officer to say, so neither is imported."""
    first: dict[str, int] = {}
    errors = []
    for p in prepared:
        if p.reference in first:
            errors.append(
                LineError(
                    p.line, f"reference: {p.reference!r} is already on line {first[p.reference]}"
                )
            )
        else:
            first[p.reference] = p.line
    return errors


async def not_held(
    db: Database, node: Node, prepared: Sequence[ValidatedLine]
) -> tuple[list[ValidatedLine], int]:
    """The prepared notices whose reference none of this node's own notices holds, and how
    many were left out (imported before, by an earlier or crashed run, or published)."""
    async with db.read() as session:
        held = await queries.reference_holders(
            session, node.identity.node_id, (p.reference for p in prepared)
        )
    fresh = [p for p in prepared if p.reference not in held]
    return fresh, len(prepared) - len(fresh)


@dataclass(frozen=True)
class Outcome:
    imported: int
    skipped: int  # references published by someone else while the import ran


async def publish_all(
    db: Database,
    node: Node,
    workers: Workers,
    prepared: Sequence[ValidatedLine],
    *,
    batch: int,
    clock: Callable[[], datetime],
    after_batch: Callable[[AsyncSession, list[SealedEntry], datetime], Awaitable[None]],
) -> Outcome:
    """Publish prepared notices in batches, one transaction each. The workers seal batch k+1
    (at the seq it will have if nobody else appends) while batch k is written; if the log
    grew, the key changed or one of the batch's references was published meanwhile, the
    batch is sealed again under the lock, without the references taken."""
    origin = node.identity.node_id
    batches = [prepared[i : i + batch] for i in range(0, len(prepared), batch)]
    if not batches:
        return Outcome(0, 0)
    async with db.read() as session:
        start = await log_size(session, origin)
    now = clock()
    pending = workers.seal(start, batches[0], now)
    done = skipped = 0
    for number, items in enumerate(batches):
        sealed, sealed_at = await pending, now
        if number + 1 < len(batches):
            now = clock()
            pending = workers.seal(sealed.entries[-1].seq + 1, batches[number + 1], now)
        try:
            async with db.write() as session:
                await publishing.store_sealed(
                    session,
                    node,
                    sealed.entries,
                    references=[p.reference for p in items],
                    now=sealed_at,
                    rows=sealed.rows,
                )
                await after_batch(session, sealed.entries, sealed_at)
            stored = sealed.entries
        except StaleSeal:
            sealed_at = clock()
            async with db.write() as session:
                stored = await _publish_again(session, node, items, now=sealed_at)
                if stored:
                    await after_batch(session, stored, sealed_at)
            skipped += len(items) - len(stored)
            if number + 1 < len(batches):  # the prediction for the next batch is wrong too
                await pending
                now = clock()
                if stored:
                    next_seq = stored[-1].seq + 1
                else:
                    async with db.read() as session:
                        next_seq = await log_size(session, origin)
                pending = workers.seal(next_seq, batches[number + 1], now)
        done += len(stored)
    return Outcome(done, skipped)


async def _publish_again(
    session: AsyncSession, node: Node, items: Sequence[ValidatedLine], *, now: datetime
) -> list[SealedEntry]:
    """Seal and store a batch under the log's lock, in this process, leaving out the notices
    whose reference is taken by now."""
    log = await lock_log(session, node.identity.node_id)
    conflicts = await publishing.reference_conflicts(
        session, log.origin, [(p.reference, p.body) for p in items]
    )
    drafts = [
        Draft(p.kind, p.body, p.audience, now)
        for p, conflict in zip(items, conflicts, strict=True)
        if conflict is None
    ]
    published = await publishing.publish_drafts(session, node, drafts, now=now, locked=log)
    return [entry for _row, entry in published]
