"""`--json` on `token list`, `peer list`, `verify` and `verify-log`: one JSON document on
stdout, the same facts as the text, and the exit status unchanged (decision 0021).

One node (a copy of the template) gets a notice, an evidence bundle, its own card and a
partner in its roster once per module; each test reads it, and the tampering tests damage
copies of it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from keys.canonical import canonical_bytes
from keys.ed25519 import fingerprint
from tests.peers import Partner
from tests.service.notice_data import notice
from tests.system.conftest import NodeDir, clean_env, copy_node, denex, ok

pytestmark = pytest.mark.system

FEDERATION = "denex.system.test"  # the template node's


@dataclass
class Scene:
    node: NodeDir
    notice_id: str
    bundle: Path
    card: Path
    partner: Partner


def parsed(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """stdout is exactly one JSON object; nothing else is on it."""
    document = json.loads(result.stdout)
    assert isinstance(document, dict), result.stdout
    return document


def offline(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """`denex verify` needs no node: no data dir, no DENEX_* variable."""
    return denex(*args, env=clean_env())


def sql(node: NodeDir, statement: str, *args: object) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(node.data_dir / "node.db")) as conn:
        rows = conn.execute(statement, args).fetchall()
        conn.commit()
        return rows


@pytest.fixture(scope="module")
def scene(node_template: NodeDir, tmp_path_factory: pytest.TempPathFactory) -> Scene:
    work = tmp_path_factory.mktemp("json")
    node = copy_node(node_template, work / "node")
    notices = work / "one.jsonl"
    notices.write_text(json.dumps(notice(reference="JSON-0001")) + "\n")
    ok(node.run("notice", "import", notices))
    [(notice_id,)] = sql(node, "SELECT notice_id FROM notices")
    bundle, card = work / "bundle.json", work / "card.json"
    ok(node.run("evidence", notice_id, "--output", bundle))
    card.write_text(ok(node.run("node", "card")).stdout)
    partner = Partner.make("fr-sbdu", federation=FEDERATION)
    partner_card = work / "fr-sbdu.card"
    partner_card.write_bytes(partner.card())
    ok(node.run("peer", "add", partner_card, "--yes", "--regimes", "WA,EU"))
    return Scene(node, notice_id, bundle, card, partner)


def test_token_list_json_has_every_token_with_the_status_the_table_shows(
    scene: Scene, tmp_path: Path
) -> None:
    node = copy_node(scene.node, tmp_path / "node")
    sql(
        node,
        "UPDATE tokens SET revoked_at = '2026-12-01 10:00:00.000000' WHERE name = 'sys-officer'",
    )
    sql(
        node,
        "UPDATE tokens SET expires_at = '2026-12-01 10:00:00.000000' WHERE name = 'first-admin'",
    )
    listed = ok(node.run("token", "list", "--json"))
    items = parsed(listed)["items"]
    assert [(t["name"], t["role"], t["status"]) for t in items] == [
        ("first-admin", "admin", "expired"),
        ("sys-officer", "officer", "revoked"),
    ]
    ids = dict(sql(node, "SELECT name, id FROM tokens"))
    for token in items:
        assert set(token) == {
            "id", "role", "name", "status", "created_at", "expires_at", "revoked_at",
        }  # fmt: skip
        assert token["id"] == ids[token["name"]]
        assert token["created_at"].endswith("+00:00")
    assert items[0]["expires_at"] == "2026-12-01T10:00:00+00:00"
    assert items[1]["revoked_at"] == "2026-12-01T10:00:00+00:00"
    assert not any(secret in listed.stdout for secret in node.tokens.values())

    table = ok(node.run("token", "list")).stdout.splitlines()[1:]
    assert [(line.split()[0], line.split()[-1]) for line in table] == [
        (t["id"], t["status"]) for t in items
    ]


def test_peer_list_json_shows_the_roster(scene: Scene) -> None:
    [peer] = parsed(ok(scene.node.run("peer", "list", "--json")))["items"]
    card = scene.partner
    assert peer == {
        "node_id": "fr-sbdu",
        "name": "Partner authority fr-sbdu",
        "country": "FR",
        "url": card.url,
        "regimes": ["EU", "WA"],
        "status": "active",
        "card_version": 1,
        "fingerprint": fingerprint(card.root.public),
        "added_at": peer["added_at"],
        "removed_at": None,
    }
    assert peer["added_at"].endswith("+00:00")
    table = ok(scene.node.run("peer", "list")).stdout.splitlines()[1]
    assert table.endswith(peer["fingerprint"]), "the fingerprint the table shows"


def test_verify_json_reports_what_verified(scene: Scene) -> None:
    trusted = parsed(ok(offline("verify", scene.bundle, "--trust", scene.card, "--json")))
    assert trusted["verified"] is True and trusted["failures"] == []
    assert (trusted["origin"], trusted["federation"], trusted["notice_id"]) == (
        "de-bafa", FEDERATION, scene.notice_id,
    )  # fmt: skip
    assert trusted["card"]["trusted"] is True
    [version] = trusted["versions"]
    assert (version["type"], version["version"]) == ("notice.published", 1)
    checkpoint = trusted["checkpoint"]
    assert version["seq"] < checkpoint["size"] and len(base64.b64decode(checkpoint["root"])) == 32
    statements = trusted["key_statements"]
    assert statements and all(s["type"].startswith("key.") for s in statements), statements
    assert any(checkpoint["key"][:16] in line for line in trusted["lines"])
    assert trusted["lines"][-1].startswith("This bundle proves what the log of de-bafa held")

    allowed = parsed(ok(offline("verify", scene.bundle, "--allow-untrusted", "--json")))
    assert allowed["verified"] is True
    assert allowed["card"] == {"fingerprint": trusted["card"]["fingerprint"], "trusted": False}
    # without --trust, nothing ties the bundle to de-bafa: not verified unless allowed
    result = offline("verify", scene.bundle, "--json")
    assert result.returncode == 1, result.stderr
    untrusted = parsed(result)
    assert untrusted["verified"] is False and untrusted["card"] == allowed["card"]
    [failure] = untrusted["failures"]
    assert failure["message"].startswith("card: no --trust card given")
    assert untrusted["versions"] == allowed["versions"], "what verified is still reported"


def test_verify_json_of_a_tampered_bundle_says_what_broke_and_exits_1(
    scene: Scene, tmp_path: Path
) -> None:
    bundle = json.loads(scene.bundle.read_bytes())
    bundle["versions"][0]["content"]["body"] = base64.b64encode(b'{"forged":1}').decode()
    tampered = tmp_path / "tampered.json"
    tampered.write_bytes(canonical_bytes(bundle))
    result = offline("verify", tampered, "--trust", scene.card, "--json")
    assert result.returncode == 1, result.stderr
    document = parsed(result)
    assert document["verified"] is False and document["versions"] == []
    [failure] = document["failures"]
    assert failure["message"].startswith(f"entry {bundle['versions'][0]['seq']} of de-bafa")
    assert document["checkpoint"] is not None, "what verified before the break is reported"
    assert document["card"]["trusted"] is True and document["key_statements"]


def test_verify_log_json_reports_the_log(scene: Scene) -> None:
    document = parsed(ok(scene.node.run("verify-log", "--json")))
    [(size, root)] = sql(scene.node, "SELECT size, root FROM logs WHERE origin = 'de-bafa'")
    assert document["verified"] is True and document["failures"] == []
    assert (document["origin"], document["entries"]) == ("de-bafa", size)
    assert document["root"] == base64.b64encode(root).decode()
    assert document["checkpoint"]["size"] == size and len(document["checkpoint"]["key"]) == 64
    assert (document["flagged"], document["invalidated"]) == (0, [])
    assert document["lines"][0].startswith(f"log of de-bafa: {size} entries")


def test_verify_log_json_of_a_tampered_log_says_what_broke_and_exits_1(
    scene: Scene, tmp_path: Path
) -> None:
    node = copy_node(scene.node, tmp_path / "node")
    [(seq,)] = sql(node, "SELECT max(seq) FROM entries WHERE type = 'notice.published'")
    sql(node, "UPDATE entries SET content_body = ? WHERE seq = ?", b'{"forged":1}', seq)
    result = node.run("verify-log", "--json")
    assert result.returncode == 1, result.stderr
    document = parsed(result)
    assert document["verified"] is False and document["root"] is None
    assert document["entries"] == seq, "the entries before the broken one verified"
    [failure] = document["failures"]
    assert failure["message"].startswith(f"entry {seq} of de-bafa")
