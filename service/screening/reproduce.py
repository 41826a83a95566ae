"""Reproducing a stored screening from the logs themselves (DESIGN §7).

A screening is stored with the `{origin: {size, root}}` snapshot it ran against and the
algorithm version. To reproduce it, each origin's tree at that size must still have that
root (the log was not rewritten since), the notices are replayed from exactly those
entries by derivation's own rules (`service.notices.derived.NoticeReplay`), and the
application is screened again with the same algorithm and the day it ran. The result is
compared with what was stored when the screening ran (before any later re-evaluation).
"""

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.storage.tables import EntryRow
from federation.storage.tree import root_at
from keys.ed25519 import b64
from service.errors import Conflict, NotFound
from service.notices.derived import NoticeEntry, NoticeReplay
from service.notices.prepared import NOTICE_TYPES
from service.rules.profile import RuleProfile
from service.screening.engine import Screener
from service.screening.model import ALGORITHM, application_record, notice_record
from service.storage.models import ScreeningMatchRow, ScreeningRow

BATCH = 5000


@dataclass
class Reproduction:
    screening_id: str
    notices: int  # replayed from the snapshot's entries, active at the end of the replay
    same: bool
    missing: list[str] = field(default_factory=list)  # stored, not found again
    extra: list[str] = field(default_factory=list)  # found again, not stored
    changed: list[str] = field(default_factory=list)  # found again with another verdict or score


async def _replay(
    session: AsyncSession, origin: str, size: int, screener: Screener, rules: RuleProfile
) -> None:
    """Add to `screener` the notices of `origin` as derivation made them from its first
    `size` entries (`NoticeReplay`: the same rules as the notice tables, replayed)."""
    replay = NoticeReplay()
    after = -1
    while rows := (
        await session.execute(
            select(
                EntryRow.seq,
                EntryRow.type,
                EntryRow.audience,
                EntryRow.content_body,
                EntryRow.invalid_reason,
            )
            .where(
                EntryRow.origin == origin,
                EntryRow.seq > after,
                EntryRow.seq < size,
                EntryRow.type.in_(NOTICE_TYPES),
                EntryRow.flagged.is_(False),  # never applied (a newer `v`, an unknown type)
            )
            .order_by(EntryRow.seq)
            .limit(BATCH)
        )
    ).all():
        for seq, kind, audience, body, invalid in rows:
            replay.add(NoticeEntry(origin, seq, kind, list(audience), body, invalid))
        after = rows[-1][0]
    for notice, valid_until in replay.active():
        screener.add(notice_record(origin, notice, rules, valid_until))


async def reproduce(session: AsyncSession, screening_id: str, rules: RuleProfile) -> Reproduction:
    """Screen a stored screening's application again against its snapshot under `rules`;
    raises Conflict if the algorithm or the rule profile changed (which notices are in force
    is the profile's) or a log no longer has the snapshot's root."""
    row = await session.get(ScreeningRow, screening_id)
    if row is None:
        raise NotFound(f"no screening {screening_id}")
    if row.algorithm != ALGORITHM:
        raise Conflict(f"screening {screening_id} ran {row.algorithm}; this node runs {ALGORITHM}")
    if row.rule_profile is not None and row.rule_profile != rules.hash:
        raise Conflict(
            f"screening {screening_id} ran under rule profile {row.rule_profile}; this node "
            f"runs {rules.hash}"
        )
    screener = Screener()
    for origin, head in sorted(row.snapshot.items()):
        assert isinstance(head, dict)
        size, root = int(head["size"]), head.get("root")
        if size and b64(await root_at(session, origin, size)) != root:
            raise Conflict(f"the log of {origin} at size {size} no longer has the root {root}")
        await _replay(session, origin, size, screener, rules)
    found = {
        f"{m.origin}/{m.notice_id}": m
        for m in screener.screen(application_record(row.application), row.created_at.date())
    }
    rows = await session.scalars(
        select(ScreeningMatchRow).where(ScreeningMatchRow.screening_id == screening_id)
    )
    # what the screening found when it ran: every match but those re-evaluation added later;
    # a match re-evaluated since kept its key but not its first score
    stored = {f"{m.origin}/{m.notice_id}": m for m in rows if m.change != "new"}
    changed = sorted(
        key
        for key in stored.keys() & found.keys()
        if stored[key].change is None
        and (stored[key].verdict, stored[key].score, stored[key].version)
        != (found[key].verdict, round(found[key].score, 4), found[key].version)
    )
    result = Reproduction(
        screening_id=screening_id,
        notices=len(screener),
        same=False,
        missing=sorted(stored.keys() - found.keys()),
        extra=sorted(found.keys() - stored.keys()),
        changed=changed,
    )
    result.same = not (result.missing or result.extra or result.changed)
    return result
