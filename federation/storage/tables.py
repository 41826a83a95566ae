"""Database tables owned by the federation package: the per-origin logs and their entries.

They share one MetaData with the service's tables so one Alembic history covers the node.
"""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


class UtcDateTime(TypeDecorator[datetime]):
    """A moment, as every denex table holds one: written in UTC, read back aware (UTC).

    PostgreSQL keeps the offset (`timestamptz`); SQLite keeps text without one and hands back
    naive datetimes. This type is the one place that knows: a naive value is refused on the
    way in (it would be stored as a guess), and every value read is aware, so no caller fixes
    times up after a query."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a stored time must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else stored_moment(value)


def stored_moment(value: datetime | str) -> datetime:
    """A time as a database hands it back (aware, naive, or SQLite's text for a query that
    bypasses the column types) as an aware UTC datetime."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = metadata


class LogRow(Base):
    """One row per origin whose log this node holds; its lock serialises appends."""

    __tablename__ = "logs"

    origin: Mapped[str] = mapped_column(String(32), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    root: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    checkpoint: Mapped[str | None] = mapped_column(Text)  # newest verified signed checkpoint
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    fresh_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # DESIGN §4
    frozen_reason: Mapped[str | None] = mapped_column(Text)  # proven equivocation: no new entries
    # the chain of key statements below `size` (decision 0032); None until first needed
    key_count: Mapped[int | None] = mapped_column(BigInteger)
    key_chain: Mapped[bytes | None] = mapped_column(LargeBinary(32))


class CheckpointRow(Base):
    """Every origin-signed checkpoint this node signed or verified, by size."""

    __tablename__ = "checkpoints"

    origin: Mapped[str] = mapped_column(String(32), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    stored_at: Mapped[datetime] = mapped_column(UtcDateTime)


class EntryRow(Base):
    """One log entry: exact envelope bytes, leaf hash, and content when this node holds it."""

    __tablename__ = "entries"

    origin: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    key_id: Mapped[str] = mapped_column(String(64))
    audience: Mapped[list[str]] = mapped_column(JSON)
    envelope: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    content_salt: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    content_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    flag_reason: Mapped[str | None] = mapped_column(Text)
    # set when a key revocation invalidates the entry; it stays in the log and the tree
    invalid_reason: Mapped[str | None] = mapped_column(Text)
    stored_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # the entry's notice's key in the map of notice heads (federation.core.entry.map_key)
    subject: Mapped[bytes | None] = mapped_column(LargeBinary(32))

    __table_args__ = (
        Index("ix_entries_type", "origin", "type"),
        # entries this node holds without content: few, found without walking the log
        Index(
            "ix_entries_no_content",
            "origin",
            "seq",
            sqlite_where=text("content_body IS NULL"),
            postgresql_where=text("content_body IS NULL"),
        ),
    )


class TreeNodeRow(Base):
    """The hash of the complete subtree of 2**level leaves starting at leaf idx * 2**level."""

    __tablename__ = "tree_nodes"

    origin: Mapped[str] = mapped_column(String(32), primary_key=True)
    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class PeerRow(Base):
    """A partner node in this node's roster, from its root-signed card (DESIGN §2)."""

    __tablename__ = "peers"

    node_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    federation: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(500))
    root_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    regimes: Mapped[list[str]] = mapped_column(JSON)  # as confirmed by this node's admin
    card_version: Mapped[int] = mapped_column(Integer)
    card: Mapped[bytes] = mapped_column(LargeBinary)  # the card envelope, bytes as received
    added_at: Mapped[datetime] = mapped_column(UtcDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class PeerSyncRow(Base):
    """How syncing from one peer goes: the last attempt, success and error, and backoff."""

    __tablename__ = "peer_sync"

    peer: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_attempt: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_success: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # network failures in a row
    next_attempt: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # bad answers not kept in quarantine, over its rate limit (federation.storage.quarantine.quarantine)
    quarantine_dropped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # what the peer's last `GET /logs` answer said of the rules it runs (a header whose
    # meaning is the service's: the hash of its rule profile); None if it said nothing
    rule_profile: Mapped[str | None] = mapped_column(String(200))


class CosignatureRow(Base):
    """A witness's cosignature (tlog-cosignature v1) on a checkpoint of `origin` that this
    node holds, kept for evidence bundles (DESIGN §9): the first one per witness and size."""

    __tablename__ = "cosignatures"

    origin: Mapped[str] = mapped_column(String(32), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    witness: Mapped[str] = mapped_column(String(32), primary_key=True)
    text_hash: Mapped[bytes] = mapped_column(LargeBinary(32))  # SHA-256 of the checkpoint text
    line: Mapped[str] = mapped_column(Text)  # the signature line, as the note renders it
    timestamp: Mapped[int] = mapped_column(BigInteger)  # the witness's word, seconds
    stored_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PeerHeadRow(Base):
    """The size of each origin's log at a peer, as its last `GET /logs` said (for lag);
    `seen_at` is when the peer first listed that size."""

    __tablename__ = "peer_heads"

    peer: Mapped[str] = mapped_column(String(32), primary_key=True)
    origin: Mapped[str] = mapped_column(String(32), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime)


class QuarantineRow(Base):
    """What a peer served that failed verification: the bytes (capped) and the reason."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    peer: Mapped[str] = mapped_column(String(32))
    origin: Mapped[str] = mapped_column(String(32))
    start: Mapped[int | None] = mapped_column(BigInteger)  # first seq of the page, if a page
    reason: Mapped[str] = mapped_column(Text)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class EquivocationRow(Base):
    """Proof that an origin showed two histories: two origin-signed statements that cannot
    both be true (DESIGN §4). Only origin-signed material is kept as evidence."""

    __tablename__ = "equivocations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    origin: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))  # "checkpoints" or "entries"
    first: Mapped[str] = mapped_column(Text)  # checkpoint note or envelope, exact text
    second: Mapped[str] = mapped_column(Text)
    via: Mapped[str | None] = mapped_column(String(32))  # the peer that served the second
    detected_at: Mapped[datetime] = mapped_column(UtcDateTime)
