"""Attacks on sync by a hostile roster member, against two real honest nodes (de-bafa and
fr-sbdu, `denex serve` with `DENEX_SYNC_INTERVAL=2`), and what stops each:

* a split view — the member shows each honest node another history of its own log, both
  signed with its real key: both freeze it with the evidence within a few rounds once both
  are up (back-off scales with the interval; a node hints its peers when it starts, and a
  valid hint ends a peer's back-off; DESIGN §5);
* a peer down for a round is tried again within about one interval, and its hint ends any
  longer back-off at once;
* a member that cosigns notes that are not the origin's checkpoint cannot make a stopped
  origin's log look fresh (DESIGN §4, freshness): the staleness alert stays;
* a member that claims to hold a million entries of a node's log, with no checkpoint, one
  signed by its own key, or garbage, stops none of its appends (DESIGN §5, recovery), while a
  real restored backup (a peer holding a longer copy the node's key signed) still stops them
  until `denex recover`.

The processes are shared by the tests of this module (one ring, started once), which run in
this order; each test sets the hostile member's answers it needs and starts or restarts
the nodes it needs.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from federation.core.checkpoint import Checkpoint, origin_line, sign_checkpoint
from federation.core.witness import cosigned
from tests.hostile import Hostile
from tests.security.conftest import FEDERATION, Ring, make_ring
from tests.service.notice_data import notice
from tests.system.conftest import ok
from tests.system.test_federation import Member

pytestmark = pytest.mark.system

INTERVAL = 2.0  # DENEX_SYNC_INTERVAL of both honest nodes
STALE_AFTER = 4.0  # DENEX_STALE_AFTER
TICK = 1.0  # the serve loop wakes at least every second
SLACK = 4.0  # process start-up and scheduling on a busy machine
LOGS = "/federation/v1/logs"
ROGUE = f"{LOGS}/aq-rogue"


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ring]:
    made = make_ring(
        tmp_path_factory.mktemp("sync-attacks"),
        "de-bafa",
        "fr-sbdu",
        env={
            "DENEX_SYNC_INTERVAL": str(INTERVAL),
            "DENEX_WITNESS_INTERVAL": "1",
            "DENEX_STALE_AFTER": str(STALE_AFTER),
        },
    )
    yield made
    made.close()


# --- helpers ---------------------------------------------------------------------------------


def _key_prefix(member: Member) -> str:
    """The start of `member`'s signing key id (its key file is `signing-<16 hex>.pem`)."""
    [path] = (member.node.data_dir / "keys").glob("signing-*.pem")
    return path.stem.removeprefix("signing-")


def _signed_by(request: Request, prefix: str) -> bool:
    """Was this request to the hostile server signed with that key (RFC 9421 `keyid`)?"""
    found = re.search(r'keyid="([0-9a-f]+)"', request.headers.get("signature-input", ""))
    return found is not None and found.group(1).startswith(prefix)


