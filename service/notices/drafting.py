"""Turning a validated notice into the draft of its entry: body, audience, checks against
this node. Pure (no database), so that bulk import can run it in worker processes."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import uuid_utils.compat as uuid_compat

from federation.core.entry import MAX_CONTENT_BYTES, Draft
from keys.canonical import canonical_bytes
from service.errors import InvalidInput
from service.notices.body import notice_body
from service.notices.schema import NoticeContext, NoticeInput


def check_regimes(context: NoticeContext, regimes: Sequence[str]) -> None:
    unknown = sorted(set(regimes) - set(context.regimes))
    if unknown:
        raise InvalidInput(
            "notice names regimes this node does not belong to",
            [{"field": "regimes", "message": f"not a regime of this node: {', '.join(unknown)}"}],
        )


def audience(
    context: NoticeContext, notice: NoticeInput, previous: Sequence[str] | None
) -> list[str]:
    """The entry's audience: as asked (always with the origin), else the previous version's,
    else every member of the notice's regimes. Asking beyond those members is an error."""
    allowed = context.audience_for(notice.regimes)
    if notice.audience is None:
        return sorted(set(previous)) if previous is not None else allowed
    requested = set(notice.audience) | {context.origin}
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


def signed_body(body: dict[str, Any]) -> bytes:
    """The canonical bytes of a notice body, refused (422) if an entry cannot carry them: the
    schema bounds each field, not what all of them come to together."""
    data = canonical_bytes(body)
    if len(data) > MAX_CONTENT_BYTES:
        raise InvalidInput(
            "notice is too large for one entry",
            [
                {
                    "field": "body",
                    "message": f"the signed notice would be {len(data)} bytes, more than the "
                    f"{MAX_CONTENT_BYTES} an entry carries: shorten the item descriptions",
                }
            ],
        )
    return data


def published_draft(context: NoticeContext, notice: NoticeInput, now: datetime) -> Draft:
    """The `notice.published` draft of a new notice, with a fresh notice id."""
    check_regimes(context, notice.regimes)
    body = notice_body(notice, notice_id=str(uuid_compat.uuid7()), version=1, supersedes=None)
    return Draft("notice.published", signed_body(body), tuple(audience(context, notice, None)), now)
