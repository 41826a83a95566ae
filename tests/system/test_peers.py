"""The roster from the command line, between two real nodes (DESIGN §2, §5, §10).

`denex node card` of one node is fed to `denex peer add` of another (from a file and on
stdin), `peer list` shows it, refusals are one line and write nothing, and `denex serve`
answers the federation API only to requests signed with an active peer's signing key.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from federation.network.client import PeerAuth
from keys.card import verify_card
from keys.custody import load_key
from tests.peers import Partner
from tests.system.conftest import (
    DENEX,
    PASSPHRASE,
    NodeDir,
    ServeFactory,
    assert_one_line_error,
    init_node,
    ok,
)

pytestmark = pytest.mark.system

LOGS = "/federation/v1/logs"


def peer_add(
    node: NodeDir, *args: str | Path, stdin: bytes | None = None
) -> subprocess.CompletedProcess[str]:
    """`denex peer add ARGS` with `stdin` (closed when None)."""
    return subprocess.run(
        [str(DENEX), "peer", "add", *(str(a) for a in args), "--data-dir", str(node.data_dir)],
        env=node.env,
        input=stdin.decode() if stdin is not None else None,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def roster(node: NodeDir) -> dict[str, list[str]]:
    """`denex peer list`: node id -> the other columns."""
    lines = ok(node.run("peer", "list")).stdout.splitlines()
    assert lines[0].split()[:3] == ["node", "id", "status"]
    return {line.split()[0]: line.split()[1:] for line in lines[1:]}


def test_a_node_card_is_added_listed_and_removed(fresh_node: NodeDir, tmp_path: Path) -> None:
    partner = init_node(tmp_path / "fr", node_id="fr-sbdu", country="FR")
    card_text = ok(partner.run("node", "card")).stdout
    card = verify_card(card_text.strip().encode())
    card_file = tmp_path / "fr-sbdu.card"
    card_file.write_text(card_text)

    # Without --yes and nobody to answer: nothing is written.
    refused = peer_add(fresh_node, card_file)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert card.fingerprint in refused.stderr
    assert roster(fresh_node) == {}

    # Answering "n" writes nothing either; "y" adds it.
    assert peer_add(fresh_node, card_file, stdin=b"n\n").returncode != 0
    assert roster(fresh_node) == {}
    added = ok(peer_add(fresh_node, card_file, stdin=b"y\n"))
    for shown in ("fr-sbdu", "System test authority fr-sbdu", "https://fr-sbdu.denex.example",
                  "AG,EU,HRI,MTCR,NSG,WA", card.fingerprint):  # fmt: skip
        assert shown in added.stderr, added.stderr
    assert added.stdout == ""
    [status, version, regimes, url, *fingerprint] = roster(fresh_node)["fr-sbdu"]
    assert (status, version, url) == ("active", "1", "https://fr-sbdu.denex.example")
    assert regimes == "AG,EU,HRI,MTCR,NSG,WA" and " ".join(fingerprint) == card.fingerprint

    line = assert_one_line_error(peer_add(fresh_node, card_file, "--yes"), prefix="denex: error:")
    assert "already in the roster" in line

    ok(fresh_node.run("peer", "remove", "fr-sbdu"))
    assert roster(fresh_node)["fr-sbdu"][0] == "removed"
    line = assert_one_line_error(fresh_node.run("peer", "remove", "fr-sbdu"))
    assert "already removed" in line
    assert "not in the roster" in assert_one_line_error(fresh_node.run("peer", "remove", "jp-meti"))

    # Re-added from stdin, with the regimes this node's admin confirms.
    ok(peer_add(fresh_node, "-", "--yes", "--regimes", "WA,EU", stdin=card_text.encode()))
    assert roster(fresh_node)["fr-sbdu"][:3] == ["active", "1", "EU,WA"]


@pytest.mark.parametrize(
    ("case", "mentions"),
    [
        ("own-card", "own card"),
        ("other-federation", "federation"),
        ("not-a-card", "not a valid node card"),
        ("missing-file", "cannot read card"),
        ("bad-regimes", "regimes"),
    ],
)
def test_refusals_are_one_line_and_write_nothing(
    fresh_node: NodeDir, tmp_path: Path, case: str, mentions: str
) -> None:
    path = tmp_path / "card.json"
    args: list[str | Path] = [path, "--yes"]
    if case == "own-card":
        path.write_text(ok(fresh_node.run("node", "card")).stdout)
    elif case == "other-federation":
        path.write_bytes(Partner.make("fr-sbdu", federation="other.test").card())
    elif case == "not-a-card":
        path.write_text('{"hello": "world"}')
    elif case == "bad-regimes":
        path.write_bytes(Partner.make("fr-sbdu", federation="denex.system.test").card())
        args += ["--regimes", "WA,NOPE"]
    line = assert_one_line_error(peer_add(fresh_node, *args), prefix="denex: error:")
    assert mentions in line
    assert roster(fresh_node) == {}


def test_served_federation_api_answers_only_signed_active_peers(
    fresh_node: NodeDir, tmp_path: Path, served_node: ServeFactory
) -> None:
    partner = init_node(tmp_path / "fr", node_id="fr-sbdu", country="FR")
    card_text = ok(partner.run("node", "card")).stdout
    ok(peer_add(fresh_node, "-", "--yes", stdin=card_text.encode()))
    [signing] = verify_card(card_text.strip().encode()).body["signing_keys"]
    key = load_key(
        partner.data_dir / "keys" / f"signing-{signing['key_id'][:16]}.pem",
        PASSPHRASE.encode(),
        allow_unencrypted=False,
    )
    served = served_node(node=fresh_node)
    with served.client() as client:
        r = client.get(LOGS, auth=PeerAuth(key))
        assert r.status_code == 200, r.text
        assert [head["origin"] for head in r.json()] == ["de-bafa"]
        assert client.get(LOGS).status_code == 401
        assert client.get(LOGS, headers=served.auth("admin")).status_code == 401
        stranger = Partner.make("jp-meti", federation="denex.system.test")
        assert client.get(LOGS, auth=PeerAuth(stranger.signing)).status_code == 401

        ok(fresh_node.run("peer", "remove", "fr-sbdu"))
        deadline = time.monotonic() + 5  # the serving process sees it within a second
        while (r := client.get(LOGS, auth=PeerAuth(key))).status_code == 200:
            assert time.monotonic() < deadline, "a removed peer is still answered"
            time.sleep(0.1)
        assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"

        r = client.get("/api/v1/peers", headers=served.auth("admin"))
        assert r.status_code == 200
        [peer] = r.json()["items"]
        assert peer["node_id"] == "fr-sbdu" and peer["removed_at"] is not None


def test_a_card_on_stdin_without_yes_and_without_a_terminal_is_refused(
    fresh_node: NodeDir, tmp_path: Path
) -> None:
    card = Partner.make("fr-sbdu", federation="denex.system.test").card()
    result = subprocess.run(
        [str(DENEX), "peer", "add", "-", "--data-dir", str(fresh_node.data_dir)],
        env=fresh_node.env,
        input=card.decode(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        start_new_session=True,  # no controlling terminal to ask on
    )
    assert "pass --yes" in assert_one_line_error(result, prefix="denex: error:")
    assert roster(fresh_node) == {}
