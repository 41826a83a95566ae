"""An origin that shows two nodes different histories (DESIGN §4), with real processes.

nl-cdiu's data directory is copied after its first notice; the original and the copy (same
keys) each import a different second notice, so the same seqs carry different entries. The
original serves fr-sbdu, the copy serves de-bafa, at the same address. When de-bafa then
syncs from fr-sbdu, nl-cdiu's checkpoint in fr-sbdu's answer contradicts de-bafa's copy:
de-bafa freezes nl-cdiu, keeps both origin-signed checkpoints as evidence and raises an alert.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.service.notice_data import notice
from tests.system.conftest import HOST, free_port, init_node, node_env, ok
from tests.system.test_federation import Member

pytestmark = pytest.mark.system


@pytest.fixture
def three(tmp_path: Path) -> Iterator[dict[str, Member]]:
    env = node_env(insecure_keys=True, DENEX_INSECURE_DEV_HTTP="1", DENEX_SYNC_INTERVAL="3600")
    members: dict[str, Member] = {}
    for node_id, country in (("nl-cdiu", "NL"), ("fr-sbdu", "FR"), ("de-bafa", "DE")):
        port = free_port()
        node = init_node(
            tmp_path / node_id, node_id=node_id, country=country, env=dict(env),
            url=f"http://{HOST}:{port}",
        )  # fmt: skip
        node.create_token("officer")
        members[node_id] = Member(node, port)
    for node_id, member in members.items():
        for other_id, other in members.items():
            if other_id != node_id:
                card = tmp_path / f"{other_id}.card"
                card.write_text(ok(other.node.run("node", "card")).stdout)
                ok(member.node.run("peer", "add", str(card), "--yes"))
    try:
        yield members
    finally:
        for member in members.values():
            member.stop()


def _import(member: Member, path: Path, reference: str) -> None:
    path.write_text(json.dumps(notice(reference=reference)) + "\n")
    ok(member.node.run("notice", "import", str(path)))


def test_an_equivocating_origin_is_caught_and_frozen_with_evidence(
    three: dict[str, Member], tmp_path: Path
) -> None:
    nl, fr, de = three["nl-cdiu"], three["fr-sbdu"], three["de-bafa"]
    _import(nl, tmp_path / "first.jsonl", "NL-FIRST")
    fork_dir = tmp_path / "nl-fork"
    shutil.copytree(nl.node.data_dir, fork_dir)
    fork = Member(type(nl.node)(fork_dir, nl.node.env, None, dict(nl.node.tokens)), nl.port)
    _import(nl, tmp_path / "a.jsonl", "NL-TOLD-TO-FR")
    _import(fork, tmp_path / "b.jsonl", "NL-TOLD-TO-DE")

    nl.serve(tmp_path / "nl.log")
    ok(fr.node.run("sync", "--peer", "nl-cdiu"))
    nl.stop()
    fork.serve(tmp_path / "fork.log")
    ok(de.node.run("sync", "--peer", "nl-cdiu"))
    fork.stop()

    fr.serve(tmp_path / "fr.log")
    caught = de.node.run("sync", "--peer", "fr-sbdu")
    assert caught.returncode == 1
    assert "nl-cdiu" in caught.stderr and "equivocation" in caught.stderr, caught.stderr

    de.serve(tmp_path / "de.log")
    admin = {"Authorization": f"Bearer {de.node.tokens['admin']}"}
    peers = httpx.get(f"{de.url}/api/v1/peers", headers=admin, timeout=30).json()["items"]
    [status] = [p["status"] for p in peers if p["node_id"] == "nl-cdiu"]
    assert any(alert.startswith("equivocation") for alert in status["alerts"]), status
    # nl-cdiu's later entries are refused from anyone; what was verified before stays
    again = de.node.run("sync", "--peer", "fr-sbdu")
    assert "frozen" in again.stderr
    assert len(de.notices("nl-cdiu")) == 2
