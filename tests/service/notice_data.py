"""Synthetic notice inputs for tests. All data is invented; real denials are confidential."""

import itertools
from typing import Any

# A node's own notices each hold their own reference (decision 0025): every `notice()` gets
# a new one unless the test names it, so that tests publishing several notices need not.
_REFERENCES = itertools.count(117)


def notice(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "reference": f"BAFA-2026-{next(_REFERENCES):04d}",
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


def application(**overrides: Any) -> dict[str, Any]:
    """A licence application (DESIGN §7) close to `notice()`: the same end user, spelt
    differently, a broader control entry, the same destination."""
    body: dict[str, Any] = {
        "reference": "SBDU-APP-2026-9",
        "destination": "BY",
        "items": [{"control_entry": "5A001", "description": "IP traffic monitoring centre"}],
        "parties": [
            {"role": "end_user", "name": "Severnyi Signal, OOO", "country": "BY", "aliases": []}
        ],
        "end_use": "lawful interception",
    }
    body.update(overrides)
    return body


async def insert_foreign_notice(
    live: Any,
    clock: Any,
    *,
    origin: str = "fr-sbdu",
    notice_id: str | None = None,
    **overrides: Any,
) -> str:
    """A notice of `origin` (fr-sbdu unless given) stored the way sync would store it: its
    entry, then derived rows; under a new notice id unless one is given.

    `live` is a tests.nodes.LiveNode, `clock` its FakeClock; `overrides` change the notice.
    """
    import uuid_utils.compat as uuid_compat

    from service.notices.body import notice_body
    from service.notices.schema import NoticeInput

    notice_id = notice_id or str(uuid_compat.uuid7())
    body = notice_body(
        NoticeInput.model_validate(notice(**{"reference": "SBDU-2026-0042", **overrides})),
        notice_id=notice_id,
        version=1,
        supersedes=None,
    )
    await insert_foreign_entry(live, clock, "notice.published", body, origin)
    return notice_id


def _subject(kind: str) -> bytes | None:
    from federation.core.entry import SUBJECT_TYPES

    return bytes(32) if kind in SUBJECT_TYPES else None


async def insert_foreign_entry(
    live: Any,
    clock: Any,
    kind: str,
    body: dict[str, Any],
    origin: str = "fr-sbdu",
    *,
    flagged: bool = False,
    audience: tuple[str, ...] = ("de-bafa",),
) -> str | None:
    """An entry of `origin` (audience: it and `audience`, de-bafa unless given), stored and
    applied as sync would; the reason it was flagged, which must be one if and only if
    `flagged`."""
    from federation.core.entry import Draft
    from federation.storage.log import append_own
    from federation.storage.tables import EntryRow
    from keys.canonical import canonical_bytes
    from keys.ed25519 import KeyPair
    from service.derivation import derive

    foreign_key = KeyPair.generate()
    to = tuple(sorted({*audience, origin}))
    async with live.db.write() as session:
        [sealed] = await append_own(
            session,
            federation=live.node.identity.federation,
            origin=origin,
            # an amendment's or revocation's subject: a hash no publication here has
            drafts=[Draft(kind, canonical_bytes(body), to, clock(), _subject(kind))],
            signer=lambda _type: foreign_key,
            checkpoint_key=foreign_key,
            now=clock(),
        )
        entry = await session.get(EntryRow, (origin, sealed.seq))
        assert entry is not None
        await derive(session, [entry])
        await session.refresh(entry)
        assert entry.flagged is flagged, entry.flag_reason
        return entry.flag_reason


def large_notice(reference: str, *, size: int = 255 * 1024) -> dict[str, Any]:
    """A valid notice whose JSON is about `size` bytes, near the 256 KiB limit of an entry's
    content: items with the longest descriptions the schema allows (4,000 characters)."""
    words = ("interception", "monitoring", "centre", "software", "licence", "network", "probe")
    items = []
    while 4100 * (len(items) + 1) <= size and len(items) < 100:
        n = len(items)
        text = " ".join(f"{words[(n + k) % len(words)]}-{k}" for k in range(400))[:4000]
        items.append({"control_entry": "5A001.j", "description": text, "quantity": "1"})
    return notice(reference=reference, items=items)
