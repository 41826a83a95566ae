"""What an evidence bundle of a notice is. One RFC 8785 JSON object:

{"format": "denex-evidence/v2", "federation", "origin", "notice_id",
 "card": <the origin's node card, JCS text>,
 "checkpoint": <a checkpoint of the origin's log, C2SP signed note with its `keys` line
                (decision 0032), and the witnesses' cosignature lines (tlog-cosignature v1)>,
 "size": <that checkpoint's size>,
 "versions": [<entry of the notice, as federation.core.evidence carries entries>...],
 "key_statements": [... every key.* entry below `size`, same shape ...],
 "notice_map": <the map proof of the notice's key, or null when the checkpoint has no
                `notices` line: {"bucket": [[b64 key, count, b64 chain]...], "path": [...]}>,
 "witnessed": [] (reserved: the earliest cosigned checkpoint covering each version),
 "witness_cards": [<the card of each witness whose cosignature the checkpoint carries>...],
 "horizon": <what the bundle proves and what it cannot>}
"""

FORMAT = "denex-evidence/v2"
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
        "notice_map",
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
        "about entries after that checkpoint. issued_at is the origin's own word; a witness's "
        "cosignature on the checkpoint attests only that the log held it by the time the "
        "witness states."
    )
