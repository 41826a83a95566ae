"""Watching real nodes (decision 0023): two `denex serve` processes that sync on their own,
de-bafa reached through a fault-injecting proxy (tests/faultproxy.py). Their `/metrics` show
the federation as it goes: in step, then a lying path (de-bafa's pages forged on the way:
lag and a quarantined answer), then a clean one (lag back to 0, a recent success); entries
per origin equal to the logs' sizes, nothing frozen, appends going, each screening timed.
Their JSON logs are JSON on every line, start-up included; the Grafana dashboard queries
only metrics that a real node exposes. Apart: "serving on" comes once the port is bound,
with one worker or several, and several workers count their requests together.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.faultproxy import Fault, FaultProxy
from tests.forgery import tamper_page
from tests.metrics_text import Scrape
from tests.service.notice_data import application
from tests.system.conftest import DENEX, HOST, NodeDir, free_port, init_node, node_env, ok
from tests.system.test_federation import Member

pytestmark = pytest.mark.system

DASHBOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "denex-node.json"
RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
STOP_KINDS = {"checking", "restored", "different_copy", "equivocation"}


def scrape(member: Member) -> Scrape:
    r = httpx.get(f"{member.url}/metrics", timeout=10)
    assert r.status_code == 200, r.text
    return Scrape(r.text)


def until(
    check: Callable[[], Scrape | None], what: str, member: Member, timeout: float = 30
) -> Scrape:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found is not None:
            return found
        time.sleep(0.2)
    last = [line for line in scrape(member).text.splitlines() if "_bucket" not in line]
    pytest.fail(f"timed out waiting for {what}; its /metrics:\n" + "\n".join(last))


def in_step(de: Member, fr: Member) -> Scrape | None:
    """fr's scrape once fr holds all of de's log and de all of fr's (None before)."""
    theirs, ours = scrape(de), scrape(fr)
    for origin in ("de-bafa", "fr-sbdu"):
        held = (
            ours.value("denex_log_entries", origin=origin),
            theirs.value("denex_log_entries", origin=origin),
        )
        if held[0] is None or held[0] != held[1]:
            return None
    lags = [*ours.labelled("denex_sync_lag_entries", "origin").values()]
    return ours if lags and not any(lags) else None


def json_lines(path: Path) -> list[dict[str, Any]]:
    """Every line of a `denex serve` log, each parsed as JSON (the test fails on one that
    is not), with its timestamp checked."""
    entries = []
    for line in path.read_text().splitlines():
        entry = json.loads(line)
        assert RFC3339_MS.match(entry["ts"]), line
        assert {"level", "logger", "message"} <= set(entry), line
        entries.append(entry)
    return entries


@dataclass
class Watched:
    de: Member
    fr: Member
    logs: dict[str, Path]
    lying: threading.Event = field(default_factory=threading.Event)
    stages: dict[str, Scrape] = field(default_factory=dict)
    de_final: Scrape | None = None

    def forge(self, page: dict[str, Any]) -> None:
        """The proxy's rewrite of de-bafa's entry pages: a forged signature while `lying`
        (set for the whole run: a connection kept alive keeps the mode it started with)."""
        if self.lying.is_set():
            tamper_page(page, 0, "signature")


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Watched]:
    tmp = tmp_path_factory.mktemp("watch")
    env = node_env(
        insecure_keys=True,
        DENEX_INSECURE_DEV_HTTP="1",
        DENEX_SYNC_INTERVAL="2",  # besides hints, which a receiver may drop (one a second)
        DENEX_LOG_FORMAT="json",
    )
    de_port, fr_port = free_port(), free_port()
    with FaultProxy(de_port) as proxy:
        de = Member(
            init_node(tmp / "de", node_id="de-bafa", env=dict(env),
                      url=f"http://{HOST}:{proxy.port}"),
            de_port,
        )  # fmt: skip
        fr = Member(
            init_node(tmp / "fr", node_id="fr-sbdu", country="FR", env=dict(env),
                      url=f"http://{HOST}:{fr_port}"),
            fr_port,
        )  # fmt: skip
        for member, other in ((de, fr), (fr, de)):
            member.node.create_token("officer")
            card = tmp / f"{other.node.data_dir.name}.card"
            card.write_text(ok(other.node.run("node", "card")).stdout)
            ok(member.node.run("peer", "add", str(card), "--yes"))
        watched = Watched(de, fr, {"de": tmp / "de.log", "fr": tmp / "fr.log"})
        proxy.mode = Fault("rewrite", edit=watched.forge)
        try:
            de.serve(watched.logs["de"])
            fr.serve(watched.logs["fr"])
            _run(watched)
            yield watched
        finally:
            de.stop()
            fr.stop()