def _peers(member: Member) -> dict[str, dict[str, Any]]:
    """`GET /api/v1/peers` of `member`: node id -> sync status."""
    r = httpx.get(
        f"{member.url}/api/v1/peers",
        headers={"Authorization": f"Bearer {member.node.tokens['admin']}"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return {p["node_id"]: p["status"] for p in r.json()["items"]}


def _until(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll `check` until true; return the seconds it took (fail after `timeout`)."""
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < timeout, f"{what}: not within {timeout} s"
        time.sleep(0.1)
    return time.monotonic() - start


def _running(net: Ring, *node_ids: str) -> None:
    """Serve those of `node_ids` that are not running (each test starts what it needs)."""
    for node_id in node_ids:
        process = net[node_id].process
        if process is None or process.poll() is not None:
            net.serve(node_id)


def _holds(net: Ring, member: Member, origin: str) -> dict[str, Any] | None:
    """`member`'s head of `origin`'s log, as its `GET /logs` shows it to a peer."""
    with net.hostile.client() as client:
        heads = client.get(f"{member.url}{LOGS}").json()
    return next((h for h in heads if h["origin"] == origin), None)


def _restart(net: Ring, node_id: str) -> Member:
    member = net[node_id]
    member.stop()
    net.serve(node_id)
    return member


def _readiness(member: Member, timeout: float = 20.0) -> httpx.Response:
    """/readyz once the start-up check is over (ready, or not ready for another reason)."""
    deadline = time.monotonic() + timeout
    while True:
        ready = httpx.get(f"{member.url}/readyz", timeout=5)
        checking = ready.status_code == 503 and "start-up" in ready.json()["detail"]
        if not checking or time.monotonic() > deadline:
            return ready
        time.sleep(0.1)


def _post(member: Member, reference: str) -> httpx.Response:
    return member.officer("POST", "/api/v1/notices", notice(reference=reference))


def _json(doc: Any, status_code: int = 200) -> Response:
    return Response(json.dumps(doc), status_code=status_code, media_type="application/json")


def _serve_log(fork: Hostile, request: Request) -> Response:
    """The protocol's answers from `fork`'s log (one history of the hostile member's log)."""
    if request.url.path == LOGS:
        return fork.logs_answer()
    if request.url.path == f"{ROGUE}/checkpoint":
        return PlainTextResponse(fork.checkpoint(), media_type="text/plain; charset=utf-8")
    start = int(request.query_params.get("start", "0"))
    return fork.page_answer(start, int(request.query_params.get("limit", "1000")))


# --- a split view ------------------------------------------------------------------------------


def test_a_split_view_is_caught_by_both_honest_nodes_within_a_few_rounds(net: Ring) -> None:
    """aq-rogue's log is one entry long; it appends notice A for de-bafa and, at the same
    seq, notice B for fr-sbdu, both signed with its real key. de-bafa starts first and finds
    fr-sbdu down (a failed contact, backed off); once fr-sbdu is up, each must freeze
    aq-rogue with the evidence within three intervals (and the slack of a busy machine)."""
    hostile, de, fr = net.hostile, net["de-bafa"], net["fr-sbdu"]
    other = dataclasses.replace(hostile, entries=list(hostile.entries), received=[])
    hostile.publish(notice(reference="ROGUE-A"), audience=("de-bafa", "fr-sbdu"))
    other.publish(notice(reference="ROGUE-B"), audience=("de-bafa", "fr-sbdu"))
    assert hostile.checkpoint() != other.checkpoint()
    forks = {_key_prefix(de): hostile, _key_prefix(fr): other}

    def split(request: Request) -> Response:
        fork = next((f for key, f in forks.items() if _signed_by(request, key)), None)
        return _serve_log(fork, request) if fork else _json({"title": "unknown"})

    hostile.answers.clear()
    for path in (LOGS, f"{ROGUE}/entries", f"{ROGUE}/checkpoint"):
        hostile.answer(path, split)

    de.stop()
    fr.stop()
    net.serve("de-bafa")
    _until(lambda: _peers(de)["fr-sbdu"]["last_error"] is not None, 15, "de-bafa tried fr-sbdu")
    net.serve("fr-sbdu")
    up = time.monotonic()  # both up from now on

    def frozen(member: Member) -> Callable[[], bool]:
        return lambda: any(
            a.startswith("equivocation") for a in _peers(member)["aq-rogue"]["alerts"]
        )

    took = {}
    for member in (fr, de):
        _until(frozen(member), 30, f"{member.node.data_dir.name} froze aq-rogue")
        took[member.node.data_dir.name] = time.monotonic() - up
    assert max(took.values()) <= 3 * INTERVAL + SLACK, took  # seconds since both were up
    # fr-sbdu told its peers it was up (its log need not have grown): that hint is what ends
    # a back-off they hold against it, however long it was down
    fr_key = _key_prefix(fr)

    def hinted() -> bool:
        hints = hostile.requests_to("/federation/v1/hint")
        return any(f'keyid="{fr_key}' in (h.header("signature-input") or "") for h in hints)

    _until(hinted, 10, "fr-sbdu's hint after start-up")
    for member in (de, fr):
        [alert] = [a for a in _peers(member)["aq-rogue"]["alerts"] if "equivocation" in a]
        assert "checkpoint of aq-rogue at size 2" in alert, alert


# --- back-off --------------------------------------------------------------------------------


def test_a_peer_down_for_a_round_is_retried_within_an_interval_and_a_hint_ends_its_back_off(
    net: Ring,
) -> None:
    hostile, de = net.hostile, net["de-bafa"]
    de_key = _key_prefix(de)
    hostile.answers.clear()
    _running(net, "de-bafa")
    asked: list[float] = []  # when de-bafa asked for /logs

    def down(request: Request) -> Response:
        if _signed_by(request, de_key):
            asked.append(time.monotonic())
        return _json({"title": "down for maintenance"}, status_code=503)

    hostile.answer(LOGS, down)
    seen = len(asked)
    _until(lambda: len(asked) >= seen + 3, 30, "three failed contacts")
    failed = asked[seen : seen + 3]
    # after one failure the next try comes within 1.5 intervals (plus the loop's tick)
    assert failed[1] - failed[0] <= 1.5 * INTERVAL + TICK + 1.0, failed
    # three failures in a row: de-bafa now waits 4 to 12 s; a signed hint ends that
    with hostile.client() as client:
        r = client.post(f"{de.url}/federation/v1/hint", json={"origin": "aq-rogue", "size": 2})
    hinted = time.monotonic()
    assert r.status_code == 202, r.text
    _until(lambda: len(asked) >= seen + 4, 10, "a pull after the hint")
    assert asked[seen + 3] - hinted <= TICK + 1.0, asked
    # still down: the back-off starts again from one failure, not from four
    _until(lambda: len(asked) >= seen + 5, 15, "a try after the next failure")
    assert asked[seen + 4] - asked[seen + 3] <= 1.5 * INTERVAL + TICK + 1.0, asked
    hostile.answers.clear()


# --- freshness -------------------------------------------------------------------------------


def test_cosignatures_on_notes_that_are_not_the_origins_keep_a_stopped_log_stale(
    net: Ring,
) -> None:
    """fr-sbdu stops. aq-rogue relays fr-sbdu's log to de-bafa (the same head as de-bafa's
    copy) and answers `GET .../fr-sbdu/checkpoint` with its own valid cosignature, timestamp
    now, on notes that are not fr-sbdu's checkpoint of that copy: its own checkpoint, one it
    signed under fr-sbdu's name, fr-sbdu's with the root changed. de-bafa keeps fr-sbdu stale."""
    hostile, de, fr = net.hostile, net["de-bafa"], net["fr-sbdu"]
    hostile.answers.clear()
    _running(net, "de-bafa", "fr-sbdu")
    _until(lambda: (_holds(net, de, "fr-sbdu") or {}).get("checkpoint") is not None, 20, "sync")
    fr.stop()
    head = _holds(net, de, "fr-sbdu")  # de-bafa's copy, as it stays while fr-sbdu is down
    assert head is not None
    fr_line = origin_line(FEDERATION, "fr-sbdu")
    root = base64.b64decode(head["root"])
    genuine = head["checkpoint"]
    bogus = [
        hostile.checkpoint(),
        sign_checkpoint(Checkpoint(fr_line, head["size"], root), hostile.signing),
        genuine.replace(head["root"], base64.b64encode(bytes(32)).decode()),
    ]
    served: list[int] = []

    def checkpoint(_request: Request) -> Response:
        text = bogus[len(served) % len(bogus)]
        served.append(len(served))
        now = int(time.time())
        note = cosigned(text, witness=hostile.origin_line, key=hostile.signing, timestamp=now)
        return PlainTextResponse(note, media_type="text/plain; charset=utf-8")

    hostile.answer(LOGS, lambda _request: hostile.logs_answer([head]))
    hostile.answer(f"{LOGS}/fr-sbdu/checkpoint", checkpoint)

    def stale() -> bool:
        return any(a.startswith("stale") for a in _peers(de)["fr-sbdu"]["alerts"])

    _until(stale, STALE_AFTER + 3 * INTERVAL + SLACK, "fr-sbdu stale at de-bafa")
    fresh_at = _peers(de)["fr-sbdu"]["fresh_at"]
    asked = len(served)
    _until(lambda: len(served) >= asked + len(bogus), 30, "each cosigned note asked for")
    status = _peers(de)["fr-sbdu"]
    assert status["fresh_at"] == fresh_at and stale(), status
    hostile.answers.clear()


# --- claims about a node's own log -------------------------------------------------------------


def test_a_size_claim_de_bafa_never_signed_stops_none_of_its_appends(net: Ring) -> None:
    """aq-rogue's `GET /logs` lists de-bafa's log three times, each with a million entries:
    with no checkpoint, with one signed by aq-rogue's key, with garbage."""
    hostile = net.hostile
    line = origin_line(FEDERATION, "de-bafa")
    claims: list[str | None] = [
        None,
        sign_checkpoint(Checkpoint(line, 1_000_000, b"\x09" * 32), hostile.signing),
        "this is not a checkpoint of de-bafa's log",
    ]
    heads = [
        {"origin": "de-bafa", "size": 1_000_000, "root": None, "checkpoint": c} for c in claims
    ]
    hostile.answers.clear()
    hostile.answer(LOGS, lambda _request: hostile.logs_answer(heads))
    _running(net, "fr-sbdu")
    before = len(hostile.requests_to(LOGS))
    de = _restart(net, "de-bafa")
    ready = _readiness(de)
    assert ready.status_code == 200, ready.text
    assert len(hostile.requests_to(LOGS)) > before  # the start-up check asked the liar
    r = _post(de, "AFTER-START")
    assert r.status_code == 201, r.text
    asked = len(hostile.requests_to(LOGS))
    _until(lambda: len(hostile.requests_to(LOGS)) >= asked + 2, 20, "two sync rounds")
    assert httpx.get(f"{de.url}/readyz", timeout=5).status_code == 200
    r = _post(de, "AFTER-ROUNDS")
    assert r.status_code == 201, r.text
    log = net.log_text("de-bafa")
    ignored = [line for line in log.splitlines() if "ignored what aq-rogue says" in line]
    assert len(ignored) >= 3 and all("1000000" in line for line in ignored), log
    assert "ALERT" not in log, log

    recovered = ok(de.node.run("recover"))
    assert "recovered 0 entries; this node appends again" in recovered.stderr
    assert recovered.stderr.count("aq-rogue: ignored what it says of this node's log") == 3
    r = _post(de, "AFTER-RECOVER")
    assert r.status_code == 201, r.text
    hostile.answers.clear()


def test_a_restored_backup_stops_appends_until_denex_recover(net: Ring) -> None:
    """de-bafa comes back from a backup; fr-sbdu holds two more of its entries under
    de-bafa's own checkpoint: appends stop, /readyz says why, `denex recover` fetches them
    back and appends resume at the next seq."""
    de, fr = net["de-bafa"], net["fr-sbdu"]
    net.hostile.answers.clear()
    _running(net, "de-bafa", "fr-sbdu")
    database = de.node.data_dir / "node.db"
    backup = net.tmp / "de-bafa.backup.db"
    with sqlite3.connect(database) as source, sqlite3.connect(backup) as copy:
        source.backup(copy)
    with sqlite3.connect(backup) as copy:
        [(backed_up,)] = copy.execute("SELECT size FROM logs WHERE origin = 'de-bafa'")
    for n in range(2):
        assert _post(de, f"AFTER-BACKUP-{n}").status_code == 201

    def fr_holds() -> int:
        return int((_holds(net, fr, "de-bafa") or {}).get("size", 0))

    _until(lambda: fr_holds() >= backed_up + 2, 20, "fr-sbdu synced de-bafa")
    de.stop()
    held = fr_holds()
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    backup.replace(database)
    net.serve("de-bafa")
    ready = _readiness(de)
    assert ready.status_code == 503
    assert ready.json()["detail"].startswith(
        f"not ready: appends stopped: restored from a backup? fr-sbdu holds {held} entries "
        "of this node's log"
    ), ready.text
    r = _post(de, "TOO-SOON")
    assert r.status_code == 503 and "denex recover" in r.json()["detail"], r.text

    recovered = ok(de.node.run("recover"))
    assert f"recovered {held - backed_up} entries; this node appends again" in recovered.stderr
    assert httpx.get(f"{de.url}/readyz", timeout=5).status_code == 200
    r = _post(de, "AFTER-RECOVERY")
    assert r.status_code == 201, r.text
    assert r.json()["versions"][0]["seq"] == held  # no seq issued twice
