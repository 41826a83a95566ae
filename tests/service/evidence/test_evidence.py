"""Evidence bundles: built by the node, verified offline; any changed byte is caught."""

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keys.card import card_body, make_card
from keys.ed25519 import KeyPair, b64, unb64
from service.cli.main import main
from service.evidence.verify import EvidenceError, verify_bundle
from tests.nodes import FakeClock, LiveNode
from tests.service.evidence.bundles import amended_notice_bundle, node_card
from tests.sync_peers import sync_once


async def test_a_bundle_verifies_and_says_what_it_checked(live: LiveNode) -> None:
    nid, bundle = await amended_notice_bundle(live)
    report = verify_bundle(bundle, trusted_cards=[await node_card(live)])
    text = "\n".join(report.lines)
    assert "matches a trusted card" in text
    assert text.count("of de-bafa: notice.") == 3  # published, amended, revoked
    assert "key.added signed by the root key" in text
    assert "size 5" in text and "proves what the log of de-bafa held up to size 5" in text
    assert json.loads(bundle)["notice_id"] == nid


async def test_without_trust_the_report_says_it_trusted_the_bundle_card(live: LiveNode) -> None:
    _nid, bundle = await amended_notice_bundle(live)
    report = verify_bundle(bundle)
    assert any("NOT independently trusted" in line for line in report.lines)


async def test_a_card_of_another_root_key_is_not_trusted(live: LiveNode) -> None:
    _nid, bundle = await amended_notice_bundle(live)
    impostor = KeyPair.generate()
    fake = make_card(
        card_body(
            federation="denex.test",
            node_id="de-bafa",
            country="DE",
            name="x",
            url="https://x.example",
            root_key=impostor.public,
            signing_keys=[impostor.public],
            regimes=["WA"],
            card_version=1,
            issued_at="2026-11-28T00:00:00Z",
        ),
        impostor,
    )
    with pytest.raises(EvidenceError, match="matches none of the --trust cards"):
        verify_bundle(bundle, trusted_cards=[fake])


async def test_any_single_byte_change_fails_verification(live: LiveNode) -> None:
    _nid, bundle = await amended_notice_bundle(live)
    verify_bundle(bundle)

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.integers(0, len(bundle) - 1), st.integers(1, 255))
    def changed(position: int, mask: int) -> None:
        data = bytearray(bundle)
        data[position] ^= mask
        with pytest.raises(EvidenceError):
            verify_bundle(bytes(data))

    changed()


async def test_failures_name_the_part_that_broke(live: LiveNode) -> None:
    _nid, bundle = await amended_notice_bundle(live)
    doc = json.loads(bundle)
    from keys.canonical import canonical_bytes

    proof = doc["versions"][1]["inclusion"]
    first = bytearray(unb64(proof[0]))
    first[0] ^= 0x01  # still canonical base64, now the wrong hash
    proof[0] = b64(bytes(first))
    with pytest.raises(EvidenceError, match=r"entry \d+ of de-bafa: inclusion"):
        verify_bundle(canonical_bytes(doc))
    with pytest.raises(EvidenceError, match="not in RFC 8785 canonical form"):
        verify_bundle(json.dumps(json.loads(bundle), indent=1).encode())


async def test_evidence_of_unknown_notice_is_404(live: LiveNode) -> None:
    r = await live.client.get(
        "/api/v1/evidence/01a22304-5433-75ea-a131-2c7f58ea962a", headers=live.auth("auditor")
    )
    assert r.status_code == 404


