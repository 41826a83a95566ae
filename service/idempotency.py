"""Idempotency keys: the first answer to a POST that carried an `Idempotency-Key`, kept for
24 hours, so that a request sent again (a client that timed out and retried) is answered
again instead of done again (draft-ietf-httpapi-idempotency-key-header; decision 0025).

A key belongs to the caller's token: the same key from another token is another key. It is
stored as its SHA-256, with a fingerprint of the request (method, path, query and body; JSON
bodies compared as values, so key order and white space do not matter). A request first
*claims* its key (a row without an answer: "in flight", committed before the request runs),
runs, then either *keeps* its successful answer or *releases* the key: a refused request
wrote nothing, so sending it again is harmless and is answered from the node's state then.

`Keys` is this process's way to the table. Claims, answers and releases of concurrent
requests share write transactions, as publishes do (service.notices.group): on SQLite every
write transaction takes the one writer's turn, and three turns per request instead of one
would triple a keyed publish's latency under load. The HTTP side (the header, replaying, the
OpenAPI document) is service.api.idempotency.
"""

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import orjson
from sqlalchemy import (
    CursorResult,
    Integer,
    LargeBinary,
    String,
    bindparam,
    column,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession

from federation.storage.tables import UtcDateTime
from service import audit
from service.errors import IdempotencyKeyInFlight, IdempotencyKeyReused, ServiceError
from service.storage.database import Database
from service.storage.group_commit import GroupCommit

KEPT_FOR = timedelta(hours=24)  # how long an answer is replayed; then the key is free again
# A claim older than this whose request never answered was abandoned (its process died):
# the key may be claimed again. Longer than any request takes, short enough to retry soon.
ABANDONED_AFTER = timedelta(minutes=5)
MAX_KEY = 255  # characters
MAX_ANSWER = 4 * 1024 * 1024  # bytes of a response body kept (answers are far smaller)


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """What makes two requests the same request: method, path, query and body (a JSON body
    as its value, canonicalised; any other body as its bytes)."""
    try:
        canonical = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS) if body else b""
    except orjson.JSONDecodeError:
        canonical = body
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), query.encode()):
        digest.update(len(part).to_bytes(8, "big") + part)
    digest.update(canonical)
    return digest.hexdigest()


@dataclass(frozen=True)
class Claim:
    """One request's claim on a key of one token."""

    token_id: str
    key_hash: str
    fingerprint: str


@dataclass(frozen=True)
class Answer:
    """A kept answer: what the first request was told."""

    status: int
    content_type: str | None
    body: bytes


def _reused() -> IdempotencyKeyReused:
    return IdempotencyKeyReused(
        "this Idempotency-Key was used for a different request",
        [
            {
                "field": "Idempotency-Key",
                "message": "already used with another method, path or body in the last 24 "
                "hours: send a new key with a new request",
            }
        ],
    )


def _in_flight() -> IdempotencyKeyInFlight:
    return IdempotencyKeyInFlight(
        "a request with this Idempotency-Key is still being answered; "
        "send it again once that one is done"
    )


# Plain SQL with typed parameters: a Core UPDATE cost ~0.35 ms to build and compile per
# request, this ~0.1 ms. `INSERT ... ON CONFLICT DO NOTHING` is the same on SQLite and
# PostgreSQL.
_WHEN = UtcDateTime()
_INSERT = text(
    "INSERT INTO idempotency_keys (token_id, key_hash, fingerprint, created_at, claimed_at) "
    "VALUES (:token_id, :key_hash, :fingerprint, :now, :now) ON CONFLICT DO NOTHING"
).bindparams(bindparam("now", type_=_WHEN))
_READ = text(
    "SELECT fingerprint, created_at, claimed_at, status, content_type, body "
    "FROM idempotency_keys WHERE token_id = :token_id AND key_hash = :key_hash"
).columns(
    column("fingerprint", String),
    column("created_at", _WHEN),
    column("claimed_at", _WHEN),
    column("status", Integer),
    column("content_type", String),
    column("body", LargeBinary),
)
_TAKE_OVER = text(
    "UPDATE idempotency_keys SET fingerprint = :fingerprint, created_at = :created_at, "
    "claimed_at = :now, status = NULL, content_type = NULL, body = NULL "
    "WHERE token_id = :token_id AND key_hash = :key_hash"
).bindparams(bindparam("created_at", type_=_WHEN), bindparam("now", type_=_WHEN))
_KEEP = text(
    "UPDATE idempotency_keys SET status = :status, content_type = :content_type, body = :body "
    "WHERE token_id = :token_id AND key_hash = :key_hash AND fingerprint = :fingerprint"
).bindparams(bindparam("body", type_=LargeBinary))
_RELEASE = text(
    "DELETE FROM idempotency_keys WHERE token_id = :token_id AND key_hash = :key_hash "
    "AND fingerprint = :fingerprint AND status IS NULL"
)
_PRUNE = text("DELETE FROM idempotency_keys WHERE created_at <= :before").bindparams(
    bindparam("before", type_=_WHEN)
)


