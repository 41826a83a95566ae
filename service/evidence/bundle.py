"""What an evidence bundle of a notice is. One RFC 8785 JSON object:

{"format": "denex-evidence/v1", "federation", "origin", "notice_id",
 "card": <the origin's node card, JCS text>,
 "checkpoint": <a checkpoint of the origin's log, C2SP signed note, with cosignatures>,
 "size": <that checkpoint's size>,
 "versions": [<entry of the notice, as federation.core.evidence carries entries>...],
 "key_statements": [... every key.* entry below `size`, same shape ...],
 "witnessed": [{"seq", "checkpoint"}], "witness_cards": [...],
 "horizon": <what the bundle proves and what it cannot>}
"""

FORMAT = "denex-evidence/v1"
FIELDS = frozenset(
    {
        "format",
        "federation",
        "origin",
        "notice_id",
        "card",
        "checkpoint",
        "size",
        "versions",
        "key_statements",
        "witnessed",
        "witness_cards",
        "horizon",
    }
)
MAX_BUNDLE_BYTES = 16 * 1024 * 1024


def horizon(origin: str, size: int) -> str:
    """The bundle's statement of what it proves; fixed text, so that it cannot be edited."""
    return (
        f"This bundle proves what the log of {origin} held up to size {size}: it says nothing "
        "about entries after that checkpoint. issued_at is the origin's own word; no witness "
        "cosignature is included yet, so the time of publication is not independently attested."
    )
