"""Wire models of notice input (publish, amend, revoke): every field validated, extra fields refused.

These are request schemas only. The signed body is built from them explicitly by
service.notices.body, never by dumping a model.
"""

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.config import JsonDict
from pydantic_core import PydanticCustomError

from federation.core.identity import NODE_ID_PATTERN
from service.notices import control, text
from service.notices.text import text_problem
from service.notices.vocabulary import COUNTRIES, CURRENCIES

ROSTER_CONFLICT = "roster_conflict"  # a check against the roster, not the schema
UUID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
_DECIMAL = re.compile(r"^(0|[1-9][0-9]{0,17})(\.[0-9]{1,6})?$")


def iso_date(value: str) -> str:
    """`value` if it is a date as YYYY-MM-DD (ValueError in words otherwise)."""
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("must be an ISO 8601 date YYYY-MM-DD")
    try:
        date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError("is not a valid calendar date") from exc
    return value


def _country(value: str) -> str:
    if value not in COUNTRIES:
        raise ValueError("must be an ISO 3166-1 alpha-2 code (upper case) or XK")
    return value


def _currency(value: str) -> str:
    if value not in CURRENCIES:
        raise ValueError("must be an ISO 4217 currency code")
    return value


def _decimal(value: str) -> str:
    if not _DECIMAL.fullmatch(value):
        raise ValueError("must be a non-negative decimal string such as '1200000.00'")
    return value


def _control_entry(value: str) -> str:
    try:
        return control.parse(value)
    except control.ControlEntryError as exc:
        raise ValueError(str(exc)) from exc


def one_line(value: str) -> str:
    """The text rule (service.notices.text) for a field of one line: names, references."""
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def prose(value: str) -> str:
    """The text rule for long free text, where tabs and line breaks are allowed."""
    problem = text_problem(value, multiline=True)
    if problem is not None:
        raise ValueError(problem)
    return value


# what the code checks, stated in the OpenAPI document too (json_schema_extra: the code's
# messages, not pydantic's, tell an officer what is wrong)
def _text_schema(*, multiline: bool) -> Callable[[JsonDict], None]:
    def extra(schema: JsonDict) -> None:  # built when a document is (0.3 s, once)
        schema["pattern"] = text.pattern(multiline=multiline)

    return extra


