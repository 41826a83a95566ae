"""Wire models of consultation requests, answers and approval notifications (DESIGN §7)."""

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from service.notices.schema import PROSE, IsoDate, NodeId, ShortText, Strict, prose

Uuid = Annotated[
    str, Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
]
Message = Annotated[str, Field(min_length=1, max_length=20000), PROSE, AfterValidator(prose)]
Summary = Annotated[str, Field(min_length=1, max_length=2000), PROSE, AfterValidator(prose)]


class ConsultationInput(Strict):
    """Consult the denying node about one match of a screening. `summary` and `message` are
    what the denier will read: the application itself never leaves this node."""

    screening_id: Uuid
    origin: NodeId | None = Field(
        default=None,
        description="the notice's origin (the denier); may be left out while this node holds "
        "that notice_id from one origin only (422 naming `origin` otherwise)",
    )
    notice_id: Uuid
    summary: Summary
    message: Message
    reply_due: IsoDate | None = None


class AnswerInput(Strict):
    position: Literal["maintains_objection", "no_objection", "revoking_notice"]
    message: Message
    requester: NodeId | None = Field(
        default=None,
        description="who asked; needed only when two requesters used one consultation_id",
    )


class ApprovalInput(Strict):
    """Notify the denier (and, where the regime says so, its partners) of an approval of an
    essentially identical transaction."""

    origin: NodeId | None = Field(
        default=None,
        description="the notice's origin (the denier); may be left out while this node holds "
        "that notice_id from one origin only (422 naming `origin` otherwise)",
    )
    notice_id: Uuid
    consultation_id: Uuid | None = None
    licence_ref: ShortText
    decided_on: IsoDate
    explanation: Message
