"""Response models of the JSON API (wire only: never ORM rows, never signed payloads)."""

from typing import Any

from pydantic import BaseModel, Field


class Content(BaseModel):
    salt: str = Field(description="base64 of the 16-byte salt")
    body: str = Field(description="base64 of the JCS body bytes")


class NoticeVersion(BaseModel):
    version: int
    kind: str = Field(description="published, amended or revoked")
    seq: int
    leaf_hash: str = Field(description="base64 RFC 9162 leaf hash of the envelope")
    envelope: str = Field(description="the DSSE envelope exactly as stored (JCS JSON text)")
    content: Content | None


class NoticeSummary(BaseModel):
    notice_id: str
    origin: str
    version: int
    status: str = Field(description="active, expired, revoked or invalidated")
    review_due: bool
    notice: dict[str, Any] = Field(description="the current version's signed body")


class Notice(NoticeSummary):
    audience: list[str]
    invalid_reason: str | None = Field(
        default=None, description="why the notice is invalidated (a key revocation)"
    )
    revoked_on: str | None
    revoked_reason: str | None
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
