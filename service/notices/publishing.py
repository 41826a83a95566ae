"""Publishing, amending and revoking this node's own notices: validate, seal, append, derive.

Each operation runs in the caller's write transaction: the entry, the derived notice rows and
the audit record commit together or not at all.
"""

from collections.abc import Sequence
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from federation.entry import Draft, SealedEntry
from federation.errors import AppendsStopped, StaleSeal
from federation.log import append_own, append_sealed, lock_log
from keys.canonical import canonical_bytes
from service.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Unavailable,
)
from service.node import Node
from service.notices import queries
from service.notices.body import notice_body, revocation_body
from service.notices.derived import DriverFresh, NoticeEntry, apply_entries, insert_fresh
from service.notices.drafting import audience, check_regimes, published_draft, signed_body
from service.notices.rows import FreshRows
from service.notices.schema import (
    ROSTER_CONFLICT,
    NoticeContext,
    NoticeInput,
    RevokeInput,
    field_errors,
)
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


async def publish_drafts(
    session: AsyncSession, node: Node, drafts: list[Draft], *, now: datetime
) -> list[tuple[NoticeRow, SealedEntry]]:
    """Seal notice drafts as consecutive entries of this node's log and apply each one."""
    return await _apply(session, await append_drafts(session, node, drafts, now=now))


async def append_drafts(
    session: AsyncSession, node: Node, drafts: list[Draft], *, now: datetime
) -> list[SealedEntry]:
    """Seal drafts (of any type) as consecutive entries of this node's log, signed by the
    signing key in force, under the log's lock; 503 if this node's appends are stopped."""
    log = await lock_log(session, node.identity.node_id)
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
    applied = await apply_entries(session, [NoticeEntry.of(e) for e in sealed])
    rows = []
    for (_entry, row, problem), entry in zip(applied, sealed, strict=True):
        if row is None:
            raise Conflict(problem or "entry could not be applied")
        rows.append((row, entry))
    return rows


async def _apply_all(session: AsyncSession, sealed: list[SealedEntry]) -> None:
    """Apply entries that must all apply, without building the notices as rows."""
    applied = await apply_entries(session, [NoticeEntry.of(e) for e in sealed], rows=False)
    for _entry, _row, problem in applied:
        if problem is not None:
            raise Conflict(problem)


async def publish(
    session: AsyncSession, node: Node, notice: NoticeInput, *, now: datetime
) -> NoticeRow:
    draft = published_draft(notice_context(node), notice, now)
    [(row, _entry)] = await publish_drafts(session, node, [draft], now=now)
    return row


async def publish_many(
    session: AsyncSession, node: Node, notices: list[NoticeInput], *, now: datetime
) -> list[tuple[NoticeRow, SealedEntry]]:
    """Publish a batch of notices as consecutive entries in one transaction (bulk import)."""
    context = notice_context(node)
    drafts = [published_draft(context, notice, now) for notice in notices]
    return await publish_drafts(session, node, drafts, now=now)


async def store_sealed(
    session: AsyncSession,
    node: Node,
    sealed: list[SealedEntry],
    *,
    now: datetime,
    rows: Sequence[FreshRows | DriverFresh] | None = None,
) -> None:
    """Store notice entries sealed ahead of time by the signing key in force (bulk import),
    with `rows`, the derived rows built beside them, if they only publish new notices.
    Raises StaleSeal, writing nothing, if the log grew or the key was rotated meanwhile."""
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
        await insert_fresh(session, rows)
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


async def amend(
    session: AsyncSession, node: Node, notice_id: str, notice: NoticeInput, *, now: datetime
) -> NoticeRow:
    row = await own_notice(session, node, notice_id)
    context = notice_context(node)
    check_regimes(context, notice.regimes)
    body = notice_body(notice, notice_id=notice_id, version=row.version + 1, supersedes=row.version)
    draft = Draft(
        "notice.amended", signed_body(body), tuple(audience(context, notice, row.audience)), now
    )
    [(row, _entry)] = await publish_drafts(session, node, [draft], now=now)
    return row


async def revoke(
    session: AsyncSession, node: Node, notice_id: str, revocation: RevokeInput, *, now: datetime
) -> NoticeRow:
    row = await own_notice(session, node, notice_id)
    revoked_on = revocation.revoked_on or now.date().isoformat()
    body = revocation_body(notice_id=notice_id, reason=revocation.reason, revoked_on=revoked_on)
    draft = Draft("notice.revoked", canonical_bytes(body), tuple(row.audience), now)
    [(row, _entry)] = await publish_drafts(session, node, [draft], now=now)
    return row
