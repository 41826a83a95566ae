"""Kept cosignatures (federation.storage.cosignatures): the first per witness and size, and
only on exactly the checkpoint text they cover."""

from datetime import UTC, datetime

from federation.core import checkpoint as cp
from federation.core import note
from federation.core.commitments import LeafChain
from federation.storage import cosignatures
from keys.ed25519 import KeyPair
from tests.nodes import LiveNode

ORIGIN = "denex.test/fr-sbdu"
NOW = datetime(2026, 12, 6, tzinfo=UTC)
ORIGIN_KEY, WITNESS_KEY = KeyPair.generate(), KeyPair.generate()


def _cosigned(head: cp.Checkpoint, timestamp: int) -> tuple[str, note.Signature]:
    text = head.text()
    return text, cp.cosign(text, witness="denex.test/nl-cdiu", key=WITNESS_KEY, timestamp=timestamp)


async def test_the_first_cosignature_is_kept_and_only_its_text_carries_it(live: LiveNode) -> None:
    head = cp.Checkpoint(ORIGIN, 7, b"\x01" * 32, LeafChain(1, b"\x02" * 32), b"\x03" * 32)
    other = cp.Checkpoint(ORIGIN, 7, b"\x01" * 32, LeafChain(1, b"\x02" * 32), b"\x04" * 32)
    text, first = _cosigned(head, 1_000)
    _text, later = _cosigned(head, 2_000)
    async with live.db.write() as session:
        for signature, stamp in ((first, 1_000), (later, 2_000)):
            kept = await cosignatures.keep(
                session, origin="fr-sbdu", size=7, witness="nl-cdiu", checkpoint_text=text,
                signature=signature, timestamp=stamp, now=NOW,
            )  # fmt: skip
            assert kept is (stamp == 1_000)  # the first one only
    signed = cp.sign_checkpoint(head, ORIGIN_KEY)
    async with live.db.read() as session:
        carried, witnesses = await cosignatures.cosigned(session, signed)
        unmatched, none = await cosignatures.cosigned(
            session, cp.sign_checkpoint(other, ORIGIN_KEY)
        )
    assert witnesses == ["nl-cdiu"]
    assert carried == signed + first.line()  # the origin's line, then the kept cosignature
    assert (
        cp.verify_cosignature(
            text, note.parse(carried).signatures[1], public_key=WITNESS_KEY.public
        )
        == 1_000
    )
    assert none == [] and "nl-cdiu" not in unmatched  # another text at that size: not carried
