"""`denex serve` as a real process: the notice API over HTTP, concurrent publishers, refusals
to start, and a graceful stop on SIGTERM (DESIGN §8, §10, §11)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.service.notice_data import notice
from tests.system.conftest import (
    PASSPHRASE,
    NodeDir,
    ServeFactory,
    assert_one_line_error,
    denex,
    free_port,
    init_node,
    node_env,
    plain_url,
)

pytestmark = pytest.mark.system

ORIGIN = "de-bafa"
NOTICES = "/api/v1/notices"


# --- reading the database directly, beside the server -------------------------------------------


def query(node: NodeDir, sql_sqlite: str, sql_pg: str, *args: Any) -> list[tuple[Any, ...]]:
    """Run one read query against the node's database (SQLite file or PostgreSQL)."""
    if node.database_url is None:
        with contextlib.closing(sqlite3.connect(node.data_dir / "node.db", timeout=30)) as conn:
            return [tuple(r) for r in conn.execute(sql_sqlite, args).fetchall()]

    async def run() -> list[tuple[Any, ...]]:
        import asyncpg

        conn = await asyncpg.connect(plain_url(node.database_url or ""), timeout=10)
        try:
            return [tuple(r) for r in await conn.fetch(sql_pg, *args)]
        finally:
            await conn.close()

    return asyncio.run(run())


