"""What screening compares, as plain immutable values: an application, an indexed notice, a match.

Built from the validated wire dicts (an application) and from the signed notice bodies of
DESIGN §6 (a notice). Pure: no database, no web, no clock.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from service.rules.profile import RuleProfile, builtin

ALGORITHM = "denex-screen/1"
CONSULT = 0.80
REVIEW = 0.60


@dataclass(frozen=True, slots=True)
class PartyRecord:
    role: str
    names: tuple[str, ...]  # the name first, then its aliases, as written
    country: str | None
    identifiers: tuple[tuple[str, str], ...]  # (scheme, value) as written


@dataclass(frozen=True, slots=True)
class ItemRecord:
    control_entry: str  # normalised (`5A001.j`, `ML21.b`) or `catch-all`
    description: str


@dataclass(frozen=True, slots=True)
class NoticeRecord:
    origin: str
    notice_id: str
    version: int
    decision: str
    destination: str
    valid_until: date
    items: tuple[ItemRecord, ...]
    parties: tuple[PartyRecord, ...]
    end_use: str
    # the last day it is matched: valid_until, or never ending (date.max) when one of its
    # regimes keeps a denial in force until it is revoked (the rule profile)
    in_force_until: date


@dataclass(frozen=True, slots=True)
class Application:
    reference: str
    destination: str
    items: tuple[ItemRecord, ...]
    parties: tuple[PartyRecord, ...]
    end_use: str


@dataclass(frozen=True, slots=True)
class Thresholds:
    consult: float = CONSULT
    review: float = REVIEW


@dataclass(frozen=True, slots=True)
class Match:
    origin: str
    notice_id: str
    version: int
    score: float  # in [0, 1]
    verdict: str  # "consult" or "review"
    features: dict[str, Any] = field(default_factory=dict)


def _parties(parties: Any) -> tuple[PartyRecord, ...]:
    return tuple(
        PartyRecord(
            role=str(p["role"]),
            names=(str(p["name"]), *(str(a) for a in p.get("aliases") or ())),
            country=p.get("country"),
            identifiers=tuple(
                (str(i["scheme"]), str(i["value"])) for i in p.get("identifiers") or ()
            ),
        )
        for p in parties
    )


def _items(items: Any) -> tuple[ItemRecord, ...]:
    return tuple(
        ItemRecord(str(i["control_entry"]), str(i.get("description") or "")) for i in items
    )


def notice_record(
    origin: str,
    body: Mapping[str, Any],
    rules: RuleProfile | None = None,
    valid_until: date | None = None,
) -> NoticeRecord:
    """The record of a notice from its signed §6 body (control entries already normalised);
    whether it lapses at valid_until is the rule profile's (the built-in one unless given).
    `valid_until` replaces the body's when a later review moved it."""
    valid_until = valid_until or date.fromisoformat(body["valid_until"])
    regimes = [str(r) for r in body.get("regimes") or ()]
    lasting = (rules or builtin()).in_force_until_revoked(regimes)
    return NoticeRecord(
        origin=origin,
        notice_id=str(body["notice_id"]),
        version=int(body["version"]),
        decision=str(body["decision"]),
        destination=str(body["destination"]),
        valid_until=valid_until,
        items=_items(body["items"]),
        parties=_parties(body["parties"]),
        end_use=str(body.get("end_use") or ""),
        in_force_until=date.max if lasting else valid_until,
    )


def application_record(body: Mapping[str, Any]) -> Application:
    """The record of a validated application (§7 input, control entries normalised)."""
    return Application(
        reference=str(body.get("reference") or ""),
        destination=str(body["destination"]),
        items=_items(body["items"]),
        parties=_parties(body["parties"]),
        end_use=str(body.get("end_use") or ""),
    )
