"""ORM rows of the service: node identity, tokens, audit trail and the derived notice tables.

Rows are storage only: wire models live in service.api.schemas, signed payloads are built
explicitly in service.notices. Notice tables are derived from log entries and can be rebuilt.
"""

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from federation.tables import Base


class NodeRow(Base):
    """This node's identity (one row), written by `denex init`."""

    __tablename__ = "node"

    node_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    federation: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(500))
    regimes: Mapped[list[str]] = mapped_column(JSON)
    root_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    signing_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    card_version: Mapped[int] = mapped_column(Integer, default=1)
    card: Mapped[str | None] = mapped_column(Text)  # the latest root-signed card (JCS text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TokenRow(Base):
    """An API bearer token: only its SHA-256 is stored."""

    __tablename__ = "tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditRow(Base):
    """One record of the hash-chained local audit trail."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(140))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, object]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class NoticeRow(Base):
    """Current state of one notice, derived from its entries."""

    __tablename__ = "notices"

    origin: Mapped[str] = mapped_column(String(32), primary_key=True)
    notice_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    reference: Mapped[str] = mapped_column(String(100))
    decision: Mapped[str] = mapped_column(String(32))
    decided_on: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    destination: Mapped[str] = mapped_column(String(2))
    regimes: Mapped[list[str]] = mapped_column(JSON)
    audience: Mapped[list[str]] = mapped_column(JSON)
    body: Mapped[dict[str, object]] = mapped_column(JSON)
    first_seq: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    revoked_on: Mapped[date | None] = mapped_column(Date)
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    revoked_seq: Mapped[int | None] = mapped_column(BigInteger)
    invalid_reason: Mapped[str | None] = mapped_column(Text)  # its publishing entry was invalidated

    __table_args__ = (
        Index("ix_notices_destination", "destination"),
        Index("ix_notices_decided_on", "decided_on"),
        Index("ix_notices_valid_until", "valid_until"),
        Index("ix_notices_notice_id", "notice_id", unique=True),
    )


class NoticeVersionRow(Base):
    """Which entry carried which version of a notice (publish, amendments, revocation)."""

    __tablename__ = "notice_versions"

    origin: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    notice_id: Mapped[str] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))

    __table_args__ = (
        ForeignKeyConstraint(
            ["origin", "seq"], ["entries.origin", "entries.seq"], ondelete="CASCADE"
        ),
        Index("ix_notice_versions_notice", "origin", "notice_id", "seq"),
    )


class NoticeTermRow(Base):
    """Search terms of a notice's current version: control entries and party names."""

    __tablename__ = "notice_terms"

    origin: Mapped[str] = mapped_column(String(32), primary_key=True)
    notice_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    term: Mapped[str] = mapped_column(String(300), primary_key=True)

    __table_args__ = (
        ForeignKeyConstraint(
            ["origin", "notice_id"],
            ["notices.origin", "notices.notice_id"],
            ondelete="CASCADE",
        ),
        Index("ix_notice_terms_term", "kind", "term"),
    )
