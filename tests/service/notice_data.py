"""Synthetic notice inputs for tests. All data is invented; real denials are confidential."""

from typing import Any


def notice(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "reference": "BAFA-2026-0117",
        "decision": "refusal",
        "decided_on": "2026-11-20",
        "regimes": ["WA", "EU", "HRI"],
        "destination": "BY",
        "items": [
            {
                "control_entry": "5.A.1.j",
                "description": "IP network communications surveillance system",
                "quantity": "1",
                "value": {"amount": "1200000.00", "currency": "EUR"},
            }
        ],
        "parties": [
            {
                "role": "end_user",
                "name": "Severny Signal LLC",
                "aliases": ["ООО «Северный сигнал»", "Severnyi Signal OOO"],
                "country": "BY",
                "address": {"street": "1 Example Street", "city": "Minsk", "postal_code": "220000"},
                "identifiers": [{"scheme": "LEI", "value": "5493001KJTIIGC8Y1R12"}],
            }
        ],
        "end_use": "monitoring of political opposition",
        "grounds": [
            {
                "code": "human-rights",
                "ref": "EU CP 2008/944 criterion 2(a)",
                "text": "clear risk of use for internal repression",
            }
        ],
        "public_listings": [],
    }
    body.update(overrides)
    return body