def ready(member: Member) -> Scrape | None:
    """Its scrape once it may append (the start-up check of the peers' copies is done)."""
    r = httpx.get(f"{member.url}/readyz", timeout=10)
    return scrape(member) if r.status_code == 200 else None


def _run(w: Watched) -> None:
    de, fr = w.de, w.fr
    for member in (de, fr):
        until(lambda member=member: ready(member), "appends to start", member)
    fr.publish("FR-WATCH-1")
    w.stages["in step"] = until(lambda: in_step(de, fr), "the two nodes to sync", fr)

    w.lying.set()
    de.publish("DE-WATCH-1")
    de.publish("DE-WATCH-2")  # de hints fr, which pulls through the lying path

    def lied_to() -> Scrape | None:
        s = scrape(fr)
        lag = s.value("denex_sync_lag_entries", origin="de-bafa")
        return s if lag == 2 and s.value("denex_quarantine_stored", peer="de-bafa") else None

    w.stages["lied to"] = until(lied_to, "fr to see de's new entries it could not verify", fr)

    w.lying.clear()
    de.publish("DE-WATCH-3")  # another hint: fr pulls again, cleanly
    w.stages["clean"] = until(lambda: in_step(de, fr), "fr to catch up through a clean path", fr)

    r = fr.officer("POST", "/api/v1/screenings", application())
    assert r.status_code == 201, r.text
    w.stages["screened"] = scrape(fr)
    w.de_final = scrape(de)


def test_lag_and_quarantine_follow_a_lying_then_a_clean_path(watched: Watched) -> None:
    in_step, lied, clean = (watched.stages[k] for k in ("in step", "lied to", "clean"))
    assert in_step.value("denex_sync_lag_entries", origin="de-bafa") == 0
    assert in_step.value("denex_quarantine_stored", peer="de-bafa") == 0

    held = lied.value("denex_log_entries", origin="de-bafa")
    assert held == in_step.value("denex_log_entries", origin="de-bafa")  # nothing forged kept
    assert lied.value("denex_quarantine_stored", peer="de-bafa") == 1

    assert clean.value("denex_sync_lag_entries", origin="de-bafa") == 0
    assert clean.value("denex_log_entries", origin="de-bafa") == (held or 0) + 3
    kept = clean.value("denex_quarantine_stored", peer="de-bafa")  # kept for inspection
    assert kept is not None and kept >= 1  # one a minute; rounds every 2 s add to "dropped"
    age = clean.value("denex_peer_last_success_age_seconds", peer="de-bafa")
    assert age is not None and 0 <= age < 30
    newest = clean.value("denex_quarantine_newest_age_seconds", peer="de-bafa")
    assert newest is not None and newest < 60


def test_entries_equal_the_logs_nothing_frozen_appends_go_screenings_timed(
    watched: Watched,
) -> None:
    clean, screened, de = watched.stages["clean"], watched.stages["screened"], watched.de_final
    assert de is not None
    for origin in ("de-bafa", "fr-sbdu"):
        assert screened.value("denex_log_entries", origin=origin) == de.value(
            "denex_log_entries", origin=origin
        )
    for node in (screened, de):
        assert node.labelled("denex_appends_stopped", "reason") == dict.fromkeys(STOP_KINDS, 0)
        assert set(node.labelled("denex_log_frozen", "origin").values()) == {0}
        assert node.labelled("denex_consultations_overdue", "direction") == {"in": 0, "out": 0}
    assert clean.value("denex_screening_duration_seconds_count") == 0
    assert screened.value("denex_screening_duration_seconds_count") == 1
    assert screened.value("denex_screening_index_notices") == 4  # fr's one and de's three
    peer_age = de.value("denex_peer_last_success_age_seconds", peer="fr-sbdu")
    assert peer_age is not None and peer_age < 60


