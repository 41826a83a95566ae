"""Witness cosignatures in evidence bundles (DESIGN §9): a node keeps the cosignatures its
peers show on its copy of a log, and the bundle of a notice carries those of its checkpoint
with the witnesses' cards. An auditor at fr-sbdu proves de-bafa's denial against de-bafa's
card and nl-cdiu's cosignature; every omission or substitution among them fails."""

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from federation.core import note
from keys.canonical import canonical_bytes
from service.cli.main import main
from service.evidence.verify import EvidenceError, Report, Witnesses, verify_bundle
from tests.nodes import FakeClock, LiveNode
from tests.service.evidence.bundles import amended_notice_bundle, node_card
from tests.sync_peers import sync_once, trio


@pytest.fixture
async def cosigned(
    make_node: Callable[..., Awaitable[LiveNode]], clock: FakeClock
) -> tuple[dict[str, Any], bytes, bytes, bytes]:
    """fr-sbdu's bundle of de-bafa's notice, cosigned by nl-cdiu; and the cards of de-bafa,
    nl-cdiu and fr-sbdu."""
    de, fr, nl = await trio(make_node)
    nid, _own = await amended_notice_bundle(de)
    for puller in (fr, nl):
        assert (await sync_once(puller, de, clock)).error is None
    # nl shows its cosigned copy of de's log; fr knows nl's keys once it holds nl's log
    for _round in range(2):
        assert (await sync_once(fr, nl, clock)).error is None
    r = await fr.client.get(f"/api/v1/evidence/de-bafa/{nid}", headers=fr.auth("auditor"))
    assert r.status_code == 200, r.text
    return json.loads(r.content), await node_card(de), await node_card(nl), await node_card(fr)


def _verify(
    doc: dict[str, Any], origin: bytes, *witnesses: bytes, minimum: int | None = None
) -> Report:
    return verify_bundle(
        canonical_bytes(doc), trusted_cards=[origin], witnesses=Witnesses(witnesses, minimum)
    )


def _without_lines(checkpoint: str, name: str) -> str:
    parsed = note.parse(checkpoint)
    kept = tuple(s for s in parsed.signatures if s.name != name)
    return note.Note(parsed.text, kept).render()


async def test_the_bundle_carries_the_witness_cosignature_and_it_verifies(
    cosigned: tuple[dict[str, Any], bytes, bytes, bytes],
) -> None:
    doc, de_card, nl_card, _fr_card = cosigned
    assert len(doc["witness_cards"]) == 1
    assert "\u2014 denex.test/nl-cdiu " in doc["checkpoint"]
    report = _verify(doc, de_card, nl_card)
    [cosignature] = report.cosignatures
    assert (cosignature.witness, cosignature.trusted) == ("nl-cdiu", True)
    text = "\n".join(report.lines)
    assert "cosigned by witness nl-cdiu" in text and "matches a --witness card" in text
    assert "ignored a signature line" not in text
    # without --witness the cosignature still verifies, under the bundle's card only
    [untrusted] = _verify(doc, de_card).cosignatures
    assert untrusted.trusted is False


