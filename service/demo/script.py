"""The demo's cast: three authorities, their invented denials, and the settings every
demo node runs with."""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

FEDERATION = "denex.demo"
REGIMES = "WA,EU,HRI"
SYNC_INTERVAL = "2"
DEMO_ENV = {
    "DENEX_INSECURE_DEV_KEYS": "1",  # unencrypted keys: a demo, not a deployment
    "DENEX_INSECURE_DEV_HTTP": "1",  # http:// node URLs on 127.0.0.1
    "DENEX_SYNC_INTERVAL": SYNC_INTERVAL,
}


@dataclass(frozen=True)
class Authority:
    node_id: str
    country: str
    name: str
    prefix: str  # of its notice references


AUTHORITIES = (
    Authority("de-bafa", "DE", "Germany BAFA (demo)", "BAFA"),
    Authority("fr-sbdu", "FR", "France SBDU (demo)", "SBDU"),
    Authority("nl-cdiu", "NL", "Netherlands CDIU (demo)", "CDIU"),
)


@dataclass(frozen=True)
class Case:
    """One invented denial: real control entries and destinations, fictional end users."""

    control_entry: str
    item: str
    destination: str
    end_user: str
    city: str
    end_use: str
    ground: str
    decision: str = "refusal"


CASES = (
    Case("5.A.1.f", "IMSI catcher, vehicle-mounted (mobile network interception)", "BY",
         "Polesye Signal Systems LLC (fictional)", "Minsk",
         "locating the phones of protesters", "internal-repression"),
    Case("4.A.5", "Command-and-control platform for intrusion software (spyware)", "MM",
         "Golden Delta Cyber Solutions Co. (fictional)", "Naypyidaw",
         "covert access to journalists' smartphones", "human-rights"),
    Case("5.A.1.j", "IP network communications surveillance system with monitoring centre",
         "IR", "Pars Net Observatory Co. (fictional)", "Tehran",
         "nationwide monitoring of internet traffic", "internal-repression"),
    Case("4.D.4", "Intrusion software delivery toolkit (zero-click exploit chain)", "VE",
         "Orinoco Tactical Data C.A. (fictional)", "Caracas",
         "surveillance of opposition politicians", "human-rights"),
    Case("catch-all", "City-wide facial recognition system for CCTV networks", "RU",
         "Volga Smart Vision JSC (fictional)", "Kazan",
         "identifying participants in demonstrations", "human-rights",
         decision="catch_all_requirement"),
    Case("5.A.1.f", "Lawful-interception gateway for a mobile core network", "NI",
         "Lago Azul Telecom Services S.A. (fictional)", "Managua",
         "interception without judicial oversight", "internal-repression"),
)  # fmt: skip


def synthetic_notice(authority: int, number: int, today: date) -> dict[str, Any]:
    """The `number`th invented notice of the `authority`th node (each starts at its own case)."""
    case = CASES[(authority * 2 + number) % len(CASES)]
    decided = today - timedelta(days=9 * number + 3 * authority + 5)
    prefix = AUTHORITIES[authority].prefix
    catch_all = case.control_entry == "catch-all"
    return {
        "reference": f"{prefix}-DEMO-{decided.year}-{number + 1:03d}",
        "decision": case.decision,
        "decided_on": decided.isoformat(),
        "regimes": ["EU", "HRI"] if catch_all else ["WA", "EU", "HRI"],
        "destination": case.destination,
        "items": [{"control_entry": case.control_entry, "description": case.item, "quantity": "1"}],
        "parties": [
            {
                "role": "end_user",
                "name": case.end_user,
                "country": case.destination,
                "address": {"city": case.city},
            }
        ],
        "end_use": f"{case.end_use} (invented for the denex demo)",
        "grounds": [{"code": case.ground, "text": "synthetic demo data: no real decision"}],
    }


def overdue_notice(today: date) -> dict[str, Any]:
    """An invented EU-only denial decided three and a half years ago whose review date passed
    half a year ago without a revocation: under the EU's rules it is still in force
    (`review_overdue`) and still matched (docs/rules.md)."""
    case = CASES[5]
    decided = today - timedelta(days=3 * 365 + 180)
    return {
        "reference": f"CDIU-DEMO-{decided.year}-OLD",
        "decision": case.decision,
        "decided_on": decided.isoformat(),
        "valid_until": (today - timedelta(days=180)).isoformat(),
        "regimes": ["EU"],
        "destination": case.destination,
        "items": [{"control_entry": case.control_entry, "description": case.item, "quantity": "2"}],
        "parties": [{"role": "end_user", "name": case.end_user, "country": case.destination}],
        "end_use": f"{case.end_use} (invented for the denex demo)",
        "grounds": [{"code": case.ground, "text": "synthetic demo data: no real decision"}],
    }
