"""Sync between real node processes through a fault-injecting proxy (tests/faultproxy.py):
corrupted, cut-short, dropped, oversized and slow answers, and entry pages forged as a lying
peer would. Nothing of a bad answer is stored, the reason is reported, and once the path is
clean the copies converge and verify."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from keys.custody import load_key
from keys.ed25519 import KeyPair
from tests.faultproxy import Fault, FaultProxy
from tests.forgery import HOWS, tamper_page
from tests.system.conftest import HOST, PASSPHRASE, free_port, init_node, node_env, ok
from tests.system.test_federation import Member

pytestmark = pytest.mark.system


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Member, Member, FaultProxy]]:
    """de-bafa serves behind a proxy (its card names the proxy's address); fr-sbdu syncs."""
    env = node_env(insecure_keys=True, DENEX_INSECURE_DEV_HTTP="1", DENEX_SYNC_INTERVAL="3600")
    serve_port = free_port()
    with FaultProxy(serve_port) as proxy:
        de = Member(
            init_node(
                tmp_path / "de", node_id="de-bafa", env=dict(env),
                url=f"http://{HOST}:{proxy.port}",
            ),
            serve_port,
        )  # fmt: skip
        fr_port = free_port()
        fr = Member(
            init_node(
                tmp_path / "fr", node_id="fr-sbdu", country="FR", env=dict(env),
                url=f"http://{HOST}:{fr_port}",
            ),
            fr_port,
        )  # fmt: skip
        de.node.create_token("officer")
        for member, other in ((de, fr), (fr, de)):
            card = tmp_path / f"{other.node.data_dir.name}.card"
            card.write_text(ok(other.node.run("node", "card")).stdout)
            ok(member.node.run("peer", "add", str(card), "--yes"))
        de.serve(tmp_path / "de.log")
        try:
            yield de, fr, proxy
        finally:
            de.stop()


def _entries(member: Member, origin: str) -> str:
    result = ok(member.node.run("verify-log", "--origin", origin))
    return result.stdout + result.stderr


# an entry page padded past the 8 MiB page limit (valid JSON, only too big) however few
# entries are asked for: the client asks again with smaller limits down to one entry, then
# refuses the page (a single entry's page is over 1,500 bytes, the `GET /logs` answer under)
FAULTS = [
    Fault("corrupt"),
    Fault("truncate", keep=300),
    Fault("drop"),
    Fault("inflate", larger_than=1_500),
]


def test_a_faulty_path_stores_nothing_then_a_clean_one_converges(
    pair: tuple[Member, Member, FaultProxy],
) -> None:
    """For each fault in turn: new notices at de-bafa, a sync through the faulty path that
    stores none of them and says so, then a clean sync that brings all of them."""
    de, fr, proxy = pair
    published: set[str] = set()
    for round_, fault in enumerate(FAULTS):
        before = fr.notices("de-bafa")
        published |= {de.publish(f"DE-{round_}-{n}") for n in range(12)}
        proxy.mode = fault
        bad = fr.node.run("sync", "--peer", "de-bafa")
        assert bad.returncode == 1, (fault, bad.stderr)
        assert "problem" in bad.stderr.splitlines()[-1], (fault, bad.stderr)
        assert fr.notices("de-bafa") == before, fault

        proxy.mode = Fault()
        good = ok(fr.node.run("sync", "--peer", "de-bafa"))
        size = 1 + 12 * (round_ + 1)
        assert f"-> {size} " in good.stderr and "checkpoint verified ok" in good.stderr, good.stderr
        assert fr.notices("de-bafa") == published
        assert f"{size} entries" in _entries(fr, "de-bafa")


def test_a_slow_path_is_only_slow(pair: tuple[Member, Member, FaultProxy]) -> None:
    de, fr, proxy = pair
    published = {de.publish(f"DE-SLOW-{n}") for n in range(3)}
    proxy.mode = Fault("delay", seconds=0.3)
    started = time.monotonic()
    result = ok(fr.node.run("sync", "--peer", "de-bafa"))
    assert time.monotonic() - started >= 0.3
    assert "checkpoint verified ok" in result.stderr
    assert fr.notices("de-bafa") == published


def _signing_key(member: Member) -> KeyPair:
    """The member's signing key, from its data dir (what a thief of that key would hold)."""
    [path] = (member.node.data_dir / "keys").glob("signing-*.pem")
    return load_key(path, PASSPHRASE.encode(), allow_unencrypted=True)


def test_a_lying_peer_forges_pages_and_nothing_of_them_is_stored(
    pair: tuple[Member, Member, FaultProxy],
) -> None:
    """Between real processes, de-bafa's answers rewritten on the way as a lying peer would
    (tests/forgery.py): a forged signature, a wrong leaf, content that does not match its
    hash, a gap, entries out of order, entries validly signed for another origin or another
    federation. Each sync stores nothing of the page and reports a problem (naming the
    origin or federation claimed); the honest path then brings everything."""
    de, fr, proxy = pair
    key = _signing_key(de)
    published = {de.publish(f"DE-LIE-{n}") for n in range(3)}
    for how in HOWS:

        def forge(doc: dict[str, object], how: str = how) -> None:
            tamper_page(doc, 1, how, key)

        proxy.mode = Fault("rewrite", edit=forge)
        bad = fr.node.run("sync", "--peer", "de-bafa")
        assert bad.returncode == 1, (how, bad.stderr)
        assert "problem" in bad.stderr.splitlines()[-1], (how, bad.stderr)
        if how in ("origin", "federation"):  # validly signed: refused for what it claims
            assert how in bad.stderr, (how, bad.stderr)
        assert fr.notices("de-bafa") == set(), how

    proxy.mode = Fault()
    good = ok(fr.node.run("sync", "--peer", "de-bafa"))
    assert "checkpoint verified ok" in good.stderr, good.stderr
    assert fr.notices("de-bafa") == published
    assert "4 entries" in _entries(fr, "de-bafa")
