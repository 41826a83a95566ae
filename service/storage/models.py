"""ORM rows of the service: node identity, tokens, audit trail and the derived notice tables.

Rows are storage only: wire models live in service.api.schemas, signed payloads are built
explicitly in service.notices. Notice tables are derived from log entries and can be rebuilt.
"""

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from federation.storage.tables import Base, UtcDateTime


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
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TokenRow(Base):
    """An API bearer token: only its SHA-256 is stored."""

    __tablename__ = "tokens"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


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
    """Current state of one notice, derived from its entries. A notice is (origin, notice_id):
    the same notice_id from two origins names two notices (DESIGN §6)."""

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
    revoked_code: Mapped[str | None] = mapped_column(String(40))  # the revocation's `code`
    superseded_by: Mapped[str | None] = mapped_column(String(36))  # when code is superseded
    # the last `notice.reviewed` (valid_until is then its next_review, not the body's)
    reviewed_on: Mapped[date | None] = mapped_column(Date)
    revoked_seq: Mapped[int | None] = mapped_column(BigInteger)
    invalid_reason: Mapped[str | None] = mapped_column(Text)  # its publishing entry was invalidated
    # search terms of the current version, each between two \x1f (service.notices.rows)
    control_terms: Mapped[str] = mapped_column(Text, server_default="")
    party_terms: Mapped[str] = mapped_column(Text, server_default="")
    regime_terms: Mapped[str] = mapped_column(Text, server_default="")

    __table_args__ = (
        Index("ix_notices_destination", "destination"),
        Index("ix_notices_decided_on", "decided_on"),
        Index("ix_notices_valid_until", "valid_until"),
        Index("ix_notices_notice_id", "notice_id", "origin"),  # lookups and the list order
        # a reference is unique among an origin's own notices, checked under the append lock:
        # not a unique index, which would make a rebuild fail on a log that repeats one (0025)
        Index("ix_notices_origin_reference", "origin", "reference"),
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


class ScreeningRow(Base):
    """A screening of a licence application: local only, never sent to any peer (DESIGN §7).

    Stored with the snapshot it ran against and the algorithm version, so that the result can
    be reproduced; open until an officer closes it, re-evaluated while open."""

    __tablename__ = "screenings"

    screening_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    reference: Mapped[str] = mapped_column(String(100))
    application: Mapped[dict[str, object]] = mapped_column(JSON)
    snapshot: Mapped[dict[str, object]] = mapped_column(JSON)  # {origin: {size, root}}
    staleness: Mapped[dict[str, object]] = mapped_column(JSON)  # {origin: {heard_at, stale}}
    algorithm: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(140))
    status: Mapped[str] = mapped_column(String(16))  # open | closed
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    outcome: Mapped[str | None] = mapped_column(String(16))  # approved | refused | withdrawn
    licence_ref: Mapped[str | None] = mapped_column(String(100))
    decided_on: Mapped[date | None] = mapped_column(Date)
    # the hash of the rule profile it ran under (None: screened before decision 0034)
    rule_profile: Mapped[str | None] = mapped_column(String(71))

    __table_args__ = (Index("ix_screenings_status", "status"),)


class ScreeningMatchRow(Base):
    """One notice matched by a screening, as first found and as last re-evaluated."""

    __tablename__ = "screening_matches"

    screening_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    origin: Mapped[str] = mapped_column(String(32), primary_key=True)
    notice_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    verdict: Mapped[str] = mapped_column(String(16))  # consult | review | withdrawn
    features: Mapped[dict[str, object]] = mapped_column(JSON)
    found_at: Mapped[datetime] = mapped_column(UtcDateTime)
    changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    change: Mapped[str | None] = mapped_column(String(16))  # new | changed | withdrawn

    __table_args__ = (
        ForeignKeyConstraint(["screening_id"], ["screenings.screening_id"], ondelete="CASCADE"),
    )


