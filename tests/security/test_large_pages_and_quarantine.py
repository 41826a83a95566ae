"""Two attacks on sync through real `denex serve` processes on 127.0.0.1 (issue 11, items 4
and 6), sharing one federation of three nodes: de-bafa serves behind a fault proxy (its card
names the proxy's address), fr-sbdu and nl-cdiu serve directly.

* Large entries: de-bafa's log holds 40 notices of ~251 KiB content (the largest a notice
  entry may carry), ~13.7 MB as one page of 1000. A server capping pages by count only
  served that as one answer the client refuses over 8 MiB: sync was stuck for good. Now fr
  syncs them and nl syncs them relayed from fr (`denex sync`), in pages under 8 MiB.
* A quarantine flood: de-bafa's entry pages are forged on the way (each fails
  verification) while the test sends fr a push hint signed with de-bafa's own key every
  second for ~10 s, as de-bafa's operator could. fr's quarantine of de-bafa stays within
  its bounds, keeps the newest, counts the rest, and its database does not grow past one
  quarantine item.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from federation.network.client import PeerAuth
from federation.storage.quarantine import QUARANTINE_BYTES, QUARANTINE_ITEM_BYTES, QUARANTINE_ROWS
from keys.custody import load_key
from keys.ed25519 import KeyPair
from tests.faultproxy import Fault, FaultProxy
from tests.forgery import tamper_page
from tests.service.notice_data import large_notice
from tests.system.conftest import HOST, PASSPHRASE, free_port, init_node, node_env, ok
from tests.system.test_federation import Member

pytestmark = pytest.mark.system

LARGE = 40  # notices of ~251 KiB content each
MIB = 1024 * 1024


class Trio:
    def __init__(self, de: Member, fr: Member, nl: Member, proxy: FaultProxy, root: Path):
        self.de, self.fr, self.nl, self.proxy, self.root = de, fr, nl, proxy, root


@pytest.fixture(scope="module")
def trio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trio]:
    root = tmp_path_factory.mktemp("pages")
    env = node_env(insecure_keys=True, DENEX_INSECURE_DEV_HTTP="1", DENEX_SYNC_INTERVAL="3600")
    de_port = free_port()
    with FaultProxy(de_port) as proxy:
        nodes = (
            ("de-bafa", "DE", de_port, proxy.port),
            ("fr-sbdu", "FR", free_port(), None),
            ("nl-cdiu", "NL", free_port(), None),
        )

        def made(node_id: str, country: str, port: int, url_port: int | None) -> Member:
            node = init_node(
                root / node_id, node_id=node_id, country=country, env=dict(env),
                url=f"http://{HOST}:{url_port or port}",
            )  # fmt: skip
            return Member(node, port)

        with ThreadPoolExecutor(3) as pool:  # the CLI's start-up is most of the set-up
            members = {
                n[0]: m for n, m in zip(nodes, pool.map(lambda n: made(*n), nodes), strict=True)
            }
            cards = dict(
                zip(
                    members,
                    pool.map(lambda m: ok(m.node.run("node", "card")).stdout, members.values()),
                    strict=True,
                )
            )

            def befriend(node_id: str) -> None:
                member = members[node_id]
                for other, card in cards.items():
                    if other != node_id:
                        path = root / f"{node_id}-{other}.card"
                        path.write_text(card)
                        ok(member.node.run("peer", "add", str(path), "--yes"))

            list(pool.map(befriend, members))
            members["de-bafa"].node.create_token("officer")
        trio = Trio(members["de-bafa"], members["fr-sbdu"], members["nl-cdiu"], proxy, root)
        try:
            yield trio
        finally:
            for member in members.values():
                member.stop()


def test_a_log_of_maximum_size_notices_syncs_and_relays(trio: Trio) -> None:
    de, fr, nl = trio.de, trio.fr, trio.nl
    notices = trio.root / "large.jsonl"
    bodies = [large_notice(f"DE-LARGE-{n}") for n in range(LARGE)]
    notices.write_text("".join(json.dumps(b) + "\n" for b in bodies))
    assert all(len(json.dumps(b)) > 250 * 1024 for b in bodies)  # > 13 MB as one page
    ok(de.node.run("notice", "import", str(notices)))
    de.serve(trio.root / "de.log")

    pulled = fr.node.run("sync", "--peer", "de-bafa")
    assert pulled.returncode == 0, pulled.stderr
    assert _synced(pulled.stderr) >= LARGE + 1  # (de-bafa may have witnessed fr-sbdu's log)
    ids = fr.notices("de-bafa")
    assert len(ids) == LARGE

    fr.serve(trio.root / "fr.log")
    relayed = nl.node.run("sync", "--peer", "fr-sbdu")  # de-bafa's log, from fr-sbdu
    assert relayed.returncode == 0, relayed.stderr
    assert _synced(relayed.stderr) >= LARGE + 1
    assert nl.notices("de-bafa") == ids


def _synced(stderr: str) -> int:
    """How many entries of de-bafa a `denex sync` brought, checkpoint verified (or fail)."""
    found = re.search(r"de-bafa 0 -> (\d+) \(\+\1\) checkpoint verified ok", stderr)
    assert found is not None, stderr
    return int(found.group(1))


def _signing_key(member: Member) -> KeyPair:
    """The member's signing key, from its data dir (what its operator holds)."""
    [path] = (member.node.data_dir / "keys").glob("signing-*.pem")
    return load_key(path, PASSPHRASE.encode(), allow_unencrypted=True)


