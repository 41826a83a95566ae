"""Publishing, amending and revoking this node's own notices: validate, seal, append, derive.

Each operation runs in the caller's write transaction: the entry, the derived notice rows and
the audit record commit together or not at all.
"""

from datetime import datetime
from typing import Any

import uuid_utils.compat as uuid_compat
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.entry import Draft, SealedEntry
from federation.log import append_own, lock_log
from keys.canonical import canonical_bytes
from service.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from service.node import Identity, Node
from service.notices.body import notice_body, revocation_body
from service.notices.derived import NoticeEntry, apply_entries
from service.notices.schema import NoticeContext, NoticeInput, RevokeInput, field_errors
from service.storage.models import NoticeRow


def notice_context_for(identity: Identity) -> NoticeContext:
    """What validation needs to know about this node. The roster arrives with federation;
    until then no regime has members besides this node."""
    return NoticeContext(origin=identity.node_id, regimes=identity.regimes, members={})


def notice_context(node: Node) -> NoticeContext:
    return notice_context_for(node.identity)


def validate(raw: object, node: Node) -> NoticeInput:
    """Validate a notice body against the schema and this node in one pass: every offending
    field is reported together (InvalidInput)."""
    try:
        return NoticeInput.model_validate(raw, context={"node": notice_context(node)})
    except ValidationError as exc:
        raise InvalidInput("notice is invalid", field_errors(exc)) from exc


def _audience(node: Node, notice: NoticeInput, previous: list[str] | None) -> list[str]:
    context = notice_context(node)
    allowed = context.audience_for(notice.regimes)
    if notice.audience is None:
        return sorted(set(previous)) if previous is not None else allowed
    requested = set(notice.audience) | {node.identity.node_id}
    outside = sorted(requested - set(allowed))
    if outside:
        raise InvalidInput(
            "audience may only narrow the regimes' members",
            [
                {
                    "field": "audience",
                    "message": f"not a member of the notice's regimes: {', '.join(outside)}",
                }
            ],
        )
    return sorted(requested)


def _check_regimes(node: Node, regimes: list[str]) -> None:
    unknown = sorted(set(regimes) - set(node.identity.regimes))
    if unknown:
        raise InvalidInput(
            "notice names regimes this node does not belong to",
            [{"field": "regimes", "message": f"not a regime of this node: {', '.join(unknown)}"}],
        )


async def _append(
    session: AsyncSession,
    node: Node,
    items: list[tuple[str, dict[str, Any], list[str]]],
    now: datetime,
) -> list[tuple[NoticeRow, SealedEntry]]:
    """Seal (type, body, audience) items as consecutive entries and apply each one."""
    await lock_log(session, node.identity.node_id)
    signing = await node.current_signer(session)
    ident = node.identity
    sealed = await append_own(
        session,
        federation=ident.federation,
        origin=ident.node_id,
        drafts=[Draft(t, canonical_bytes(body), tuple(aud), now) for t, body, aud in items],
        signer=lambda _type: signing,
        checkpoint_key=signing,
        now=now,
    )
    applied = await apply_entries(session, [NoticeEntry.of(e) for e in sealed])
    rows = []
    for (_entry, row, problem), entry in zip(applied, sealed, strict=True):
        if row is None:
            raise Conflict(problem or "entry could not be applied")
        rows.append((row, entry))
    return rows


async def publish(
    session: AsyncSession, node: Node, notice: NoticeInput, *, now: datetime
) -> NoticeRow:
    _check_regimes(node, notice.regimes)
    audience = _audience(node, notice, None)
    body = notice_body(notice, notice_id=str(uuid_compat.uuid7()), version=1, supersedes=None)
    [(row, _entry)] = await _append(session, node, [("notice.published", body, audience)], now)
    return row


async def publish_many(
    session: AsyncSession, node: Node, notices: list[NoticeInput], *, now: datetime
) -> list[tuple[NoticeRow, SealedEntry]]:
    """Publish a batch of notices as consecutive entries in one transaction (bulk import)."""
    items = []
    for notice in notices:
        _check_regimes(node, notice.regimes)
        body = notice_body(notice, notice_id=str(uuid_compat.uuid7()), version=1, supersedes=None)
        items.append(("notice.published", body, _audience(node, notice, None)))
    return await _append(session, node, items, now)


async def own_notice(session: AsyncSession, node: Node, notice_id: str) -> NoticeRow:
    """The notice to amend or revoke: it must exist, be this node's, and not be revoked."""
    row = await session.scalar(select(NoticeRow).where(NoticeRow.notice_id == notice_id))
    if row is None:
        raise NotFound(f"no notice {notice_id}")
    if row.origin != node.identity.node_id:
        raise PermissionDenied(f"notice {notice_id} belongs to {row.origin}; only it may change it")
    if row.revoked_seq is not None:
        raise Conflict(f"notice {notice_id} is revoked")
    return row


async def amend(
    session: AsyncSession, node: Node, notice_id: str, notice: NoticeInput, *, now: datetime
) -> NoticeRow:
    row = await own_notice(session, node, notice_id)
    _check_regimes(node, notice.regimes)
    audience = _audience(node, notice, row.audience)
    body = notice_body(notice, notice_id=notice_id, version=row.version + 1, supersedes=row.version)
    [(row, _entry)] = await _append(session, node, [("notice.amended", body, audience)], now)
    return row


async def revoke(
    session: AsyncSession, node: Node, notice_id: str, revocation: RevokeInput, *, now: datetime
) -> NoticeRow:
    row = await own_notice(session, node, notice_id)
    revoked_on = revocation.revoked_on or now.date().isoformat()
    body = revocation_body(notice_id=notice_id, reason=revocation.reason, revoked_on=revoked_on)
    [(row, _entry)] = await _append(
        session, node, [("notice.revoked", body, list(row.audience))], now
    )
    return row