def test_the_dashboard_queries_only_metrics_a_real_node_exposes(watched: Watched) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    assert len(exprs) >= 15
    exposed = watched.stages["screened"].names
    used = set()
    for expr in exprs:
        names = set(re.findall(r"\bdenex_[a-z_]+\b", expr))
        assert names, expr
        used |= names
    assert used - exposed == set()
    uncharted = {n for n in exposed if not n.endswith("_created")} - used
    assert uncharted <= {"denex_http_request_duration_seconds_count",
                         "denex_http_request_duration_seconds_sum"}  # fmt: skip


def test_every_line_of_the_json_log_is_json_start_up_included(watched: Watched) -> None:
    fr_lines = json_lines(watched.logs["fr"])
    de_lines = json_lines(watched.logs["de"])
    messages = [e["message"] for e in fr_lines]
    running = next(i for i, m in enumerate(messages) if m.startswith("Uvicorn running on"))
    [serving] = [i for i, m in enumerate(messages) if m.startswith("denex node serving on")]
    assert serving > running and fr_lines[serving]["url"] == watched.fr.url
    assert any(m.startswith("Application startup complete") for m in messages[:serving])

    access = [e for e in fr_lines if e["logger"] == "denex.access"]
    callers = {(e["caller"], e.get("peer")) for e in access}
    assert {("peer", "de-bafa"), ("officer", None), ("anonymous", None)} <= callers
    for entry in access:
        assert set(entry) >= {"method", "path", "status", "duration_ms", "caller"}
        assert "?" not in entry["path"]
    [screened] = [e for e in access if e["path"] == "/api/v1/screenings"]
    assert (screened["method"], screened["status"]) == ("POST", 201)

    warned = [e for e in fr_lines if e["level"] == "warning" and e["logger"] == "denex.sync"]
    assert any("de-bafa" in e["message"] for e in warned)  # the forged page, as a JSON line
    text = watched.logs["fr"].read_text() + watched.logs["de"].read_text()
    for node in (watched.fr.node, watched.de.node):
        for token in node.tokens.values():
            assert token not in text
    assert "Severny" not in text  # no notice content at info level
    assert de_lines


# --- "serving on", with one worker and with several ---------------------------------------------


def _serve_json(node: NodeDir, port: int, workers: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(DENEX), "serve", "--data-dir", str(node.data_dir), "--host", HOST,
         "--port", str(port), "--workers", str(workers)],
        env={**node.env, "DENEX_LOG_FORMAT": "json"},
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


@pytest.mark.parametrize("workers", [1, 2])
def test_serving_on_comes_once_the_port_is_bound(fresh_node: NodeDir, workers: int) -> None:
    """A client that connects as soon as the line appears gets through; the line comes once
    whatever the number of workers; with several, every scrape counts every worker's
    requests (any worker may answer it)."""
    port = free_port()
    process = _serve_json(fresh_node, port, workers)
    seen: list[str] = []
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            assert line, f"denex serve ended before serving:\n{''.join(seen)}"
            seen.append(line)
            if "denex node serving on" in line:
                with socket.create_connection((HOST, port), timeout=2):
                    pass  # refused if the line came before the port was bound
                break
        else:
            pytest.fail("no 'serving on' line within 60 s")
        fresh = httpx.Limits(max_keepalive_connections=0)  # a connection, a worker, a request
        with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=10, limits=fresh) as client:
            for _ in range(30):
                assert client.get("/healthz").status_code == 200
            for _ in range(8):
                counted = Scrape(client.get("/metrics").text)
                healthz = counted.value(
                    "denex_http_requests_total", method="GET", route="/healthz", status="200"
                )
                assert healthz == 30
    finally:
        process.terminate()
        rest = process.communicate(timeout=30)[1]
    lines = [*seen, *rest.splitlines(keepends=True)]
    assert process.returncode == 0, "".join(lines)
    entries = [json.loads(line) for line in lines if line.strip()]
    assert all(RFC3339_MS.match(e["ts"]) for e in entries)
    assert sum(e["message"].startswith("denex node serving on") for e in entries) == 1