async def test_the_cli_writes_and_verifies_a_bundle(
    make_node: Callable[..., Awaitable[LiveNode]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    live = await make_node("de-bafa")  # SQLite: the CLI finds it by its data dir
    nid, _bundle_bytes = await amended_notice_bundle(live)
    out, card = tmp_path / "bundle.json", tmp_path / "card.json"
    card.write_bytes(await node_card(live))
    data_dir = str(live.settings.data_dir)
    code = await asyncio.to_thread(main, ["evidence", nid, "-o", str(out), "--data-dir", data_dir])
    assert code == 0
    assert await asyncio.to_thread(main, ["verify", str(out), "--trust", str(card)]) == 0
    assert "VERIFIED" in capsys.readouterr().out
    # without a card to trust: the report, then a failure, unless the auditor allows it
    assert await asyncio.to_thread(main, ["verify", str(out)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert "NOT independently trusted" in lines[0]
    assert lines[-1].startswith("FAILED: card: no --trust card given")
    assert await asyncio.to_thread(main, ["verify", str(out), "--allow-untrusted"]) == 0
    assert "NOT independently trusted" in capsys.readouterr().out
    # ORIGIN/NOTICE_ID names the same notice (DESIGN §9); another origin's is not this one
    by_pair = tmp_path / "by-pair.json"
    argv = ["evidence", f"de-bafa/{nid}", "-o", str(by_pair), "--data-dir", data_dir]
    assert await asyncio.to_thread(main, argv) == 0
    assert by_pair.read_bytes() == out.read_bytes()
    argv = ["evidence", f"fr-sbdu/{nid}", "-o", str(by_pair), "--data-dir", data_dir]
    assert await asyncio.to_thread(main, argv) == 1
    assert f"no notice fr-sbdu/{nid}" in capsys.readouterr().err
    tampered = bytearray(out.read_bytes())
    tampered[len(tampered) // 2] ^= 0x01
    out.write_bytes(bytes(tampered))
    assert await asyncio.to_thread(main, ["verify", str(out)]) == 1
    assert "FAILED:" in capsys.readouterr().out


async def test_a_version_must_be_an_entry_of_the_notice(live: LiveNode) -> None:
    """The log's proof holds for any entry; the service refuses what is not this notice's."""
    from keys.canonical import canonical_bytes

    _nid, bundle = await amended_notice_bundle(live)
    doc = json.loads(bundle)
    doc["versions"] = [doc["key_statements"][0]]
    with pytest.raises(
        EvidenceError, match=r"entry 0 of de-bafa: key\.added is not a notice entry"
    ):
        verify_bundle(canonical_bytes(doc))
    doc = json.loads(bundle)
    doc["notice_id"] = "N-OTHER"
    with pytest.raises(EvidenceError, match=r"entry \d+ of de-bafa: it is not an entry of notice"):
        verify_bundle(canonical_bytes(doc))
    doc["versions"][0]["content"] = None
    with pytest.raises(EvidenceError, match="the bundle lacks the content") as failed:
        verify_bundle(canonical_bytes(doc))
    assert failed.value.report is not None and failed.value.report.size is not None


async def test_a_partners_notice_has_evidence_at_the_node_that_synced_it(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    """An auditor at fr-sbdu proves de-bafa's denial, amended and revoked, against de-bafa's
    card: every version, to the newest checkpoint of de-bafa's log that fr-sbdu verified."""
    a, b = pair
    nid, own_bundle = await amended_notice_bundle(b)
    report = await sync_once(a, b, clock)
    assert report.error is None
    r = await a.client.get(f"/api/v1/evidence/de-bafa/{nid}", headers=a.auth("auditor"))
    assert r.status_code == 200, r.text
    assert r.content == own_bundle  # the same proof, whichever node holds the log
    verified = verify_bundle(r.content, trusted_cards=[await node_card(b)])
    assert verified.card_trusted is True
    assert [v.type for v in verified.versions] == [
        "notice.published",
        "notice.amended",
        "notice.revoked",
    ]
    with pytest.raises(EvidenceError, match="matches none of the --trust cards"):
        verify_bundle(r.content, trusted_cards=[await node_card(a)])
    # a notice of fr-sbdu's own that de-bafa never pulled: not held there
    r = await b.client.get(f"/api/v1/evidence/fr-sbdu/{nid}", headers=b.auth("auditor"))
    assert r.status_code == 404, r.text


async def test_a_checkpoint_without_commitments_fails_unless_allowed(
    live: LiveNode, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A checkpoint from before decision 0032 commits to no key statements: everything in the
    bundle still verifies, but `denex verify` fails unless --allow-incomplete is given."""
    from federation.core import checkpoint as cp
    from federation.core import note
    from keys.canonical import canonical_bytes

    _nid, bundle = await amended_notice_bundle(live)
    doc = json.loads(bundle)
    head = cp.parse_text(note.parse(doc["checkpoint"]).text)
    assert head.keys is not None and head.keys.count == 1
    old = cp.Checkpoint(head.origin, head.size, head.root)  # as signed before decision 0032
    doc["checkpoint"] = cp.sign_checkpoint(old, live.node.signing)
    doc["notice_map"] = None
    report = verify_bundle(canonical_bytes(doc), trusted_cards=[await node_card(live)])
    assert report.keys_complete is False
    assert any("completeness NOT proven" in line for line in report.lines)

    out, card = tmp_path / "old.json", tmp_path / "card.json"
    out.write_bytes(canonical_bytes(doc))
    card.write_bytes(await node_card(live))
    argv = ["verify", str(out), "--trust", str(card)]
    assert await asyncio.to_thread(main, argv) == 1
    assert "FAILED: completeness: nothing proves that no key statement or version" in (
        capsys.readouterr().out
    )
    assert await asyncio.to_thread(main, [*argv, "--allow-incomplete"]) == 0
    assert "VERIFIED" in capsys.readouterr().out


async def test_a_version_left_out_fails_against_the_map_of_notice_heads(live: LiveNode) -> None:
    """Decision 0032: the checkpoint's map of notice heads says how many versions the notice
    has below it, so a bundle without its amendment or its revocation fails."""
    from keys.canonical import canonical_bytes

    _nid, bundle = await amended_notice_bundle(live)
    card = await node_card(live)
    report = verify_bundle(bundle, trusted_cards=[card])
    assert report.versions_complete is True and report.keys_complete is True
    assert any(
        "all 3 that the checkpoint's map of notice heads holds" in line for line in report.lines
    )
    doc = json.loads(bundle)
    for left_out in (1, 2):  # the amendment, the revocation
        trimmed = {**doc, "versions": [v for i, v in enumerate(doc["versions"]) if i != left_out]}
        with pytest.raises(
            EvidenceError, match="holds 3 versions of this notice, the bundle carries 2: 1 left out"
        ):
            verify_bundle(canonical_bytes(trimmed), trusted_cards=[card])
    only_published = {**doc, "versions": doc["versions"][:1]}
    with pytest.raises(EvidenceError, match="carries 1: 2 left out"):
        verify_bundle(canonical_bytes(only_published), trusted_cards=[card])
    with pytest.raises(EvidenceError, match="notice map: "):
        verify_bundle(canonical_bytes({**doc, "notice_map": None}), trusted_cards=[card])
    lowered = json.loads(bundle)
    for item in lowered["notice_map"]["bucket"]:
        item[1] = 2  # the map says 2 versions: its path no longer leads to the root
    with pytest.raises(EvidenceError, match="notice map: "):
        verify_bundle(canonical_bytes(lowered), trusted_cards=[card])
    reordered = {**doc, "versions": [doc["versions"][0], doc["versions"][2], doc["versions"][1]]}
    with pytest.raises(EvidenceError, match="in seq order, once each"):
        verify_bundle(canonical_bytes(reordered), trusted_cards=[card])
