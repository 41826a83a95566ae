"""Vocabularies a notice is checked against beyond its schema: regimes, countries, currencies.

Decisions, party roles and grounds are `Literal` types in service.notices.schema."""

import pycountry

KNOWN_REGIMES = ("WA", "AG", "NSG", "MTCR", "EU", "HRI")
COUNTRIES = frozenset({c.alpha_2 for c in pycountry.countries} | {"XK"})
CURRENCIES = frozenset(c.alpha_3 for c in pycountry.currencies)