# the text rule in the OpenAPI document: a pattern that matches exactly what it passes
ONE_LINE = Field(json_schema_extra=_text_schema(multiline=False))
PROSE = Field(json_schema_extra=_text_schema(multiline=True))
IsoDate = Annotated[
    str,
    Field(json_schema_extra={"format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}),
    AfterValidator(iso_date),
]
Country = Annotated[
    str, Field(json_schema_extra={"enum": sorted(COUNTRIES)}), AfterValidator(_country)
]
Decimal = Annotated[
    str,
    Field(max_length=30, json_schema_extra={"pattern": _DECIMAL.pattern}),
    AfterValidator(_decimal),
]
ShortText = Annotated[str, Field(min_length=1, max_length=300), ONE_LINE, AfterValidator(one_line)]
LongText = Annotated[str, Field(min_length=1, max_length=4000), PROSE, AfterValidator(prose)]
Reference = Annotated[str, Field(min_length=1, max_length=100), ONE_LINE, AfterValidator(one_line)]
ControlEntry = Annotated[
    str,
    Field(max_length=40, json_schema_extra={"pattern": control.PATTERN}),
    AfterValidator(_control_entry),
]
RegimeCode = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9]{1,9}$")]
NodeId = Annotated[str, Field(pattern=NODE_ID_PATTERN)]


@dataclass(frozen=True)
class NoticeContext:
    """What validating a notice needs to know about this node (pydantic validation context)."""

    origin: str
    regimes: tuple[str, ...]
    members: Mapping[str, tuple[str, ...]]  # regime -> roster members in it

    def audience_for(self, regimes: Iterable[str]) -> list[str]:
        """The default (and widest) audience: the origin and the members of the regimes."""
        nodes = {self.origin}
        for regime in regimes:
            nodes.update(self.members.get(regime, ()))
        return sorted(nodes)

    @classmethod
    def of(cls, info: ValidationInfo) -> "NoticeContext | None":
        context = info.context
        if isinstance(context, dict) and isinstance(context.get("node"), NoticeContext):
            found: NoticeContext = context["node"]
            return found
        return None


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class Value(Strict):
    amount: Decimal
    currency: Annotated[
        str, Field(json_schema_extra={"enum": sorted(CURRENCIES)}), AfterValidator(_currency)
    ]


class Item(Strict):
    control_entry: ControlEntry
    description: LongText
    quantity: Decimal | None = None
    value: Value | None = None


class Address(Strict):
    street: ShortText | None = None
    city: ShortText | None = None
    postal_code: (
        Annotated[str, Field(min_length=1, max_length=20), ONE_LINE, AfterValidator(one_line)]
        | None
    ) = None


class Identifier(Strict):
    scheme: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")]
    value: Annotated[str, Field(min_length=1, max_length=100), ONE_LINE, AfterValidator(one_line)]


class Party(Strict):
    role: Literal["end_user", "consignee", "intermediate_consignee", "purchaser", "broker"]
    name: ShortText
    aliases: Annotated[list[ShortText], Field(max_length=50)] = []
    country: Country | None = None
    address: Address | None = None
    identifiers: Annotated[list[Identifier], Field(max_length=20)] = []


class Ground(Strict):
    code: Literal[
        "human-rights",
        "ihl",
        "internal-repression",
        "wmd",
        "military-end-use",
        "diversion",
        "terrorism",
        "regional-stability",
        "national-security",
        "embargo",
        "other",
    ]
    ref: ShortText | None = None
    text: LongText | None = None


class PublicListing(Strict):
    list: Annotated[str, Field(min_length=1, max_length=50), ONE_LINE, AfterValidator(one_line)]
    ref: ShortText


class NoticeInput(Strict):
    """A notice as an officer submits it (DESIGN §6 without notice_id and version)."""

    reference: Reference
    decision: Literal[
        "refusal",
        "annulment",
        "suspension",
        "revocation_of_licence",
        "catch_all_requirement",
        "substantial_limitation",  # a licence modified to substantially limit it
        "transit_prohibition",
        "brokering_prohibition",
    ]
    decided_on: IsoDate
    valid_until: IsoDate | None = None
    regimes: Annotated[
        list[RegimeCode],
        Field(min_length=1, max_length=10, json_schema_extra={"uniqueItems": True}),
    ]
    destination: Country
    items: Annotated[list[Item], Field(min_length=1, max_length=100)]
    parties: Annotated[list[Party], Field(min_length=1, max_length=100)]
    end_use: LongText | None = None
    grounds: Annotated[list[Ground], Field(min_length=1, max_length=20)]
    public_listings: Annotated[list[PublicListing], Field(max_length=20)] = []
    audience: Annotated[list[NodeId], Field(min_length=1, max_length=200)] | None = None

    @field_validator("valid_until")
    @classmethod
    def _after_decision(cls, value: str | None, info: ValidationInfo) -> str | None:
        decided_on = info.data.get("decided_on")
        if value is not None and decided_on is not None and value <= decided_on:
            raise ValueError("must be after decided_on")
        return value

    @field_validator("regimes")
    @classmethod
    def _node_regimes(cls, value: list[str], info: ValidationInfo) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("must not repeat")
        context = NoticeContext.of(info)
        if context is not None:
            unknown = sorted(set(value) - set(context.regimes))
            if unknown:
                raise ValueError(f"not a regime of this node: {', '.join(unknown)}")
        return value

    @field_validator("audience")
    @classmethod
    def _narrow_only(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        context = NoticeContext.of(info)
        if value is not None and context is not None:
            # when `regimes` itself failed, judge against every regime of this node
            regimes = info.data.get("regimes", context.regimes)
            outside = sorted(set(value) - set(context.audience_for(regimes)))
            if outside:  # the roster decides: a conflict with the node's state (409)
                raise PydanticCustomError(
                    ROSTER_CONFLICT,
                    "not a member of the notice's regimes: {outside}",
                    {"outside": ", ".join(outside)},
                )
        return value


class ReviewInput(Strict):
    """A review that maintains the denial as it is. A review that changes it is an amendment
    (with its new valid_until); one that ends it is a revocation coded `review_outcome`."""

    outcome: Literal["maintained"]
    reviewed_on: IsoDate | None = None  # today unless given
    next_review: IsoDate | None = None  # reviewed_on + the regimes' review period unless given
    note: LongText | None = None

    @model_validator(mode="after")
    def _next_after_reviewed(self) -> "ReviewInput":
        if self.reviewed_on and self.next_review and self.next_review <= self.reviewed_on:
            raise ValueError("next_review must be after reviewed_on")
        return self


REVOCATION_CODES = (
    "review_outcome",
    "appeal_or_court_ruling",
    "error",
    "sanctions_lifted",
    "item_decontrolled",
    "superseded",
)


class RevokeInput(Strict):
    """Why a denial is revoked: in words, and coded (`code`) so that partners and reports can
    count revocations by cause; `superseded` names the notice that replaces it."""

    reason: LongText
    revoked_on: IsoDate | None = None
    code: (
        Literal[
            "review_outcome",
            "appeal_or_court_ruling",
            "error",
            "sanctions_lifted",
            "item_decontrolled",
            "superseded",
        ]
        | None
    ) = None
    superseded_by: Annotated[str, Field(pattern=UUID_PATTERN)] | None = None

    @model_validator(mode="after")
    def _superseded_names_its_successor(self) -> "RevokeInput":
        if (self.code == "superseded") != (self.superseded_by is not None):
            raise ValueError("superseded_by is given exactly when code is superseded")
        return self


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Pydantic errors as `{"field": "items.0.control_entry", "message": ...}` pairs."""
    out = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "body"
        out.append({"field": field, "message": str(err["msg"]).removeprefix("Value error, ")})
    return out