class ConsultationMessageRow(Base):
    """One step of a consultation's thread after its request: the denier's interim reply,
    question, extension or final answer, the requester's information or withdrawal. Derived
    from the entry that carried it, which is its key."""

    __tablename__ = "consultation_messages"

    origin: Mapped[str] = mapped_column(String(32), primary_key=True)  # who wrote it
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    consultation_id: Mapped[str] = mapped_column(String(36))
    requester: Mapped[str] = mapped_column(String(32))
    step: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    reply_due: Mapped[date | None] = mapped_column(Date)  # of an extension
    at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("ix_consultation_messages_consultation", "consultation_id", "requester", "seq"),
    )


class DeterminationRow(Base):
    """An officer's finding on one match of a screening: is the application an essentially
    identical transaction to the notice (decision 0034)? The finding, not the score, creates
    the duties to consult and to notify an approval. Local, like the screening."""

    __tablename__ = "determinations"

    screening_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    origin: Mapped[str] = mapped_column(String(32), primary_key=True)
    notice_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    notice_version: Mapped[int] = mapped_column(Integer)  # the version the officer read
    identical: Mapped[bool] = mapped_column(Boolean)
    reasons: Mapped[str] = mapped_column(Text)
    decided_by: Mapped[str] = mapped_column(String(140))
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (
        ForeignKeyConstraint(["screening_id"], ["screenings.screening_id"], ondelete="CASCADE"),
    )


class ConsultationRow(Base):
    """A consultation, derived from its `consultation.requested` and `.answered` entries: the
    requester makes its id, so a consultation is (consultation_id, requester), and no other
    origin's request can replace it."""

    __tablename__ = "consultations"

    consultation_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    requester: Mapped[str] = mapped_column(String(32), primary_key=True)  # origin of the request
    requested_seq: Mapped[int] = mapped_column(BigInteger)
    denier: Mapped[str] = mapped_column(String(32))  # origin of the notice
    notice_id: Mapped[str] = mapped_column(String(36))
    notice_version: Mapped[int] = mapped_column(Integer)
    reply_due: Mapped[date] = mapped_column(Date)
    summary: Mapped[str] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime)
    screening_id: Mapped[str | None] = mapped_column(String(36))  # local only, on the requester
    position: Mapped[str | None] = mapped_column(String(32))
    answer: Mapped[str | None] = mapped_column(Text)
    answered_seq: Mapped[int | None] = mapped_column(BigInteger)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # the thread (decision 0035): the regime it is under, a conditional no-objection's
    # conditions, the last step either side took, and when the requester withdrew it
    regime: Mapped[str | None] = mapped_column(String(10))
    conditions: Mapped[str | None] = mapped_column(Text)
    step: Mapped[str | None] = mapped_column(String(32))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index("ix_consultations_requester", "requester", "reply_due"),
        Index("ix_consultations_denier", "denier", "reply_due"),
    )


class ApprovalRow(Base):
    """An approval notification (the undercut notice), derived from its `approval.notified`
    entry."""

    __tablename__ = "approvals"

    origin: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    notice_id: Mapped[str] = mapped_column(String(36))
    denier: Mapped[str] = mapped_column(String(32))
    consultation_id: Mapped[str | None] = mapped_column(String(36))
    licence_ref: Mapped[str] = mapped_column(String(100))
    decided_on: Mapped[date] = mapped_column(Date)
    explanation: Mapped[str] = mapped_column(Text)
    notified_at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (Index("ix_approvals_notice", "denier", "notice_id"),)


class IdempotencyRow(Base):
    """The first answer to a POST that carried an `Idempotency-Key`, kept 24 hours so that the
    same request sent again gets it again (service.idempotency). Keyed by the caller's token
    and the SHA-256 of the key; `status` is None while the first request is in flight."""

    __tablename__ = "idempotency_keys"

    token_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of method, path and body
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(100))
    body: Mapped[bytes | None] = mapped_column(LargeBinary)

    __table_args__ = (Index("ix_idempotency_keys_created_at", "created_at"),)
