"""Derived notice state: applying notice entries to the notice tables, and rebuilding them.

The log is the single source of truth; these tables are an index over it. `apply_entries`
is used alike by publishing, by a full rebuild and (later) by sync, a batch at a time with a
handful of statements per batch. An entry that conflicts with what is already known (a
reused notice_id, an out-of-order version, a change by someone other than the origin, a body
that is not a notice) is flagged on the entry and otherwise ignored.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from federation.bulk import insert_plain
from federation.entry import SealedEntry
from federation.tables import EntryRow
from service.notices import text
from service.storage.models import NoticeRow, NoticeTermRow, NoticeVersionRow

NOTICE_TYPES = ("notice.published", "notice.amended", "notice.revoked")
CHUNK = 500


@dataclass(frozen=True)
class NoticeEntry:
    """What applying needs of an entry, whether just sealed or read back from the table."""

    origin: str
    seq: int
    type: str
    audience: list[str]
    body: bytes | None
    invalid_reason: str | None = None

    @classmethod
    def of(cls, entry: EntryRow | SealedEntry) -> "NoticeEntry":
        if isinstance(entry, EntryRow):
            return cls(
                entry.origin,
                entry.seq,
                entry.type,
                list(entry.audience),
                entry.content_body,
                entry.invalid_reason,
            )
        return cls(entry.origin, entry.seq, entry.type, list(entry.audience), entry.body)


class _Skip(Exception):
    """This entry is flagged with the given reason and otherwise ignored."""


def _terms(body: dict[str, Any]) -> set[tuple[str, str]]:
    terms: set[tuple[str, str]] = set()
    for item in body["items"]:
        terms.add(("control", item["control_entry"]))
    for party in body["parties"]:
        for name in [party["name"], *party["aliases"]]:
            terms.add(("party", text.fold(name)[:300]))
    for regime in body["regimes"]:
        terms.add(("regime", regime))
    return terms


def _fill(row: NoticeRow, body: dict[str, Any], audience: list[str], seq: int) -> None:
    row.version = body["version"]
    row.reference = body["reference"]
    row.decision = body["decision"]
    row.decided_on = date.fromisoformat(body["decided_on"])
    row.valid_until = date.fromisoformat(body["valid_until"])
    row.destination = body["destination"]
    row.regimes = list(body["regimes"])
    row.audience = list(audience)
    row.body = body
    row.last_seq = seq


class _Batch:
    """Applies a batch in memory, then writes it with a few bulk statements."""

    def __init__(self, known: dict[str, NoticeRow]) -> None:
        self.known = known
        self.new_rows: list[NoticeRow] = []
        self.versions: list[dict[str, Any]] = []
        self.terms: dict[tuple[str, str], set[tuple[str, str]]] = {}
        self.stale_terms: set[tuple[str, str]] = set()
        self.flags: list[tuple[NoticeEntry, str]] = []

    def apply(self, entry: NoticeEntry, body: dict[str, Any]) -> NoticeRow:
        notice_id = body["notice_id"]
        existing = self.known.get(notice_id)
        if entry.type == "notice.published":
            if existing is not None:
                raise _Skip(f"notice_id {notice_id} is already used")
            row = NoticeRow(origin=entry.origin, notice_id=notice_id, first_seq=entry.seq)
            _fill(row, body, entry.audience, entry.seq)
            row.invalid_reason = entry.invalid_reason  # shown as invalidated, never dropped
            self.known[notice_id] = row
            self.new_rows.append(row)
            self.terms[(entry.origin, notice_id)] = _terms(body)
            kind, version = "published", body["version"]
        else:
            if existing is None or existing.origin != entry.origin:
                raise _Skip(f"{entry.type} of unknown notice {notice_id}")
            if existing.revoked_seq is not None:
                raise _Skip(f"{entry.type} of revoked notice {notice_id}")
            row = existing
            if entry.invalid_reason is not None:  # listed in the history, not applied
                kind, version = f"invalid {entry.type.removeprefix('notice.')}", row.version
            elif entry.type == "notice.amended":
                if body["version"] != row.version + 1 or body["supersedes"] != row.version:
                    raise _Skip(f"amendment of {notice_id} out of order")
                _fill(row, body, entry.audience, entry.seq)
                key = (row.origin, notice_id)
                if key not in self.terms:
                    self.stale_terms.add(key)
                self.terms[key] = _terms(body)
                kind, version = "amended", body["version"]
            else:
                row.revoked_on = date.fromisoformat(body["revoked_on"])
                row.revoked_reason = str(body["reason"])
                row.revoked_seq = entry.seq
                row.last_seq = entry.seq
                kind, version = "revoked", row.version
        self.versions.append(
            {
                "origin": entry.origin,
                "seq": entry.seq,
                "notice_id": notice_id,
                "version": version,
                "kind": kind,
            }
        )
        return row

    async def write(self, session: AsyncSession) -> None:
        if self.new_rows:  # a bulk insert; the returned rows stay plain (transient) objects
            columns = [c.key for c in NoticeRow.__table__.columns]
            await session.execute(
                insert(NoticeRow), [{c: getattr(r, c) for c in columns} for r in self.new_rows]
            )
        await session.flush()
        stale = sorted(self.stale_terms)
        for start in range(0, len(stale), CHUNK):
            await session.execute(
                delete(NoticeTermRow).where(
                    tuple_(NoticeTermRow.origin, NoticeTermRow.notice_id).in_(
                        stale[start : start + CHUNK]
                    )
                )
            )
        rows = [
            {"origin": origin, "notice_id": notice_id, "kind": kind, "term": term}
            for (origin, notice_id), terms in self.terms.items()
            for kind, term in sorted(terms)
        ]
        await insert_plain(session, NoticeTermRow, rows)
        await insert_plain(session, NoticeVersionRow, self.versions)
        for entry, reason in self.flags:
            await session.execute(
                update(EntryRow)
                .where(EntryRow.origin == entry.origin, EntryRow.seq == entry.seq)
                .values(flagged=True, flag_reason=reason)
            )


def _parse(entry: NoticeEntry) -> dict[str, Any]:
    try:
        body = json.loads(entry.body or b"")
    except ValueError as exc:
        raise _Skip("body is not JSON") from exc
    if not isinstance(body, dict) or not isinstance(body.get("notice_id"), str):
        raise _Skip("body is not a notice")
    return body


async def _known(session: AsyncSession, notice_ids: set[str]) -> dict[str, NoticeRow]:
    ids = sorted(notice_ids)
    known: dict[str, NoticeRow] = {}
    for start in range(0, len(ids), CHUNK):
        rows = await session.scalars(
            select(NoticeRow).where(NoticeRow.notice_id.in_(ids[start : start + CHUNK]))
        )
        known.update({row.notice_id: row for row in rows})
    return known


async def apply_entries(
    session: AsyncSession, entries: Sequence[NoticeEntry]
) -> list[tuple[NoticeEntry, NoticeRow | None, str | None]]:
    """Apply notice entries (others are passed over) in order; for each notice entry return
    the affected notice, or None and the reason it was flagged."""
    parsed: list[tuple[NoticeEntry, dict[str, Any] | None, str | None]] = []
    for entry in entries:
        if entry.type not in NOTICE_TYPES or entry.body is None:
            continue
        try:
            parsed.append((entry, _parse(entry), None))
        except _Skip as skip:
            parsed.append((entry, None, str(skip)))
    batch = _Batch(await _known(session, {b["notice_id"] for _, b, _ in parsed if b}))
    results: list[tuple[NoticeEntry, NoticeRow | None, str | None]] = []
    for entry, body, problem in parsed:
        row = None
        if body is not None:
            try:
                row = batch.apply(entry, body)
            except _Skip as skip:
                problem = str(skip)
            except (KeyError, TypeError, ValueError) as exc:
                problem = f"body fails the notice schema: {type(exc).__name__}"
        if problem is not None:
            batch.flags.append((entry, problem))
        results.append((entry, row, problem))
    await batch.write(session)
    return results


async def rebuild(session: AsyncSession) -> int:
    """Drop and rebuild every notice table from the entries; return how many notices exist."""
    await session.execute(delete(NoticeTermRow))
    await session.execute(delete(NoticeVersionRow))
    await session.execute(delete(NoticeRow))
    await session.execute(
        update(EntryRow)
        .where(EntryRow.type.in_(NOTICE_TYPES))
        .values(flagged=False, flag_reason=None)
    )
    await session.flush()
    session.expunge_all()
    count, after = 0, ("", -1)
    while True:
        batch = list(
            await session.scalars(
                select(EntryRow)
                .where(
                    EntryRow.type.in_(NOTICE_TYPES),
                    tuple_(EntryRow.origin, EntryRow.seq) > tuple_(*after),
                )
                .order_by(EntryRow.origin, EntryRow.seq)
                .limit(1000)
            )
        )
        if not batch:
            return count
        results = await apply_entries(session, [NoticeEntry.of(e) for e in batch])
        count += sum(1 for e, row, _ in results if row is not None and e.type == "notice.published")
        after = (batch[-1].origin, batch[-1].seq)


async def apply_entry(session: AsyncSession, entry: EntryRow) -> NoticeRow | None:
    """Apply one stored entry; the affected notice, or None if it was flagged or not a notice."""
    results = await apply_entries(session, [NoticeEntry.of(entry)])
    return results[0][1] if results else None
