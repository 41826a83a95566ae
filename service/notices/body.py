"""The signed bodies of notice entries, built explicitly field by field (one place only)."""

from datetime import date
from typing import Any

from service.notices.lifecycle import default_valid_until
from service.notices.schema import NoticeInput, Party


def _party(party: Party) -> dict[str, Any]:
    return {
        "role": party.role,
        "name": party.name,
        "aliases": list(party.aliases),
        "country": party.country,
        "address": None
        if party.address is None
        else {
            "street": party.address.street,
            "city": party.address.city,
            "postal_code": party.address.postal_code,
        },
        "identifiers": [{"scheme": i.scheme, "value": i.value} for i in party.identifiers],
    }


def notice_body(
    notice: NoticeInput, *, notice_id: str, version: int, supersedes: int | None
) -> dict[str, Any]:
    """The `notice.published` / `notice.amended` body (DESIGN §6)."""
    valid_until = (
        notice.valid_until or default_valid_until(date.fromisoformat(notice.decided_on)).isoformat()
    )
    return {
        "notice_id": notice_id,
        "version": version,
        "reference": notice.reference,
        "decision": notice.decision,
        "decided_on": notice.decided_on,
        "valid_until": valid_until,
        "regimes": sorted(notice.regimes),
        "destination": notice.destination,
        "items": [
            {
                "control_entry": item.control_entry,
                "description": item.description,
                "quantity": item.quantity,
                "value": None
                if item.value is None
                else {"amount": item.value.amount, "currency": item.value.currency},
            }
            for item in notice.items
        ],
        "parties": [_party(p) for p in notice.parties],
        "end_use": notice.end_use,
        "grounds": [{"code": g.code, "ref": g.ref, "text": g.text} for g in notice.grounds],
        "public_listings": [{"list": p.list, "ref": p.ref} for p in notice.public_listings],
        "supersedes": supersedes,
    }


def review_body(
    *, notice_id: str, version: int, reviewed_on: str, next_review: str, note: str | None
) -> dict[str, Any]:
    """The `notice.reviewed` body: the notice's current version was reviewed and maintained;
    its next review is due on `next_review` (decision 0034)."""
    return {
        "notice_id": notice_id,
        "version": version,
        "outcome": "maintained",
        "reviewed_on": reviewed_on,
        "next_review": next_review,
        "note": note,
    }


def revocation_body(
    *,
    notice_id: str,
    reason: str,
    revoked_on: str,
    code: str | None = None,
    superseded_by: str | None = None,
) -> dict[str, Any]:
    """The `notice.revoked` body (DESIGN §6); `code` and `superseded_by` only when given, so
    that an uncoded revocation reads as before."""
    body: dict[str, Any] = {"notice_id": notice_id, "reason": reason, "revoked_on": revoked_on}
    if code is not None:
        body["code"] = code
    if superseded_by is not None:
        body["superseded_by"] = superseded_by
    return body
