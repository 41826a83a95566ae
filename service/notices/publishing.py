"""Publishing, amending and revoking this node's own notices: validate, seal, append, derive.

Each operation runs in the caller's write transaction: the entry, the derived notice rows and
the audit record commit together or not at all. A notice's `reference` is unique among this
node's own notices: it is checked under the log's append lock, in the transaction that
appends (decision 0025), so two concurrent publishers of one reference cannot both succeed.
"""

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from federation.core.entry import PUBLISHED, Draft, SealedEntry
from federation.core.errors import AppendsStopped, StaleSeal
from federation.storage.log import append_own, append_sealed, lock_log
from federation.storage.tables import EntryRow, LogRow
from keys.canonical import canonical_bytes
from service.derivation import derive
from service.errors import (
    Conflict,
    DuplicateReference,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unavailable,
)
from service.node import Node
from service.notices import queries
from service.notices.body import notice_body, review_body, revocation_body
from service.notices.drafting import audience, check_regimes, published_draft, signed_body
from service.notices.lifecycle import DEFAULT_VALIDITY_YEARS as DEFAULT_YEARS
from service.notices.lifecycle import add_years
from service.notices.prepared import DriverFresh
from service.notices.rows import FreshRows
from service.notices.schema import (
    ROSTER_CONFLICT,
    NoticeContext,
    NoticeInput,
    ReviewInput,
    RevokeInput,
    field_errors,
)
from service.rules.profile import RuleProfile
from service.storage.models import NoticeRow


def notice_context(node: Node) -> NoticeContext:
    """What validation needs to know about this node: its regimes, and which roster peers
    are members of each (as last read by `Node.refresh_members`)."""
    ident = node.identity
    return NoticeContext(origin=ident.node_id, regimes=ident.regimes, members=node.members)


def validate(raw: object, node: Node) -> NoticeInput:
    """Validate a notice body against the schema and this node in one pass: every offending
    field is reported together (InvalidInput, 422); a notice whose only fault is an audience
    outside the roster's members of its regimes conflicts with the roster (Conflict, 409)."""
    try:
        return NoticeInput.model_validate(raw, context={"node": notice_context(node)})
    except ValidationError as exc:
        if all(error["type"] == ROSTER_CONFLICT for error in exc.errors()):
            [message] = [e["message"] for e in field_errors(exc)]
            raise Conflict(
                f"the audience names a node this node's roster does not put in the notice's regimes: {message}"
            ) from exc
        raise InvalidInput("the notice is invalid", field_errors(exc)) from exc


Published = tuple[NoticeRow, SealedEntry]


async def publish_drafts(
    session: AsyncSession,
    node: Node,
    drafts: list[Draft],
    *,
    now: datetime,
    locked: LogRow | None = None,
) -> list[Published]:
    """Seal notice drafts as consecutive entries of this node's log and apply each one."""
    if not drafts:
        return []
    return await _apply(session, await append_drafts(session, node, drafts, now=now, locked=locked))


async def append_drafts(
    session: AsyncSession,
    node: Node,
    drafts: list[Draft],
    *,
    now: datetime,
    locked: LogRow | None = None,
) -> list[SealedEntry]:
    """Seal drafts (of any type) as consecutive entries of this node's log, signed by the
    signing key in force, under the log's lock (`locked`: the caller took it in this
    transaction); 503 if this node's appends are stopped."""
    log = locked if locked is not None else await lock_log(session, node.identity.node_id)
    signing = await node.current_signer(session)
    ident = node.identity
    try:
        sealed = await append_own(
            session,
            federation=ident.federation,
            origin=ident.node_id,
            drafts=drafts,
            signer=lambda _type: signing,
            checkpoint_key=signing,
            now=now,
            locked=log,
        )
    except AppendsStopped as exc:
        raise Unavailable(str(exc)) from exc
    return sealed


async def _apply(
    session: AsyncSession, sealed: list[SealedEntry]
) -> list[tuple[NoticeRow, SealedEntry]]:
    applied = (await derive(session, sealed, rows=True)).notices
    rows = []
    for (_entry, row, problem), entry in zip(applied, sealed, strict=True):
        if row is None:
            raise Conflict(problem or "entry could not be applied")
        rows.append((row, entry))
    return rows


async def _apply_all(session: AsyncSession, sealed: list[SealedEntry]) -> None:
    """Apply entries that must all apply, without building the notices as rows."""
    for _entry, _row, problem in (await derive(session, sealed)).notices:
        if problem is not None:
            raise Conflict(problem)


