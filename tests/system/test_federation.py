"""Three real nodes on 127.0.0.1 (separate data dirs, SQLite files and `denex serve`
processes) that add each other by card and sync (DESIGN §5): what one publishes reaches the
others verified, it still reaches them through a third node while its origin is down, and the
background loop of `denex serve` converges without anyone running `denex sync`.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

import httpx
import pytest

from tests.service.notice_data import application, notice
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

T = TypeVar("T")

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

    def officer(self, method: str, path: str, body: object = None) -> httpx.Response:
        return httpx.request(
            method,
            f"{self.url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.node.tokens['officer']}"},
            timeout=30,
        )

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
    # nl's log: entry 0 and three notices, and perhaps a witness entry (nl's loop pulls from
    # fr when fr starts and hints it)
    relayed = re.search(
        r"fr-sbdu: nl-cdiu 0 -> ([45]) \(\+\1\) checkpoint verified ok", result.stderr
    )
    assert relayed is not None, result.stderr
    assert "nl-cdiu: GET" in result.stderr
    assert de.notices("nl-cdiu") == ids == fr.notices("nl-cdiu")

    # running it again changes nothing
    again = de.node.run("sync", "--peer", "fr-sbdu")
    assert again.returncode == 0 and "synced: 0 new entries, 0 problem(s)" in again.stderr


def _eventually(check: Callable[[], T | None], what: str, timeout: float = 30) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found is not None:
            return found
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}")


def test_serve_loops_carry_denials_then_a_consultation_its_answer_and_an_approval(
    federation: dict[str, Member], tmp_path: Path
) -> None:
    """No `denex sync` anywhere: the background loops of two `denex serve` processes carry a
    denial to the partner, which screens an application, consults the denier, receives its
    answer and files the approval notification (DESIGN §5, §7)."""
    de, fr = federation["de-bafa"], federation["fr-sbdu"]
    for member in (de, fr):
        member.node.env["DENEX_SYNC_INTERVAL"] = "1"
        member.node.env["DENEX_SCREENING_INTERVAL"] = "0.5"
    de.serve(tmp_path / "de.log")
    fr.serve(tmp_path / "fr.log")
    published = {de.publish("DE-LOOP-1"), de.publish("DE-LOOP-2")}
    _eventually(lambda: fr.notices("de-bafa") == published or None, "fr to hold de's notices")
    notice_id = sorted(published)[0]

    def screened() -> dict[str, Any] | None:
        r = fr.officer("POST", "/api/v1/screenings", application())
        assert r.status_code == 201, r.text
        found = [m for m in r.json()["matches"] if m["notice_id"] == notice_id]
        return dict(r.json()) if found and found[0]["verdict"] == "consult" else None

    screening = _eventually(screened, "fr-sbdu to match de-bafa's denial")
    r = fr.officer(
        "POST",
        "/api/v1/consultations",
        {
            "screening_id": screening["screening_id"],
            "notice_id": notice_id,
            "summary": "monitoring centre, Belarus",
            "message": "Do you maintain your objection?",
        },
    )
    assert r.status_code == 201, r.text
    consultation_id = r.json()["consultation_id"]

    def received() -> list[Any] | None:
        items = de.officer("GET", "/api/v1/consultations?direction=in").json()["items"]
        return items or None

    [asked] = _eventually(received, "de-bafa to receive the consultation")
    assert asked["consultation_id"] == consultation_id and asked["requester"] == "fr-sbdu"
    r = de.officer(
        "POST",
        f"/api/v1/consultations/{consultation_id}/answer",
        {"position": "no_objection", "message": "The end user has been re-assessed."},
    )
    assert r.status_code == 200, r.text

    def answered() -> str | None:
        [item] = fr.officer("GET", "/api/v1/consultations?direction=out").json()["items"]
        return item["position"]  # type: ignore[no-any-return]

    assert _eventually(answered, "fr-sbdu to receive the answer") == "no_objection"
    r = fr.officer(
        "POST",
        "/api/v1/approvals",
        {
            "notice_id": notice_id,
            "consultation_id": consultation_id,
            "licence_ref": "SBDU-LIC-1",
            "decided_on": "2026-11-28",
            "explanation": "No objection from the denier.",
        },
    )
    assert r.status_code == 201, r.text

    def notified() -> list[Any] | None:
        return de.officer("GET", "/api/v1/approvals").json()["items"] or None

    [approval] = _eventually(notified, "de-bafa to receive the approval notification")
    assert (approval["origin"], approval["licence_ref"]) == ("fr-sbdu", "SBDU-LIC-1")
