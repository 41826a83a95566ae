"""Wire models of screening input: the application (DESIGN §7) and closing a screening.

An application reuses the notice's party and control-entry validation. Descriptions and end
uses may be long (a pasted specification): they are accepted up to 20,000 characters and the
engine bounds what it reads of them.
"""

from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, StrictBool, model_validator

from service.notices.schema import (
    PROSE,
    UUID_PATTERN,
    ControlEntry,
    Country,
    IsoDate,
    LongText,
    NodeId,
    Party,
    Reference,
    ShortText,
    Strict,
    prose,
)

Description = Annotated[str, Field(min_length=1, max_length=20000), PROSE, AfterValidator(prose)]


class ApplicationItem(Strict):
    control_entry: ControlEntry
    description: Description


class ApplicationInput(Strict):
    """A licence application to screen; it never leaves this node."""

    reference: Reference
    destination: Country
    items: Annotated[list[ApplicationItem], Field(min_length=1, max_length=100)]
    parties: Annotated[list[Party], Field(min_length=1, max_length=100)]
    end_use: Description | None = None


class CloseInput(Strict):
    """How the licence decision went; `approved` needs the licence reference and date, and
    starts the clock on any approval notification owed (DESIGN §7)."""

    # the rule below, stated in the OpenAPI document (JSON Schema if/then)
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"outcome": {"const": "approved"}}, "required": ["outcome"]},
            "then": {
                "required": ["licence_ref", "decided_on"],
                "properties": {"licence_ref": {"type": "string"}, "decided_on": {"type": "string"}},
            },
        }
    )

    outcome: Literal["approved", "refused", "withdrawn"]
    licence_ref: ShortText | None = None
    decided_on: IsoDate | None = None

    @model_validator(mode="after")
    def _approved_needs_licence(self) -> "CloseInput":
        if self.outcome == "approved" and (self.licence_ref is None or self.decided_on is None):
            raise ValueError("an approved licence needs licence_ref and decided_on")
        return self


class DeterminationInput(Strict):
    """The officer's finding on one current match (decision 0034): is the application an
    essentially identical transaction to the notice? "Identical" creates the duties to
    consult and to notify an approval that the notice's regimes set."""

    origin: NodeId
    notice_id: Annotated[str, Field(pattern=UUID_PATTERN)]
    identical: StrictBool  # "yes" or 1 is not a finding
    reasons: LongText