def execute(node: NodeDir, sql: str) -> None:
    """Run one write statement (same text on both databases) against the node's database."""
    if node.database_url is None:
        with contextlib.closing(sqlite3.connect(node.data_dir / "node.db", timeout=30)) as conn:
            conn.execute(sql)
            conn.commit()
        return

    async def run() -> None:
        import asyncpg

        conn = await asyncpg.connect(plain_url(node.database_url or ""), timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def own_entries(node: NodeDir) -> list[tuple[int, str]]:
    rows = query(
        node,
        "SELECT seq, type FROM entries WHERE origin = ? ORDER BY seq",
        "SELECT seq, type FROM entries WHERE origin = $1 ORDER BY seq",
        ORIGIN,
    )
    return [(int(seq), str(kind)) for seq, kind in rows]


def log_size(node: NodeDir) -> int:
    rows = query(
        node,
        "SELECT size FROM logs WHERE origin = ?",
        "SELECT size FROM logs WHERE origin = $1",
        ORIGIN,
    )
    return int(rows[0][0])


def stored_envelope(node: NodeDir, seq: int) -> bytes:
    rows = query(
        node,
        "SELECT envelope FROM entries WHERE origin = ? AND seq = ?",
        "SELECT envelope FROM entries WHERE origin = $1 AND seq = $2",
        ORIGIN,
        seq,
    )
    return bytes(rows[0][0])


def list_all(client: httpx.Client, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    """Every notice via GET /api/v1/notices, following the opaque cursor."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(1000):
        query_params = {**params, **({"cursor": cursor} if cursor else {})}
        response = client.get(NOTICES, params=query_params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    pytest.fail("cursor paging did not end")


# --- the notice API against the real process ----------------------------------------------------


def test_publish_amend_revoke_list_fetch(served_node: ServeFactory, backend: str) -> None:
    served = served_node(backend=backend)
    officer = served.auth("officer")
    with served.client() as client:
        unauthenticated = client.post(NOTICES, json=notice())
        assert unauthenticated.status_code == 401
        assert unauthenticated.headers["content-type"].startswith("application/problem+json")
        bogus = client.get(NOTICES, headers={"Authorization": "Bearer dnx_not-a-real-token"})
        assert bogus.status_code == 401

        first = client.post(NOTICES, json=notice(reference="SYS-0001"), headers=officer)
        assert first.status_code == 201, first.text
        published = first.json()
        notice_id = published["notice_id"]
        assert published["origin"] == ORIGIN
        assert published["version"] == 1
        assert published["status"] == "active"
        assert published["notice"]["reference"] == "SYS-0001"
        assert published["notice"]["items"][0]["control_entry"] == "5A001.j"
        assert [(v["seq"], v["kind"]) for v in published["versions"]] == [(1, "published")]

        invalid = client.post(
            NOTICES, json=notice(decision="approval", destination="Q1"), headers=officer
        )
        assert invalid.status_code == 422
        assert invalid.headers["content-type"].startswith("application/problem+json")
        assert "decision" in invalid.text and "destination" in invalid.text
        assert log_size(served.node) == 2  # entry 0 and the one notice: nothing written

        amended = client.post(
            f"{NOTICES}/{notice_id}/amend",
            json=notice(reference="SYS-0001", valid_until="2030-06-30", destination="RU"),
            headers=officer,
        )
        assert amended.status_code == 200, amended.text
        assert amended.json()["version"] == 2
        assert amended.json()["notice"]["destination"] == "RU"
        assert amended.json()["notice"]["supersedes"] == 1

        second = client.post(NOTICES, json=notice(reference="SYS-0002"), headers=officer)
        assert second.status_code == 201, second.text
        other_id = second.json()["notice_id"]
        assert second.json()["versions"][0]["seq"] == 3

        revoked = client.post(
            f"{NOTICES}/{notice_id}/revoke",
            json={"reason": "licence application withdrawn", "revoked_on": "2026-11-27"},
            headers=officer,
        )
        assert revoked.status_code == 200, revoked.text
        assert revoked.json()["status"] == "revoked"
        again = client.post(
            f"{NOTICES}/{notice_id}/amend", json=notice(reference="SYS-0001"), headers=officer
        )
        assert again.status_code == 409, again.text

        everything = list_all(client, officer, limit=1)
        assert sorted(n["notice_id"] for n in everything) == sorted([notice_id, other_id])
        only_revoked = list_all(client, officer, status="revoked")
        assert [n["notice_id"] for n in only_revoked] == [notice_id]
        only_active = list_all(client, officer, status="active", destination="BY")
        assert [n["notice_id"] for n in only_active] == [other_id]

        fetched = client.get(f"{NOTICES}/{notice_id}", headers=officer)
        assert fetched.status_code == 200, fetched.text
        body = fetched.json()
        assert body["status"] == "revoked"
        assert body["revoked_reason"] == "licence application withdrawn"
        assert body["revoked_on"] == "2026-11-27"
        assert [(v["version"], v["kind"], v["seq"]) for v in body["versions"]] == [
            (1, "published", 1),
            (2, "amended", 2),
            (2, "revoked", 4),
        ]
        for version in body["versions"]:  # exactly the bytes in the log
            assert version["envelope"].encode("utf-8") == stored_envelope(
                served.node, version["seq"]
            )
            envelope = json.loads(version["envelope"])
            assert envelope["payloadType"] == "application/vnd.denex.entry+json; v=1"
            assert len(envelope["signatures"]) == 1

        missing = client.get(f"{NOTICES}/01234567-89ab-7def-8123-456789abcdef", headers=officer)
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")

    assert own_entries(served.node) == [
        (0, "key.added"),
        (1, "notice.published"),
        (2, "notice.amended"),
        (3, "notice.published"),
        (4, "notice.revoked"),
    ]


@pytest.mark.parametrize(
    ("backend", "workers"),
    [
        pytest.param("sqlite", 1, id="sqlite"),
        pytest.param("postgres", 1, id="postgres", marks=pytest.mark.postgres),
        pytest.param("postgres", 2, id="postgres-2-workers", marks=pytest.mark.postgres),
    ],
)
def test_concurrent_publishers_get_gapless_seqs(
    served_node: ServeFactory, backend: str, workers: int
) -> None:
    threads, per_thread = 8, 15
    served = served_node(backend=backend, workers=workers)
    barrier = threading.Barrier(threads)
    results: list[list[tuple[int, int | None, str | None]]] = [[] for _ in range(threads)]
    failures: list[BaseException] = []

    def publisher(index: int) -> None:
        try:
            with served.client() as client:
                barrier.wait(timeout=30)
                for i in range(per_thread):
                    response = client.post(
                        NOTICES,
                        json=notice(reference=f"SYS-{index:02d}-{i:03d}"),
                        headers=served.auth("officer"),
                    )
                    if response.status_code != 201:
                        results[index].append((response.status_code, None, response.text))
                        continue
                    body = response.json()
                    results[index].append((201, body["versions"][0]["seq"], body["notice_id"]))
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    pool = [threading.Thread(target=publisher, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in pool), "publishers did not finish"
    assert not failures, failures

    flat = [r for per in results for r in per]
    total = threads * per_thread
    assert len(flat) == total
    bad = [r for r in flat if r[0] != 201]
    assert not bad, bad[:5]
    seqs = sorted(seq for _status, seq, _id in flat if seq is not None)
    assert seqs == list(range(1, total + 1)), "each POST got its own seq, no gap, no duplicate"
    notice_ids = {nid for _status, _seq, nid in flat}
    assert len(notice_ids) == total

    entries = own_entries(served.node)
    assert [seq for seq, _type in entries] == list(range(total + 1))
    assert entries[0] == (0, "key.added")
    assert {kind for _seq, kind in entries[1:]} == {"notice.published"}
    assert log_size(served.node) == total + 1
    with served.client() as client:
        listed = list_all(client, served.auth("officer"), limit=200)
    assert {n["notice_id"] for n in listed} == notice_ids


# --- refusing to start ---------------------------------------------------------------------------


def serve_once(node: NodeDir, env: dict[str, str]) -> Any:
    """`denex serve` expected to refuse: if it starts instead, the timeout fails the test."""
    return denex(
        "serve", "--data-dir", node.data_dir, "--host", "127.0.0.1", "--port", str(free_port()),
        env=env, timeout=45,
    )  # fmt: skip


@pytest.mark.parametrize("how", ["wrong", "wrong-file", "missing"])
def test_wrong_passphrase_refuses_to_start(fresh_node: NodeDir, tmp_path: Path, how: str) -> None:
    secret = "not-the-passphrase-7f3a"
    if how == "wrong":
        env = node_env(passphrase=secret)
    elif how == "wrong-file":
        secret_file = tmp_path / "passphrase.txt"
        secret_file.write_text(secret + "\n")
        env = node_env(passphrase=None, DENEX_KEY_PASSPHRASE_FILE=str(secret_file))
    else:
        env = node_env(passphrase=None)
    result = serve_once(fresh_node, env)
    line = assert_one_line_error(result, prefix="denex: error:")
    assert "passphrase" in line.lower()
    assert secret not in result.stderr and secret not in result.stdout
    assert PASSPHRASE not in result.stderr


def test_newer_schema_refuses_to_start(
    make_node_copy: Callable[[str], NodeDir], backend: str
) -> None:
    node = make_node_copy(backend)
    execute(node, "UPDATE alembic_version SET version_num = '9999'")

    result = serve_once(node, node.env)
    line = assert_one_line_error(result, prefix="denex: error:")
    assert "newer" in line
    assert "9999" in line
    version = query(
        node, "SELECT version_num FROM alembic_version", "SELECT version_num FROM alembic_version"
    )
    assert version == [("9999",)], "serve must not touch a database of a newer schema"


@pytest.mark.parametrize("state", ["empty", "absent"])
def test_serve_uninitialised_data_dir(tmp_path: Path, state: str) -> None:
    data_dir = tmp_path / "node"
    if state == "empty":
        data_dir.mkdir()
    result = serve_once(NodeDir(data_dir, node_env()), node_env())
    line = assert_one_line_error(result, prefix="denex: error:")
    assert "denex init" in line
    assert not (data_dir / "node.db").exists()
    assert state == "empty" or not data_dir.exists()


def test_unencrypted_key_needs_insecure_dev_keys(tmp_path: Path, served_node: ServeFactory) -> None:
    dev_env = node_env(passphrase=None, insecure_keys=True)
    node = init_node(tmp_path / "node", env=dev_env)
    for key_file in (node.data_dir / "keys").glob("*.pem"):
        assert key_file.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")

    for env in (node_env(passphrase=None), node_env(passphrase=PASSPHRASE)):
        result = serve_once(node, env)
        line = assert_one_line_error(result, prefix="denex: error:")
        assert "not encrypted" in line and "DENEX_INSECURE_DEV_KEYS" in line

    node.create_token("officer")
    served = served_node(node=node)  # with DENEX_INSECURE_DEV_KEYS=1 the same node serves
    with served.client() as client:
        response = client.get(NOTICES, headers=served.auth("officer"))
        assert response.status_code == 200, response.text


# --- stopping -----------------------------------------------------------------------------------


@dataclass
class Outcome:
    sent: float
    done: float
    status: int | None = None
    notice_id: str | None = None
    error: BaseException | None = None


def test_sigterm_during_burst_finishes_started_requests(served_node: ServeFactory) -> None:
    served = served_node()
    threads = 8
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    stop_sending = threading.Event()

    def publisher(index: int) -> None:
        with served.client() as client:
            i = 0
            while not stop_sending.is_set():
                sent = time.monotonic()
                try:
                    response = client.post(
                        NOTICES,
                        json=notice(reference=f"BURST-{index}-{i}"),
                        headers=served.auth("officer"),
                    )
                except httpx.TransportError as exc:
                    with lock:
                        outcomes.append(Outcome(sent, time.monotonic(), error=exc))
                    return  # the server has stopped listening
                nid = response.json().get("notice_id") if response.status_code == 201 else None
                with lock:
                    outcomes.append(Outcome(sent, time.monotonic(), response.status_code, nid))
                i += 1

    pool = [threading.Thread(target=publisher, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with lock:
            if sum(o.status == 201 for o in outcomes) >= 40:
                break
        time.sleep(0.02)
    signalled = time.monotonic()
    served.process.send_signal(signal.SIGTERM)
    for thread in pool:
        thread.join(timeout=40)
    stop_sending.set()
    assert not any(thread.is_alive() for thread in pool)
    code = served.stop()

    answered = [o for o in outcomes if o.status is not None]
    errors = [o.error for o in outcomes if o.error is not None]
    assert all(o.status == 201 for o in answered), [o.status for o in answered if o.status != 201]
    # Only "not started" failures: refused connections, or a connection closed before the
    # server read the request. (A request the server processed is checked below.)
    assert all(
        isinstance(e, httpx.ConnectError | httpx.RemoteProtocolError | httpx.ReadError)
        for e in errors
    ), errors
    in_flight = [o for o in answered if o.sent < signalled < o.done]
    assert in_flight, "no request was in flight at SIGTERM: the burst did not test anything"

    # Every notice the server committed reached its client as a 201 (no response lost to a
    # reset), and nothing half-done was left: the log is gapless.
    committed = query(
        served.node,
        "SELECT notice_id FROM notices WHERE origin = ?",
        "SELECT notice_id FROM notices WHERE origin = $1",
        ORIGIN,
    )
    assert {nid for (nid,) in committed} == {o.notice_id for o in answered}
    assert [seq for seq, _t in own_entries(served.node)] == list(range(len(answered) + 1))

    assert code in (0, -signal.SIGTERM), served.stderr()
    assert "Traceback" not in served.stderr(), served.stderr()
    with pytest.raises(httpx.ConnectError), httpx.Client(timeout=5) as client:
        client.get(f"{served.base_url}/healthz")


def test_sigterm_exits_zero(served_node: ServeFactory) -> None:
    served = served_node()
    with served.client() as client:
        response = client.post(NOTICES, json=notice(), headers=served.auth("officer"))
        assert response.status_code == 201
    assert served.stop() == 0
    assert "Traceback" not in served.stderr()
