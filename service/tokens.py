"""API bearer tokens: created once (plaintext shown once), stored as SHA-256, revocable, expiring."""

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.storage.tables import stored_moment
from service.errors import AuthenticationError, InvalidInput, NotFound
from service.notices.text import text_problem
from service.storage.database import Database
from service.storage.models import TokenRow

ROLES = ("officer", "auditor", "admin")
PREFIX = "dnx_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Caller:
    """Who is calling: the token's id, name and role."""

    token_id: str
    name: str
    role: str

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.name}"


async def create_token(
    session: AsyncSession, *, name: str, role: str, expires_days: int | None, now: datetime
) -> tuple[TokenRow, str]:
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
    if not name.strip() or len(name) > 100:
        raise InvalidInput("token name must be 1 to 100 characters")
    problem = text_problem(name)
    if problem is not None:
        raise InvalidInput(f"token name {problem}", [{"field": "name", "message": problem}])
    if expires_days is not None and not 1 <= expires_days <= 3650:
        raise InvalidInput("--expires must be between 1 and 3650 days")
    token = PREFIX + secrets.token_urlsafe(32)
    row = TokenRow(
        id=str(uuid.uuid4()),
        name=name,
        role=role,
        token_hash=token_hash(token),
        created_at=now,
        expires_at=None if expires_days is None else now + timedelta(days=expires_days),
        revoked_at=None,
    )
    session.add(row)
    await session.flush()
    return row, token


_LOOKUP = "SELECT id, name, role, revoked_at, expires_at FROM tokens WHERE token_hash = :hash"


async def authenticate(db: Database, token: str, *, now: datetime) -> Caller:
    """The caller a bearer token stands for (every request: a point read, no session)."""
    row = await db.point_read(_LOOKUP, {"hash": token_hash(token)})
    if row is None:
        raise AuthenticationError("unknown token")
    token_id, name, role, revoked_at, expires_at = row
    if revoked_at is not None:
        raise AuthenticationError("token has been revoked")
    if expires_at is not None and stored_moment(expires_at) <= now:
        raise AuthenticationError("token has expired")
    return Caller(token_id=token_id, name=name, role=role)


async def list_tokens(session: AsyncSession) -> list[TokenRow]:
    return list(await session.scalars(select(TokenRow).order_by(TokenRow.created_at)))


async def revoke_token(session: AsyncSession, token_id: str, *, now: datetime) -> TokenRow:
    row = await session.get(TokenRow, token_id)
    if row is None:
        raise NotFound(f"no token with id {token_id}")
    if row.revoked_at is None:
        row.revoked_at = now
    return row
