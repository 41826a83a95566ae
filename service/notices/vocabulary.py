"""The closed vocabularies of a notice: decisions, roles, grounds, regimes, countries, currencies."""

import pycountry

DECISIONS = ("refusal", "annulment", "suspension", "revocation_of_licence", "catch_all_requirement")
ROLES = ("end_user", "consignee", "intermediate_consignee", "purchaser", "broker")
GROUNDS = (
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
)
KNOWN_REGIMES = ("WA", "AG", "NSG", "MTCR", "EU", "HRI")
COUNTRIES = frozenset({c.alpha_2 for c in pycountry.countries} | {"XK"})
CURRENCIES = frozenset(c.alpha_3 for c in pycountry.currencies)