async def test_every_omission_or_substitution_among_cosignatures_fails(
    cosigned: tuple[dict[str, Any], bytes, bytes, bytes],
) -> None:
    doc, de_card, nl_card, fr_card = cosigned
    line = "denex.test/nl-cdiu"
    no_line = {**doc, "checkpoint": _without_lines(doc["checkpoint"], line)}
    with pytest.raises(EvidenceError, match="carries none by witness nl-cdiu"):
        _verify(no_line, de_card, nl_card)
    no_card = {**doc, "witness_cards": []}
    with pytest.raises(EvidenceError, match=r"1 required from the --witness cards, 0 verified"):
        _verify(no_card, de_card, nl_card)
    neither = {**no_line, "witness_cards": []}
    with pytest.raises(EvidenceError, match="1 required from the --witness cards, 0 verified"):
        _verify(neither, de_card, nl_card)
    # the cosignature's bytes changed (a timestamp moved by one second): it no longer verifies
    parsed = note.parse(doc["checkpoint"])
    [sig] = [s for s in parsed.signatures if s.name == line]
    moved = sig.signature[:7] + bytes([sig.signature[7] ^ 1]) + sig.signature[8:]
    forged = [
        s if s is not sig else note.Signature(s.name, s.key_id, moved) for s in parsed.signatures
    ]
    changed = {**doc, "checkpoint": note.Note(parsed.text, tuple(forged)).render()}
    with pytest.raises(EvidenceError, match=r"cosignature by nl-cdiu: .*does not verify"):
        _verify(changed, de_card, nl_card)
    # another member's card in the witness's place
    swapped = {**doc, "witness_cards": [fr_card.decode()]}
    with pytest.raises(EvidenceError, match="carries none by witness fr-sbdu"):
        _verify(swapped, de_card, nl_card)
    # the origin's own card as a witness
    own = {**doc, "witness_cards": [de_card.decode()]}
    with pytest.raises(EvidenceError, match="not another member"):
        _verify(own, de_card)
    # more cosignatures asked for than witnesses trusted, or than cosigned
    with pytest.raises(EvidenceError, match="2 required, but only 1 --witness cards given"):
        _verify(doc, de_card, nl_card, minimum=2)
    with pytest.raises(EvidenceError, match="2 required from the --witness cards, 1 verified"):
        _verify(doc, de_card, nl_card, fr_card, minimum=2)
    with pytest.raises(EvidenceError, match="its root key is not the --witness card's"):
        _verify({**doc, "witness_cards": [nl_card.decode()]}, de_card, _renamed(fr_card))


def _renamed(card: bytes) -> bytes:
    """A card of another root key claiming to be nl-cdiu."""
    from keys.card import card_body, make_card
    from keys.ed25519 import KeyPair

    impostor = KeyPair.generate()
    body = card_body(
        federation="denex.test",
        node_id="nl-cdiu",
        country="NL",
        name="impostor",
        url="https://x.example",
        root_key=impostor.public,
        signing_keys=[impostor.public],
        regimes=["WA"],
        card_version=1,
        issued_at="2026-12-05T00:00:00Z",
    )
    assert card
    return make_card(body, impostor)


async def test_the_cli_checks_witnesses_and_says_who_cosigned(
    cosigned: tuple[dict[str, Any], bytes, bytes, bytes],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    doc, de_card, nl_card, fr_card = cosigned
    paths = {}
    for name, data in (("bundle", canonical_bytes(doc)), ("de", de_card), ("nl", nl_card)):
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_bytes(data)
    paths["fr"] = tmp_path / "fr.json"
    paths["fr"].write_bytes(fr_card)
    base = ["verify", str(paths["bundle"]), "--trust", str(paths["de"])]
    assert await asyncio.to_thread(main, [*base, "--witness", str(paths["nl"])]) == 0
    out = capsys.readouterr().out
    assert "checkpoint cosigned by witness nl-cdiu" in out and "VERIFIED" in out
    argv = [*base, "--witness", str(paths["nl"]), "--witness", str(paths["fr"])]
    assert await asyncio.to_thread(main, argv) == 1
    assert "FAILED: cosignatures: 2 required from the --witness cards, 1 verified" in (
        capsys.readouterr().out
    )
    assert await asyncio.to_thread(main, [*argv, "--min-cosignatures", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["verified"] is True
    assert [(c["witness"], c["trusted"]) for c in report["cosignatures"]] == [("nl-cdiu", True)]


async def test_a_nodes_own_bundle_carries_its_peers_cosignatures(
    make_node: Callable[..., Awaitable[LiveNode]], clock: FakeClock
) -> None:
    de, fr, nl = await trio(make_node)
    nid, _bundle = await amended_notice_bundle(de)
    for witness in (fr, nl):
        assert (await sync_once(witness, de, clock)).error is None
        for _round in range(2):  # de learns the witness's keys, then keeps its cosignature
            assert (await sync_once(de, witness, clock)).error is None
    r = await de.client.get(f"/api/v1/evidence/{nid}", headers=de.auth("auditor"))
    assert r.status_code == 200, r.text
    witnesses = Witnesses([await node_card(fr), await node_card(nl)])
    report = verify_bundle(r.content, trusted_cards=[await node_card(de)], witnesses=witnesses)
    assert sorted(c.witness for c in report.cosignatures) == ["fr-sbdu", "nl-cdiu"]
