"""Idempotency keys: the first answer to a POST that carried an `Idempotency-Key`, kept for
24 hours, so that a request sent again (a client that timed out and retried) is answered
again instead of done again (draft-ietf-httpapi-idempotency-key-header; decision 0021).

A key belongs to the caller's token: the same key from another token is another key. It is
stored as its SHA-256, with a fingerprint of the request (method, path, query and body; JSON
bodies compared as values, so key order and white space do not matter). A request first
*claims* its key (a row without an answer: "in flight"), runs, then either *keeps* its
successful answer or *releases* the key: a refused request wrote nothing, so sending it again
is harmless and is answered from the node's state at that time.

The HTTP side (the header, replaying, the OpenAPI document) is service.api.idempotency.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

from service.errors import Conflict, InvalidInput
from service.storage.database import Database
from service.storage.models import IdempotencyRow
from service.tokens import as_utc

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


async def claim(db: Database, request: Claim, *, now: datetime) -> Answer | None:
    """Claim the key for this request. None: claimed, run the request, then `keep` its answer
    or `release` the key. An Answer: the same request was answered before; send that again.
    Raises InvalidInput (422) if the key was used for a different request, Conflict (409)
    while the request that first used it is still being answered."""
    try:
        return await _claim(db, request, now=now)
    except IntegrityError:  # PostgreSQL: another worker inserted the same key just now
        return await _claim(db, request, now=now)


async def _claim(db: Database, request: Claim, *, now: datetime) -> Answer | None:
    async with db.write() as session:
        await session.execute(
            delete(IdempotencyRow).where(IdempotencyRow.created_at <= now - KEPT_FOR)
        )
        row = await session.get(IdempotencyRow, (request.token_id, request.key_hash))
        if row is None:
            session.add(
                IdempotencyRow(
                    token_id=request.token_id,
                    key_hash=request.key_hash,
                    fingerprint=request.fingerprint,
                    created_at=now,
                    claimed_at=now,
                )
            )
            await session.flush()
            return None
        if row.fingerprint != request.fingerprint:
            raise InvalidInput(
                "this Idempotency-Key was used for a different request",
                [
                    {
                        "field": "Idempotency-Key",
                        "message": "already used with another method, path or body in the "
                        "last 24 hours: send a new key with a new request",
                    }
                ],
            )
        if row.status is not None:
            return Answer(row.status, row.content_type, row.body or b"")
        if as_utc(row.claimed_at) > now - ABANDONED_AFTER:
            raise Conflict(
                "a request with this Idempotency-Key is still being answered; "
                "send it again once that one is done"
            )
        row.claimed_at = now  # abandoned by a process that died: this request takes it over
        return None


async def keep(db: Database, request: Claim, answer: Answer) -> None:
    """Keep a claimed request's answer for `KEPT_FOR` from its claim. An answer too large to
    keep releases the key instead."""
    if len(answer.body) > MAX_ANSWER:
        await release(db, request)
        return
    async with db.write() as session:
        await session.execute(
            update(IdempotencyRow)
            .where(
                IdempotencyRow.token_id == request.token_id,
                IdempotencyRow.key_hash == request.key_hash,
                IdempotencyRow.fingerprint == request.fingerprint,
            )
            .values(status=answer.status, content_type=answer.content_type, body=answer.body)
        )


async def release(db: Database, request: Claim) -> None:
    """Give a claimed key back (the request was refused, and wrote nothing)."""
    async with db.write() as session:
        await session.execute(
            delete(IdempotencyRow).where(
                IdempotencyRow.token_id == request.token_id,
                IdempotencyRow.key_hash == request.key_hash,
                IdempotencyRow.fingerprint == request.fingerprint,
                IdempotencyRow.status.is_(None),
            )
        )
