"""Derived notice state: applying one notice entry to the notice tables, and rebuilding them.

The log is the single source of truth; these tables are an index over it. `apply_entry` is
used alike by publishing, by a full rebuild and (later) by sync. An entry that conflicts with
what is already known (a reused notice_id, an out-of-order version, an amendment by someone
other than the origin) is flagged on the entry and otherwise ignored.
"""

import json
from datetime import date
from typing import Any

from sqlalchemy import delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from federation.tables import EntryRow
from service.notices import text
from service.storage.models import NoticeRow, NoticeTermRow, NoticeVersionRow

NOTICE_TYPES = ("notice.published", "notice.amended", "notice.revoked")


def _terms(origin: str, body: dict[str, Any]) -> list[NoticeTermRow]:
    terms: set[tuple[str, str]] = set()
    for item in body["items"]:
        terms.add(("control", item["control_entry"]))
    for party in body["parties"]:
        for name in [party["name"], *party["aliases"]]:
            terms.add(("party", text.fold(name)[:300]))
    for regime in body["regimes"]:
        terms.add(("regime", regime))
    return [
        NoticeTermRow(origin=origin, notice_id=body["notice_id"], kind=kind, term=term)
        for kind, term in sorted(terms)
    ]


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


async def _flag(entry: EntryRow, reason: str) -> None:
    entry.flagged = True
    entry.flag_reason = reason


async def apply_entry(session: AsyncSession, entry: EntryRow) -> NoticeRow | None:
    """Apply one notice entry whose content this node holds; return the affected notice."""
    if entry.type not in NOTICE_TYPES or entry.content_body is None:
        return None
    body = json.loads(entry.content_body)
    notice_id = body.get("notice_id")
    existing = await session.scalar(select(NoticeRow).where(NoticeRow.notice_id == notice_id))
    if entry.type == "notice.published":
        if existing is not None:
            await _flag(entry, f"notice_id {notice_id} is already used")
            return None
        row = NoticeRow(origin=entry.origin, notice_id=notice_id, first_seq=entry.seq)
        _fill(row, body, entry.audience, entry.seq)
        session.add(row)
        session.add_all(_terms(entry.origin, body))
        kind, version = "published", body["version"]
    else:
        if existing is None or existing.origin != entry.origin:
            await _flag(entry, f"{entry.type} of unknown notice {notice_id}")
            return None
        if existing.revoked_seq is not None:
            await _flag(entry, f"{entry.type} of revoked notice {notice_id}")
            return None
        row = existing
        if entry.type == "notice.amended":
            if body["version"] != row.version + 1 or body["supersedes"] != row.version:
                await _flag(entry, f"amendment of {notice_id} out of order")
                return None
            _fill(row, body, entry.audience, entry.seq)
            await session.execute(
                delete(NoticeTermRow).where(
                    NoticeTermRow.origin == row.origin, NoticeTermRow.notice_id == notice_id
                )
            )
            session.add_all(_terms(entry.origin, body))
            kind, version = "amended", body["version"]
        else:
            row.revoked_on = date.fromisoformat(body["revoked_on"])
            row.revoked_reason = body["reason"]
            row.revoked_seq = entry.seq
            row.last_seq = entry.seq
            kind, version = "revoked", row.version
    session.add(
        NoticeVersionRow(
            origin=entry.origin, seq=entry.seq, notice_id=notice_id, version=version, kind=kind
        )
    )
    await session.flush()
    return row


async def rebuild(session: AsyncSession) -> int:
    """Drop and rebuild every notice table from the entries; return how many notices exist."""
    await session.execute(delete(NoticeTermRow))
    await session.execute(delete(NoticeVersionRow))
    await session.execute(delete(NoticeRow))
    await session.flush()
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
        for entry in batch:
            entry.flagged, entry.flag_reason = False, None
            applied = await apply_entry(session, entry)
            if applied is not None and entry.type == "notice.published":
                count += 1
        after = (batch[-1].origin, batch[-1].seq)