async def reference_conflicts(
    session: AsyncSession, origin: str, batch: Sequence[tuple[str, bytes]]
) -> list[DuplicateReference | None]:
    """For each new notice of a batch, `(reference, body of its draft)` in order: the
    conflict if one of this node's own notices already holds its reference, or an earlier
    notice of the batch does (the first wins); else None. Call it with the log's append lock
    held, in the transaction that appends: only then does the answer still hold at commit."""
    held = await queries.reference_holders(session, origin, (reference for reference, _ in batch))
    earlier: dict[str, bytes] = {}
    conflicts: list[DuplicateReference | None] = []
    for reference, body in batch:
        holder = held.get(reference)
        if holder is not None:
            conflicts.append(
                DuplicateReference(reference, holder.notice_id, revoked=holder.revoked)
            )
        elif reference in earlier:
            first = str(orjson.loads(earlier[reference])["notice_id"])
            conflicts.append(DuplicateReference(reference, first))
        else:
            earlier[reference] = body
            conflicts.append(None)
    return conflicts


async def publish_new(
    session: AsyncSession, node: Node, notices: Sequence[NoticeInput], *, now: datetime
) -> list[Published | DuplicateReference]:
    """Publish new notices as consecutive entries, under the log's lock. A notice whose
    reference is taken (`reference_conflicts`) is not published: its DuplicateReference
    stands in its place in the answer, and the others are published all the same (a group
    commit answers each request on its own)."""
    context = notice_context(node)
    drafts = [published_draft(context, notice, now) for notice in notices]
    log = await lock_log(session, node.identity.node_id)
    conflicts = await reference_conflicts(
        session, log.origin, [(n.reference, d.body) for n, d in zip(notices, drafts, strict=True)]
    )
    accepted = [draft for draft, conflict in zip(drafts, conflicts, strict=True) if not conflict]
    published = iter(await publish_drafts(session, node, accepted, now=now, locked=log))
    return [conflict or next(published) for conflict in conflicts]


async def publish_many(
    session: AsyncSession, node: Node, notices: Sequence[NoticeInput], *, now: datetime
) -> list[Published]:
    """Publish notices as consecutive entries, all or none: DuplicateReference for the first
    whose reference is taken, and nothing is written."""
    outcomes = await publish_new(session, node, notices, now=now)
    for outcome in outcomes:
        if isinstance(outcome, DuplicateReference):
            raise outcome
    return [o for o in outcomes if not isinstance(o, DuplicateReference)]


async def publish(
    session: AsyncSession, node: Node, notice: NoticeInput, *, now: datetime
) -> NoticeRow:
    [(row, _entry)] = await publish_many(session, node, [notice], now=now)
    return row


async def store_sealed(
    session: AsyncSession,
    node: Node,
    sealed: list[SealedEntry],
    *,
    references: Sequence[str],
    now: datetime,
    rows: Sequence[FreshRows | DriverFresh] | None = None,
) -> None:
    """Store notice entries sealed ahead of time by the signing key in force (bulk import),
    publishing new notices of these `references` (one each, none repeated), with `rows`,
    the derived rows built beside them, if they only publish new notices.
    Raises StaleSeal, writing nothing, if the log grew or the key was rotated meanwhile, or
    if a notice of this node took one of their references meanwhile (the caller filtered
    them before sealing)."""
    log = await lock_log(session, node.identity.node_id)
    taken = await queries.reference_holders(session, log.origin, references)
    if taken:
        raise StaleSeal(f"references published meanwhile: {', '.join(sorted(taken)[:5])}")
    signing = await node.current_signer(session)
    if any(e.key_id != signing.key_id for e in sealed):
        raise StaleSeal("entries were sealed with a key that is no longer the signing key")
    ident = node.identity
    try:
        await append_sealed(
            session,
            federation=ident.federation,
            origin=ident.node_id,
            sealed=sealed,
            checkpoint_key=signing,
            now=now,
        )
    except AppendsStopped as exc:
        raise Unavailable(str(exc)) from exc
    if rows is not None and all(e.type == "notice.published" for e in sealed):
        await derive(session, sealed, fresh=rows)
    else:
        await _apply_all(session, sealed)


async def own_notice(session: AsyncSession, node: Node, notice_id: str) -> NoticeRow:
    """The notice to amend or revoke: it must exist, be this node's, and not be revoked."""
    me = node.identity.node_id
    row = await session.get(NoticeRow, (me, notice_id))
    if row is None:
        others = await queries.holders(session, notice_id)
        if others:
            raise PermissionDenied(
                f"notice {notice_id} belongs to {', '.join(others)}; only its origin may change it"
            )
        raise NotFound(f"no notice {notice_id}")
    if row.revoked_seq is not None:
        raise Conflict(f"notice {notice_id} is revoked")
    return row


