"""Response models of the JSON API (wire only: never ORM rows, never signed payloads)."""

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field


def iso(moment: datetime | date | None) -> str | None:
    """ISO 8601 on the wire; times in UTC with their offset (federation.storage.tables.UtcDateTime)."""
    return moment.isoformat() if moment is not None else None


class Content(BaseModel):
    salt: str = Field(description="base64 of the 16-byte salt")
    body: str = Field(description="base64 of the JCS body bytes")


class NoticeVersion(BaseModel):
    version: int
    kind: str = Field(description="published, amended or revoked")
    superseded: bool = Field(
        default=False, description="a later amendment replaced this version (history only)"
    )
    seq: int
    leaf_hash: str = Field(description="base64 RFC 9162 leaf hash of the envelope")
    envelope: str = Field(description="the DSSE envelope exactly as stored (JCS JSON text)")
    content: Content | None


class NoticeSummary(BaseModel):
    notice_id: str
    origin: str
    version: int
    status: str = Field(
        description="active; review_overdue (past valid_until, its review date, under a "
        "regime whose denials stay in force until revoked: still matched); expired; "
        "revoked; or invalidated"
    )
    review_due: bool
    valid_until: str = Field(
        description="its review date: the current version's, or the next_review of a later "
        "notice.reviewed"
    )
    reviewed_on: str | None = Field(default=None, description="its last review, if any")
    notice: dict[str, Any] = Field(description="the current version's signed body")


class Notice(NoticeSummary):
    audience: list[str]
    invalid_reason: str | None = Field(
        default=None, description="why the notice is invalidated (a key revocation)"
    )
    revoked_on: str | None
    revoked_reason: str | None
    revoked_code: str | None = Field(
        default=None,
        description="review_outcome, appeal_or_court_ruling, error, sanctions_lifted, "
        "item_decontrolled or superseded (then superseded_by names the notice); null if "
        "the revocation was not coded",
    )
    superseded_by: str | None = None
    versions: list[NoticeVersion]


class NoticeList(BaseModel):
    items: list[NoticeSummary]
    next_cursor: str | None


class AuditEvent(BaseModel):
    seq: int
    at: str
    actor: str
    action: str
    target: str | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    items: list[AuditEvent]
    next_cursor: str | None


class Health(BaseModel):
    status: str


class PeerStatus(BaseModel):
    """How syncing from a peer goes (filled by the sync engine; empty until it has run)."""

    last_success: str | None = Field(
        default=None, description="RFC 3339 time of the last successful sync round"
    )
    last_error: str | None = Field(default=None, description="the last round's error, if any")
    lag: dict[str, int] = Field(
        default_factory=dict, description="origin -> entries this node is behind the peer"
    )
    fresh_at: str | None = Field(
        default=None,
        description="when the peer's own log was last seen current (fetched from it, or "
        "cosigned by another peer); older than DENEX_STALE_AFTER raises a stale alert",
    )
    rule_profile: str | None = Field(
        default=None,
        description="the rule profile hash the peer's last answer named (Denex-Rule-Profile); "
        "one other than this node's raises a `rule profile` alert",
    )
    alerts: list[str] = Field(default_factory=list, description="open alerts about this peer")


class Peer(BaseModel):
    node_id: str
    name: str
    country: str
    url: str
    regimes: list[str] = Field(description="regimes as confirmed by this node's admin")
    fingerprint: str = Field(description="the root key id in groups of four hex digits")
    card_version: int
    added_at: str
    removed_at: str | None = Field(description="set when removed from the roster")
    status: PeerStatus


class PeerList(BaseModel):
    items: list[Peer]
    next_cursor: str | None = Field(default=None, description="always null: one page")


class Determination(BaseModel):
    identical: bool = Field(description="an essentially identical transaction to the notice")
    reasons: str
    notice_version: int = Field(
        description="the version determined on; a newer one needs a new determination"
    )
    decided_by: str
    decided_at: str


class ScreeningMatch(BaseModel):
    notice_id: str
    origin: str
    version: int
    score: float = Field(description="in [0, 1]")
    verdict: str = Field(description="consult, review, or withdrawn (no longer a match)")
    features: dict[str, Any] = Field(description="per-feature explanation of the score")
    found_at: str
    change: str | None = Field(
        description="set when a later notice change altered this match: new, changed, withdrawn"
    )
    changed_at: str | None
    determination: Determination | None = Field(
        default=None, description="the officer's finding on this match, if recorded"
    )


class Screening(BaseModel):
    screening_id: str
    reference: str
    status: str = Field(description="open or closed")
    created_at: str
    matches: list[ScreeningMatch] = Field(description="sorted: consult, review, then by score")
    snapshot: dict[str, Any] = Field(description="{origin: {size, root}} screened against")
    staleness: dict[str, Any] = Field(
        description="{origin: {heard_at, stale, frozen}}: partner logs that may be behind"
    )
    algorithm: str
    rule_profile: str | None = Field(
        default=None, description="hash of the rule profile it ran under (GET /api/v1/rules)"
    )
    duties: dict[str, Any] = Field(
        default_factory=dict,
        description="what the determinations oblige before approving: {duties, undetermined, "
        "approval_blocked_by}",
    )
    outcome: str | None = None
    licence_ref: str | None = None
    decided_on: str | None = None
    closed_at: str | None = None


class Consultation(BaseModel):
    consultation_id: str
    direction: str = Field(description="out (this node asked) or in (this node was asked)")
    requester: str
    denier: str
    notice_id: str
    notice_version: int
    reply_due: str
    overdue: bool
    summary: str
    message: str
    requested_at: str
    requested_seq: int
    position: str | None
    answer: str | None
    answered_at: str | None
    screening_id: str | None = Field(description="the screening it came from (requester only)")
    regime: str | None = Field(default=None, description="the regime it is under")
    status: str = Field(
        default="open",
        description="open; information_requested (the denier asked a question); answered; "
        "withdrawn",
    )
    conditions: str | None = Field(default=None, description="of a conditional no-objection")
    thread: list["ConsultationStep"] = Field(
        default_factory=list, description="every step after the request, in order"
    )


class ConsultationStep(BaseModel):
    by: str = Field(description="the node that took the step")
    seq: int
    step: str = Field(
        description="the denier's interim, more_information, extension or final; the "
        "requester's information or withdrawn"
    )
    message: str
    reply_due: str | None = Field(default=None, description="the new reply_due of an extension")
    at: str


Consultation.model_rebuild()  # its thread's steps are declared after it


class ConsultationList(BaseModel):
    items: list[Consultation]
    next_cursor: str | None


class Approval(BaseModel):
    origin: str
    seq: int
    notice_id: str
    denier: str
    consultation_id: str | None
    licence_ref: str
    decided_on: str
    explanation: str
    notified_at: str


class ApprovalDue(BaseModel):
    screening_id: str
    licence_ref: str
    decided_on: str
    notice_id: str
    denier: str
    due_by: str
    overdue: bool


class ApprovalList(BaseModel):
    items: list[Approval]
    next_cursor: str | None
    due: list[ApprovalDue] = Field(
        description="approval notifications this node owes (first page only)"
    )