def _db_bytes(member: Member) -> int:
    return sum(p.stat().st_size for p in member.node.data_dir.glob("node.db*"))


PREFILLED = 19  # items of an earlier attack, 210 KiB each: the next one passes 4 MiB


def test_a_peer_flooding_bad_pages_and_hints_fills_a_bounded_quarantine(trio: Trio) -> None:
    de, fr = trio.de, trio.fr
    if de.process is None:  # (run on its own, without the sync test)
        de.serve(trio.root / "de.log")
    fr.stop()
    earlier = datetime.now(UTC) - timedelta(hours=1)
    with sqlite3.connect(fr.node.data_dir / "node.db") as db:
        db.executemany(
            "INSERT INTO quarantine (peer, origin, start, reason, data, at) VALUES (?,?,?,?,?,?)",
            [
                ("de-bafa", "de-bafa", n, f"earlier {n}", b"x" * 210 * 1024,
                 (earlier + timedelta(seconds=n)).strftime("%Y-%m-%d %H:%M:%S.%f"))
                for n in range(PREFILLED)
            ],
        )  # fmt: skip
        held = db.execute("SELECT size FROM logs WHERE origin = 'de-bafa'").fetchall()
    db.close()
    before = _db_bytes(fr)

    # every entry page from de-bafa fails verification: the content of its first entry is
    # changed on the way (the fault proxy rewrites each answer of a kept-alive connection)
    trio.proxy.mode = Fault("rewrite", edit=lambda doc: tamper_page(doc, 0, "content"))
    for n in range(8):  # pages of ~2.7 MB; a quarantine item keeps 256 KiB of one
        r = de.officer("POST", "/api/v1/notices", large_notice(f"DE-FLOOD-{n}"))
        assert r.status_code == 201, r.text
    fr.serve(trio.root / "fr-flood.log")
    auth = PeerAuth(_signing_key(de))
    sent = 0
    with httpx.Client(auth=auth, timeout=10) as client:
        for _ in range(9):
            r = client.post(f"{fr.url}/federation/v1/hint", json={"origin": "de-bafa", "size": 99})
            assert r.status_code == 202, r.text
            sent += 1
            time.sleep(1.1)
    alert = _quarantine_alert(fr)
    fr.stop()
    trio.proxy.mode = Fault()

    with sqlite3.connect(fr.node.data_dir / "node.db") as db:
        kept = db.execute(
            "SELECT reason, length(data), at FROM quarantine WHERE peer = 'de-bafa' ORDER BY id"
        ).fetchall()
        [(dropped,)] = db.execute(
            "SELECT quarantine_dropped FROM peer_sync WHERE peer = 'de-bafa'"
        ).fetchall()
        after = db.execute("SELECT size FROM logs WHERE origin = 'de-bafa'").fetchall()
    db.close()
    assert after == held  # nothing of the bad pages stored
    assert len(kept) <= QUARANTINE_ROWS
    assert sum(length + len(reason) for reason, length, _at in kept) <= QUARANTINE_BYTES
    new = [k for k in kept if not k[0].startswith("earlier")]
    assert len(new) == 1, kept  # one item a minute per peer and origin
    assert new[0] == kept[-1] and 0 < new[0][1] <= QUARANTINE_ITEM_BYTES  # the newest is kept
    assert "earlier 0" not in [k[0] for k in kept]  # the oldest made room for it
    assert dropped >= sent // 2, (dropped, sent)  # the other bad answers: only counted
    assert f"; {dropped} more were only counted" in alert, alert
    assert _db_bytes(fr) - before <= 2 * QUARANTINE_ITEM_BYTES, (before, _db_bytes(fr))


def _quarantine_alert(member: Member) -> str:
    r = httpx.get(
        f"{member.url}/api/v1/peers",
        headers={"Authorization": f"Bearer {member.node.tokens['admin']}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    [peer] = [p for p in r.json()["items"] if p["node_id"] == "de-bafa"]
    [alert] = [a for a in peer["status"]["alerts"] if "quarantined" in a]
    return str(alert)