async def publication_leaf(session: AsyncSession, row: NoticeRow) -> bytes:
    """The leaf hash of the notice's `notice.published` entry: the `subject` its amendments
    and revocation name (decision 0032)."""
    entry = await session.get(EntryRow, (row.origin, row.first_seq))
    if entry is None or entry.type != PUBLISHED:
        raise Conflict(f"notice {row.notice_id}: its publication is not in this node's log")
    return entry.leaf_hash


async def amend(
    session: AsyncSession, node: Node, notice_id: str, notice: NoticeInput, *, now: datetime
) -> NoticeRow:
    """The full new version of one of this node's notices. It keeps its reference or takes
    one that none of this node's other notices holds (DuplicateReference otherwise): checked
    under the log's lock, like a publication."""
    log = await lock_log(session, node.identity.node_id)
    row = await own_notice(session, node, notice_id)
    context = notice_context(node)
    check_regimes(context, notice.regimes)
    if notice.reference != row.reference:
        holder = (await queries.reference_holders(session, log.origin, [notice.reference])).get(
            notice.reference
        )
        if holder is not None:
            raise DuplicateReference(notice.reference, holder.notice_id, revoked=holder.revoked)
    body = notice_body(notice, notice_id=notice_id, version=row.version + 1, supersedes=row.version)
    draft = Draft(
        "notice.amended",
        signed_body(body),
        tuple(audience(context, notice, row.audience)),
        now,
        subject=await publication_leaf(session, row),
    )
    [(row, _entry)] = await publish_drafts(session, node, [draft], now=now, locked=log)
    return row


async def review(
    session: AsyncSession,
    node: Node,
    notice_id: str,
    outcome: ReviewInput,
    *,
    rules: RuleProfile,
    now: datetime,
) -> NoticeRow:
    """`notice.reviewed`: the current version was reviewed and maintained, and the clock
    restarts: its next review (valid_until) is `next_review`, by default the review date plus
    the shortest review period of its regimes (the rule profile)."""
    row = await own_notice(session, node, notice_id)
    reviewed_on = date.fromisoformat(outcome.reviewed_on or now.date().isoformat())
    years = min((rules.regime(r).review_years for r in row.regimes), default=DEFAULT_YEARS)
    next_review = (
        date.fromisoformat(outcome.next_review)
        if outcome.next_review
        else add_years(reviewed_on, years)
    )
    if next_review <= reviewed_on:
        raise InvalidInput(
            "invalid review",
            [{"field": "next_review", "message": "must be after reviewed_on"}],
        )
    body = review_body(
        notice_id=notice_id,
        version=row.version,
        reviewed_on=reviewed_on.isoformat(),
        next_review=next_review.isoformat(),
        note=outcome.note,
    )
    return await _follow(session, node, row, "notice.reviewed", body, now=now)


async def revoke(
    session: AsyncSession, node: Node, notice_id: str, revocation: RevokeInput, *, now: datetime
) -> NoticeRow:
    row = await own_notice(session, node, notice_id)
    if revocation.superseded_by is not None:
        if revocation.superseded_by == notice_id:
            raise InvalidInput(
                "invalid revocation",
                [{"field": "superseded_by", "message": "a notice cannot supersede itself"}],
            )
        await own_notice(session, node, revocation.superseded_by)  # 404 if not this node's
    revoked_on = revocation.revoked_on or now.date().isoformat()
    body = revocation_body(
        notice_id=notice_id,
        reason=revocation.reason,
        revoked_on=revoked_on,
        code=revocation.code,
        superseded_by=revocation.superseded_by,
    )
    return await _follow(session, node, row, "notice.revoked", body, now=now)


async def _follow(
    session: AsyncSession,
    node: Node,
    row: NoticeRow,
    kind: str,
    body: dict[str, Any],
    *,
    now: datetime,
) -> NoticeRow:
    """Append an entry that follows a notice's publication (a review, a revocation): the
    notice's audience, its publication named as `subject`."""
    draft = Draft(
        kind,
        canonical_bytes(body),
        tuple(row.audience),
        now,
        subject=await publication_leaf(session, row),
    )
    [(row, _entry)] = await publish_drafts(session, node, [draft], now=now)
    return row
