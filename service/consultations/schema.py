"""Wire models of consultation requests, answers and approval notifications (DESIGN §7)."""

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from service.notices.schema import (
    PROSE,
    UUID_PATTERN,
    IsoDate,
    NodeId,
    RegimeCode,
    ShortText,
    Strict,
    prose,
)

Uuid = Annotated[str, Field(pattern=UUID_PATTERN)]
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
    regime: RegimeCode | None = Field(
        default=None,
        description="the regime the consultation is under (one of the notice's); by default "
        "the notice's regime that requires consulting with the longest reply window",
    )


class AnswerInput(Strict):
    """The denier's step in a consultation's thread: `final` (the default) gives its position,
    and ends the thread; `interim` replies without one; `more_information` asks the requester
    a question. An extension of the window is `ExtensionInput`."""

    step: Literal["final", "interim", "more_information"] = "final"
    position: (
        Literal[
            "maintains_objection", "no_objection", "conditional_no_objection", "revoking_notice"
        ]
        | None
    ) = None
    conditions: Summary | None = None  # of a conditional no-objection
    message: Message
    requester: NodeId | None = Field(
        default=None,
        description="who asked; needed only when two requesters used one consultation_id",
    )

    @model_validator(mode="after")
    def _step_fields(self) -> "AnswerInput":
        final = self.step == "final"
        if final != (self.position is not None):
            raise ValueError("position is given exactly when the step is final")
        if (self.position == "conditional_no_objection") != (self.conditions is not None):
            raise ValueError("conditions are given exactly with a conditional_no_objection")
        return self


class ExtensionInput(Strict):
    """The denier moves the reply window of a consultation to a later `reply_due`."""

    reply_due: IsoDate
    message: Message
    requester: NodeId | None = Field(
        default=None,
        description="who asked; needed only when two requesters used one consultation_id",
    )


class FollowUpInput(Strict):
    """The requester's step in its consultation's thread: `information` answers the
    denier's questions; `withdrawn` withdraws the request (it no longer counts as asked)."""

    step: Literal["information", "withdrawn"]
    message: Message


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