def _names(request: Claim) -> dict[str, str]:
    return {
        "token_id": request.token_id,
        "key_hash": request.key_hash,
        "fingerprint": request.fingerprint,
    }


async def _claim(
    session: AsyncSession, request: Claim, *, actor: str, target: str, now: datetime
) -> Answer | None:
    # The common case is a new key: one statement. On PostgreSQL, a claim of the same key by
    # another worker's open transaction makes this one wait for it, then do nothing.
    names = _names(request)
    row = None
    for _attempt in range(2):  # the row met may be released before it is read: once more
        inserted = await session.execute(_INSERT, {**names, "now": now})
        if cast(CursorResult[Any], inserted).rowcount == 1:
            return None
        row = (await session.execute(_READ, names)).first()
        if row is not None:
            break
    if row is None:
        raise _in_flight()
    expired = row.created_at <= now - KEPT_FOR
    if not expired and row.fingerprint != request.fingerprint:
        raise _reused()
    if not expired and row.status is not None:
        answer = Answer(row.status, row.content_type, row.body or b"")
        await audit.record(  # an answer shown again: it may show a notice's content
            session,
            actor=actor,
            action="request.replay",
            target=target[:200],
            detail={"status": answer.status},
            now=now,
        )
        return answer
    if not expired and row.claimed_at > now - ABANDONED_AFTER:
        raise _in_flight()
    # expired, or abandoned by a process that died: this request takes the key over
    created = now if expired else row.created_at
    await session.execute(_TAKE_OVER, {**names, "created_at": created, "now": now})
    return None


def _future() -> "asyncio.Future[Any]":
    return asyncio.get_running_loop().create_future()


@dataclass
class _Op:
    """One operation of a batch, and what came of it."""

    run: Callable[[AsyncSession], Awaitable[Any]]
    done: "asyncio.Future[Any]" = field(default_factory=_future)
    outcome: Any = None
    error: BaseException | None = None


class Keys(GroupCommit[_Op]):
    """Claims, answers and releases of idempotency keys, several to a write transaction."""

    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        super().__init__()
        self._db, self._clock = db, clock

    async def claim(self, request: Claim, *, actor: str, target: str) -> Answer | None:
        """Claim the key for this request. None: claimed, run the request, then `keep` its
        answer or `release` the key. An Answer: the same request was answered before; send
        that again (recorded in the audit trail as `request.replay` by `actor` of `target`).
        Raises InvalidInput (422) if the key was used for a different request, Conflict (409)
        while the request that first used it is still being answered."""
        now = self._clock()

        async def run(session: AsyncSession) -> Answer | None:
            return await _claim(session, request, actor=actor, target=target, now=now)

        result: Answer | None = await self._submit(run)
        return result

    async def keep(self, request: Claim, answer: Answer) -> None:
        """Keep a claimed request's answer for `KEPT_FOR` from its claim. An answer too large
        to keep releases the key instead."""
        if len(answer.body) > MAX_ANSWER:
            await self.release(request)
            return

        async def run(session: AsyncSession) -> None:
            await session.execute(
                _KEEP,
                {
                    **_names(request),
                    "status": answer.status,
                    "content_type": answer.content_type,
                    "body": answer.body,
                },
            )

        await self._submit(run)

    async def release(self, request: Claim) -> None:
        """Give a claimed key back (the request was refused, and wrote nothing)."""

        async def run(session: AsyncSession) -> None:
            await session.execute(_RELEASE, _names(request))

        await self._submit(run)

    async def _submit(self, run: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
        return await self._queue(_Op(run))

    async def _settle(self, batch: list[_Op]) -> None:
        try:
            await self._commit(batch)
        except Exception as exc:  # the transaction failed: each op fails with it
            for op in batch:
                op.error = op.error or exc
        for op in batch:
            if op.done.done():
                continue
            if op.error is not None:
                op.done.set_exception(op.error)
            else:
                op.done.set_result(op.outcome)

    async def _commit(self, batch: list[_Op]) -> None:
        """Run a batch's operations in one write transaction; a refusal (ServiceError) is
        that operation's alone (raised before it writes), and the others commit."""
        async with self._db.write() as session:
            await session.execute(_PRUNE, {"before": self._clock() - KEPT_FOR})
            for op in batch:
                try:
                    op.outcome = await op.run(session)
                except ServiceError as exc:
                    op.error = exc
