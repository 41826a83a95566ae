"""Three real nodes on 127.0.0.1 (separate data dirs, SQLite files and `denex serve`
processes) that add each other by card and sync (DESIGN §5): what one publishes reaches the
others verified, it still reaches them through a third node while its origin is down, and the
background loop of `denex serve` converges without anyone running `denex sync`.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx
import pytest

from tests.service.notice_data import notice
from tests.system.conftest import (
    DENEX,
    HOST,
    NodeDir,
    free_port,
    init_node,
    node_env,
    ok,
)

pytestmark = pytest.mark.system

NODES = (("de-bafa", "DE"), ("fr-sbdu", "FR"), ("nl-cdiu", "NL"))


@dataclass
class Member:
    node: NodeDir
    port: int
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def serve(self, log: Path) -> None:
        if self.log is not None:
            self.log.close()
        out = self.log = log.open("wb")
        self.process = subprocess.Popen(
            [str(DENEX), "serve", "--data-dir", str(self.node.data_dir), "--host", HOST,
             "--port", str(self.port)],
            env=self.node.env, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        pytest.fail(f"{self.url} did not start:\n{log.read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        if self.log is not None:
            self.log.close()

    def publish(self, reference: str) -> str:
        r = httpx.post(
            f"{self.url}/api/v1/notices",
            json=notice(reference=reference),
            headers={"Authorization": f"Bearer {self.node.tokens['officer']}"},
            timeout=30,
        )
        assert r.status_code == 201, r.text
        return str(r.json()["notice_id"])

    def notices(self, origin: str) -> set[str]:
        """Notice ids of `origin` this node holds (`denex notice export`)."""
        out = ok(self.node.run("notice", "export", "--origin", origin)).stdout
        lines = [json.loads(line) for line in out.splitlines() if line.strip()]
        return {line["notice"]["notice_id"] for line in lines}


@pytest.fixture
def federation(tmp_path: Path) -> Iterator[dict[str, Member]]:
    members: dict[str, Member] = {}
    for node_id, country in NODES:
        port = free_port()
        env = node_env(insecure_keys=True, DENEX_INSECURE_DEV_HTTP="1", DENEX_SYNC_INTERVAL="3600")
        node = init_node(
            tmp_path / node_id, node_id=node_id, country=country, env=env,
            url=f"http://{HOST}:{port}",
        )  # fmt: skip
        node.create_token("officer")
        members[node_id] = Member(node, port)
    cards = {
        node_id: ok(m.node.run("node", "card")).stdout.encode() for node_id, m in members.items()
    }
    for node_id, member in members.items():
        for other, card in cards.items():
            if other != node_id:
                path = tmp_path / f"{other}.card.json"
                path.write_bytes(card)
                ok(member.node.run("peer", "add", str(path), "--yes"))
    try:
        yield members
    finally:
        for member in members.values():
            member.stop()


def test_notices_reach_every_node_and_relay_through_a_third_while_the_origin_is_down(
    federation: dict[str, Member], tmp_path: Path
) -> None:
    de, fr, nl = federation["de-bafa"], federation["fr-sbdu"], federation["nl-cdiu"]
    nl.serve(tmp_path / "nl.log")
    fr.serve(tmp_path / "fr.log")
    ids = {nl.publish(f"NL-{n}") for n in range(3)}

    # fr pulls from nl; then nl goes down
    # (fr's serve loop may already have pulled them, woken by nl's push hint)
    ok(fr.node.run("sync", "--peer", "nl-cdiu"))
    assert fr.notices("nl-cdiu") == ids
    nl.stop()

    # de reaches nl's denials through fr; its own attempt at nl fails and says so
    result = de.node.run("sync")
    assert result.returncode == 1
    assert "fr-sbdu: nl-cdiu 0 -> 4 (+4) checkpoint verified ok" in result.stderr, result.stderr
    assert "nl-cdiu: GET" in result.stderr
    assert de.notices("nl-cdiu") == ids == fr.notices("nl-cdiu")

    # running it again changes nothing
    again = de.node.run("sync", "--peer", "fr-sbdu")
    assert again.returncode == 0 and "synced: 0 new entries, 0 problem(s)" in again.stderr


def test_the_serve_loop_converges_without_a_sync_command(
    federation: dict[str, Member], tmp_path: Path
) -> None:
    de, fr = federation["de-bafa"], federation["fr-sbdu"]
    for member in (de, fr):
        member.node.env["DENEX_SYNC_INTERVAL"] = "1"
    de.serve(tmp_path / "de.log")
    fr.serve(tmp_path / "fr.log")
    published = {de.publish("DE-LOOP-1"), de.publish("DE-LOOP-2")}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if fr.notices("de-bafa") == published:
            break
        time.sleep(0.5)
    assert fr.notices("de-bafa") == published
