"""A crash (SIGKILL) during an append leaves log, tree and checkpoint consistent after restart
(DESIGN §4: the newest checkpoint lands in the same transaction as the entries it covers; §11:
appends are serialised transactions).

Real processes, real databases (SQLite and PostgreSQL):

* `denex notice import --batch 50` of 3,000 notices is SIGKILLed at three different moments
  (twice while the importer holds an open write transaction, once just as a commit becomes
  visible), the same file is imported again after each kill (the notices already in the log
  are skipped by their references), and finally imported to completion: exactly one notice
  per reference;
* `denex serve` is SIGKILLed during a burst of concurrent POSTs from 8 threads.

After every kill a fresh connection checks the database directly: logs.size == count(entries)
== max(seq)+1 with contiguous seqs, leaf hashes match the envelopes, the root recomputed from
the leaves == logs.root == the stored tree's root, the stored tree holds exactly the complete
subtrees of that size, logs.checkpoint verifies under the node's signing key (from `denex node
card`) and names exactly (size, root), the checkpoints table holds it, every earlier
checkpoint is still a prefix of the log, and the derived notices and the audit trail match the
entries. Then the restarted node answers, appends, and proves its new checkpoint consistent with
every checkpoint seen before the crash (RFC 9162 consistency proofs over HTTP).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import signal
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from federation.core import merkle
from federation.core.checkpoint import origin_line, verify_checkpoint
from federation.network.client import PeerAuth
from federation.storage import tree
from federation.storage.tables import CheckpointRow, EntryRow, LogRow, TreeNodeRow
from keys.card import verify_card
from service.audit import verify_chain
from service.storage.models import AuditRow, NoticeRow, NoticeVersionRow
from tests.peers import Partner
from tests.service.notice_data import notice
from tests.system.conftest import (
    DENEX,
    NodeDir,
    ok,
    plain_url,
    start_serving,
)

pytestmark = pytest.mark.system

ORIGIN = "de-bafa"
NOTICES = "/api/v1/notices"
TOTAL = 3000
BATCH = 50
KILL_WAIT = 60.0  # seconds to wait for the progress a kill needs
BUSY_WAIT = 2.0  # seconds to wait for the writer to be inside a transaction


# --- the node's identity, from its card --------------------------------------------------------


@dataclass(frozen=True)
class Ident:
    federation: str
    node_id: str
    signing_key: bytes

    @property
    def origin(self) -> str:
        return origin_line(self.federation, self.node_id)


def card_identity(node: NodeDir) -> Ident:
    card = verify_card(ok(node.run("node", "card")).stdout.strip().encode("utf-8"))
    body = card.body
    assert body["node_id"] == ORIGIN
    return Ident(
        federation=body["federation"],
        node_id=body["node_id"],
        signing_key=base64.b64decode(body["signing_keys"][0]["key"], validate=True),
    )


# --- consistency, checked directly in the database with a fresh connection -------------------


@dataclass(frozen=True)
class Head:
    size: int
    root: bytes
    note: str


@dataclass
class State:
    head: Head
    references: list[str]  # of every notice row
    notice_ids: set[str]
    envelopes: dict[int, bytes]  # seq -> envelope, as stored
    imported: int  # notices recorded by `notice.import` audit events
    api_published: list[str]  # targets of `notice.publish` audit events


def check_url(node: NodeDir) -> str:
    if node.database_url is not None:
        return node.database_url
    return f"sqlite+aiosqlite:///file:{node.data_dir / 'node.db'}?mode=ro&uri=true"


def check_consistent(node: NodeDir, ident: Ident, earlier: Sequence[Head] = ()) -> State:
    """Assert that log, entries, tree, checkpoints, notices and audit trail agree; return
    what was found. `earlier`: checkpoints seen before, which must still be prefixes."""
    return asyncio.run(_check(check_url(node), ident, earlier))


async def _check(url: str, ident: Ident, earlier: Sequence[Head]) -> State:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with AsyncSession(engine) as session:
            return await _check_in(session, ident, earlier)
    finally:
        await engine.dispose()


def complete_subtrees(leaves: Sequence[bytes]) -> dict[merkle.Key, bytes]:
    """Every complete subtree (level, idx) of the tree over `leaves`, computed from them."""
    out: dict[merkle.Key, bytes] = {}
    level, row = 0, list(leaves)
    while row:
        out.update(((level, i), h) for i, h in enumerate(row))
        row = [merkle.node(row[i], row[i + 1]) for i in range(0, len(row) - 1, 2)]
        level += 1
    return out


async def _check_in(session: AsyncSession, ident: Ident, earlier: Sequence[Head]) -> State:
    log = await session.get(LogRow, ORIGIN)
    assert log is not None, "no log row"
    size = int(log.size)
    assert log.root is not None and log.checkpoint is not None, "log row without root/checkpoint"
    root, note = bytes(log.root), str(log.checkpoint)

    count, max_seq = (
        await session.execute(
            select(func.count(), func.max(EntryRow.seq)).where(EntryRow.origin == ORIGIN)
        )
    ).one()
    assert size == count == max_seq + 1, f"logs.size {size}, {count} entries, max seq {max_seq}"
    rows = (
        await session.execute(
            select(EntryRow.seq, EntryRow.type, EntryRow.leaf_hash, EntryRow.envelope)
            .where(EntryRow.origin == ORIGIN)
            .order_by(EntryRow.seq)
        )
    ).all()
    seqs = [int(r.seq) for r in rows]
    assert seqs == list(range(size)), "entry seqs are not contiguous from 0"
    leaves = [bytes(r.leaf_hash) for r in rows]
    bad_leaf = [r.seq for r in rows if merkle.leaf(bytes(r.envelope)) != bytes(r.leaf_hash)]
    assert not bad_leaf, f"leaf hash does not match the envelope at seqs {bad_leaf[:5]}"

    # The tree: the root of the leaves, of the log row, and of the stored subtrees agree, and
    # the stored tree holds exactly the complete subtrees of `size` leaves (nothing beyond).
    recomputed = merkle.root_of(leaves)
    stored = await tree.root_at(session, ORIGIN, size)
    assert recomputed == root == stored, "recomputed, logs.root and stored-tree roots differ"
    expected = complete_subtrees(leaves)
    nodes = (
        await session.execute(
            select(TreeNodeRow.level, TreeNodeRow.idx, TreeNodeRow.hash).where(
                TreeNodeRow.origin == ORIGIN
            )
        )
    ).all()
    held = {(int(n.level), int(n.idx)): bytes(n.hash) for n in nodes}
    assert held.keys() == expected.keys(), (
        f"stored subtrees {sorted(held.keys() ^ expected.keys())[:5]} (symmetric difference)"
        f" do not match a tree of {size} leaves"
    )
    wrong = [k for k in expected if held[k] != expected[k]]
    assert not wrong, f"stored subtree hashes {wrong[:5]} do not match the leaves"

    # The newest checkpoint: signed by the node's signing key, naming exactly (size, root).
    verified = verify_checkpoint(note, origin=ident.origin, keys=[ident.signing_key])
    assert (verified.checkpoint.size, verified.checkpoint.root) == (size, root)

    # The checkpoints table: a row for this size with the same note, none beyond it, and
    # every row a signed prefix of this log.
    checkpoints = (
        await session.execute(
            select(CheckpointRow.size, CheckpointRow.root, CheckpointRow.note)
            .where(CheckpointRow.origin == ORIGIN)
            .order_by(CheckpointRow.size)
        )
    ).all()
    assert checkpoints, "no checkpoint rows"
    last = checkpoints[-1]
    assert (int(last.size), bytes(last.root), str(last.note)) == (size, root, note), (
        f"newest checkpoints row is size {last.size}, log is {size}"
    )
    for row in checkpoints:
        row_size, row_root = int(row.size), bytes(row.root)
        assert 1 <= row_size <= size
        assert merkle.range_hash(0, row_size, expected.__getitem__) == row_root, (
            f"checkpoint of size {row_size} is not a prefix of the log"
        )
        signed = verify_checkpoint(row.note, origin=ident.origin, keys=[ident.signing_key])
        assert (signed.checkpoint.size, signed.checkpoint.root) == (row_size, row_root)
    by_size = {int(r.size): str(r.note) for r in checkpoints}
    for old in earlier:
        assert old.size <= size, f"the log shrank from {old.size} to {size}"
        assert merkle.range_hash(0, old.size, expected.__getitem__) == old.root, (
            f"the log is no longer an extension of the checkpoint of size {old.size}"
        )
        assert by_size.get(old.size) == old.note, f"checkpoint of size {old.size} lost or changed"

    # Derived state: one notice per notice.published entry, one version row per notice entry.
    published = [int(r.seq) for r in rows if r.type == "notice.published"]
    assert {r.type for r in rows[1:]} <= {"notice.published"}, "unexpected entry types"
    notices = (
        await session.execute(
            select(NoticeRow.notice_id, NoticeRow.reference, NoticeRow.first_seq).where(
                NoticeRow.origin == ORIGIN
            )
        )
    ).all()
    assert len(notices) == len(published), f"{len(notices)} notices, {len(published)} entries"
    assert sorted(int(n.first_seq) for n in notices) == published
    versions = await session.scalar(
        select(func.count()).select_from(NoticeVersionRow).where(NoticeVersionRow.origin == ORIGIN)
    )
    assert versions == len(published)

    # The audit trail: an unbroken chain recording every committed publish, no more, no less.
    audit = list(await session.scalars(select(AuditRow).order_by(AuditRow.seq)))
    assert verify_chain(audit) is None, verify_chain(audit)
    imported = sum(int(a.detail["count"]) for a in audit if a.action == "notice.import")
    targets = [str(a.target) for a in audit if a.action == "notice.publish"]
    assert all(t.startswith(f"{ORIGIN}/") for t in targets)  # the trail names origin/notice_id
    api_published = [t.removeprefix(f"{ORIGIN}/") for t in targets]
    assert imported + len(api_published) == len(published), (
        f"audit records {imported} imported + {len(api_published)} published, "
        f"log has {len(published)} notices"
    )
    notice_ids = {str(n.notice_id) for n in notices}
    assert set(api_published) <= notice_ids

    return State(
        head=Head(size, root, note),
        references=[str(n.reference) for n in notices],
        notice_ids=notice_ids,
        envelopes={int(r.seq): bytes(r.envelope) for r in rows},
        imported=imported,
        api_published=api_published,
    )


# --- watching a running writer from beside it ------------------------------------------------


class Probe:
    """Polls the log size and whether some writer is inside a write transaction."""

    def __init__(self, node: NodeDir) -> None:
        self.node = node
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pg: Any = None
        self._ro: sqlite3.Connection | None = None
        self._rw: sqlite3.Connection | None = None
        if node.database_url is None:
            path = node.data_dir / "node.db"
            self._ro = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
            self._rw = sqlite3.connect(path, timeout=0, isolation_level=None)
        else:
            import asyncpg

            self._loop = asyncio.new_event_loop()
            self._pg = self._loop.run_until_complete(
                asyncpg.connect(plain_url(node.database_url), timeout=10)
            )

    def size(self) -> int:
        if self._ro is not None:
            row = self._ro.execute("SELECT size FROM logs WHERE origin = ?", (ORIGIN,)).fetchone()
            return int(row[0])
        assert self._loop is not None
        return int(
            self._loop.run_until_complete(
                self._pg.fetchval("SELECT size FROM logs WHERE origin = $1", ORIGIN)
            )
        )

    def writer_busy(self) -> bool:
        """True if another connection holds an open write transaction right now."""
        if self._rw is not None:  # SQLite: the writer holds the RESERVED lock (BEGIN IMMEDIATE)
            try:
                self._rw.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    return True
                raise
            self._rw.execute("ROLLBACK")
            return False
        assert self._loop is not None
        busy = self._loop.run_until_complete(
            self._pg.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_type = 'client backend' "
                "AND xact_start IS NOT NULL"
            )
        )
        return int(busy) > 0

    def wait_busy(self) -> bool:
        deadline = time.monotonic() + BUSY_WAIT
        while time.monotonic() < deadline:
            if self.writer_busy():
                return True
        return False

    def close(self) -> None:
        for conn in (self._ro, self._rw):
            if conn is not None:
                conn.close()
        if self._loop is not None:
            self._loop.run_until_complete(self._pg.close())
            self._loop.close()


@contextlib.contextmanager
def probing(node: NodeDir) -> Iterator[Probe]:
    probe = Probe(node)
    try:
        yield probe
    finally:
        probe.close()


@contextlib.contextmanager
def killed_on_exit(process: subprocess.Popen[bytes]) -> Iterator[subprocess.Popen[bytes]]:
    """Make sure a process this test started does not outlive it."""
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def sigkill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=10) == -signal.SIGKILL, "process had exited before the kill"


# --- notice import, killed -------------------------------------------------------------------


def notice_lines(count: int) -> list[dict[str, Any]]:
    destinations = ["BY", "RU", "IR", "KP", "SY"]
    return [
        notice(
            reference=f"CRASH-{i:05d}",
            destination=destinations[i % len(destinations)],
            decided_on=f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}",
            parties=[{"role": "end_user", "name": f"Crash Test Trading {i} LLC", "country": "AE"}],
        )
        for i in range(count)
    ]


def write_jsonl(path: Path, notices: Sequence[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(n) + "\n" for n in notices), encoding="utf-8")
    return path


@dataclass
class Kill:
    size_before: int
    size_at_kill: int
    inside_transaction: bool
    workers: list[int]  # the importer's worker processes when it was killed


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting for its new parent to reap it)."""
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def assert_gone(pids: Sequence[int], *, within: float = 3.0) -> None:
    deadline = time.monotonic() + within
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    left = [pid for pid in pids if alive(pid)]
    assert not left, f"worker processes {left} outlived the killed importer by {within} s"


def import_and_kill(
    node: NodeDir,
    file: Path,
    out_dir: Path,
    *,
    progress: int,
    wait_busy: bool,
    options: Sequence[str] = (),
) -> Kill:
    """Start `denex notice import FILE --batch 50 OPTIONS`; once the log grew by `progress`
    entries (and, with `wait_busy`, once the importer is inside a write transaction), SIGKILL
    it. The worker processes it had then are in the answer."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with (
        probing(node) as probe,
        (out_dir / "import.out").open("wb") as out,
        (out_dir / "import.err").open("wb") as err,
    ):
        before = probe.size()
        process = subprocess.Popen(
            [str(DENEX), "notice", "import", str(file), "--batch", str(BATCH),
             "--data-dir", str(node.data_dir), *options],
            env=node.env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
        )  # fmt: skip
        with killed_on_exit(process):
            deadline = time.monotonic() + KILL_WAIT
            while probe.size() < before + progress:
                if process.poll() is not None:
                    pytest.fail(
                        f"import exited {process.returncode} before it could be killed:\n"
                        + (out_dir / "import.err").read_text(errors="replace")
                    )
                if time.monotonic() > deadline:
                    pytest.fail(f"import made no progress in {KILL_WAIT} s")
                time.sleep(0.002)
            inside = probe.wait_busy() if wait_busy else probe.writer_busy()
            workers = children(process.pid)
            sigkill(process)
        return Kill(before, probe.size(), inside, workers)


def test_import_killed_three_times_leaves_log_consistent(
    make_node_copy: Callable[[str], NodeDir], backend: str, tmp_path: Path
) -> None:
    node = make_node_copy(backend)
    ident = card_identity(node)
    peer = roster_peer(node, tmp_path / "partner")
    everything = notice_lines(TOTAL)
    file = write_jsonl(tmp_path / "notices.jsonl", everything)
    seen = [check_consistent(node, ident).head]
    assert seen[0].size == 1  # entry 0, the key statement
    remaining = everything

    # Three kills at different moments: just after the first batch, after ~10 batches (both
    # once the importer is inside a write transaction), and just as a commit becomes visible.
    # Each run imports the whole file again, as an operator would after a crash.
    kills: list[Kill] = []
    moments = [(1, True), (10 * BATCH, True), (8 * BATCH, False)]
    for run, (progress, wait_busy) in enumerate(moments):
        kill = import_and_kill(
            node, file, tmp_path / f"import-{run}", progress=progress, wait_busy=wait_busy
        )
        kills.append(kill)
        assert_gone(kill.workers)
        state = check_consistent(node, ident, seen)
        seen.append(state.head)
        # Batches are all-or-nothing: only whole batches of 50 ever reached the log.
        assert (state.head.size - 1) % BATCH == 0, (kill, state.head.size)
        assert state.imported == state.head.size - 1
        counts = Counter(state.references)
        assert not [ref for ref, n in counts.items() if n > 1], "a notice was imported twice"
        done = set(counts)
        remaining = [n for n in everything if n["reference"] not in done]
        assert len(remaining) == TOTAL - len(done)
        assert 0 < len(remaining), f"run {run}: the import finished before the kill: {kill}"
    assert any(k.inside_transaction for k in kills), f"no kill hit a transaction: {kills}"

    # The import of the same file completes on the crashed database: what landed before is
    # skipped, the rest is imported, each reference once.
    result = ok(node.run("notice", "import", file, "--batch", str(BATCH)))
    assert (
        f"imported {len(remaining)} notices from {file}; skipped {TOTAL - len(remaining)} "
        "whose reference this node already holds"
    ) in result.stderr, result.stderr
    state = check_consistent(node, ident, seen)
    assert state.head.size == TOTAL + 1
    assert sorted(state.references) == sorted(n["reference"] for n in everything)
    seen.append(state.head)
    again = ok(node.run("notice", "import", file, "--batch", str(BATCH)))
    assert f"imported 0 notices from {file}; skipped {TOTAL} " in again.stderr, again.stderr
    assert check_consistent(node, ident, seen).head == state.head

    # The node still works: it serves, appends, and proves the new checkpoint consistent with
    # every checkpoint it had signed before and between the crashes.
    served = start_serving(node, tmp_path / "serve", ready=True)
    with killed_on_exit(served.process):
        with served.client() as client:
            response = client.post(
                NOTICES, json=notice(reference="AFTER-CRASH"), headers=served.auth("officer")
            )
            assert response.status_code == 201, response.text
            assert response.json()["versions"][0]["seq"] == TOTAL + 1
            new = served_head(client, peer, ident)
            assert new.size == TOTAL + 2
            for old in seen:
                prove_consistent(client, peer, old, new)
        assert served.stop() == 0, served.stderr()
    assert "Traceback" not in served.stderr(), served.stderr()
    final = check_consistent(node, ident, seen)
    assert final.head == new


def test_import_workers_die_with_the_killed_importer(
    make_node_copy: Callable[[str], NodeDir], tmp_path: Path
) -> None:
    # Issue 11 item 10: `kill -9` of `denex notice import` leaves no process behind. The
    # workers are forked children; each asked the kernel for SIGKILL when its parent dies.
    node = make_node_copy("sqlite")
    ident = card_identity(node)
    file = write_jsonl(tmp_path / "notices.jsonl", notice_lines(TOTAL))
    kill = import_and_kill(
        node, file, tmp_path / "import", progress=2 * BATCH, wait_busy=False,
        options=["--workers", "2"],
    )  # fmt: skip
    assert len(kill.workers) == 2, f"expected the importer's two workers, found {kill.workers}"
    assert_gone(kill.workers)
    state = check_consistent(node, ident)
    assert 1 < state.head.size < TOTAL + 1, "the kill landed mid-way"
    assert (state.head.size - 1) % BATCH == 0


# --- denex serve, killed during a burst ------------------------------------------------------


def roster_peer(node: NodeDir, directory: Path) -> PeerAuth:
    """Put a partner in the node's roster with `denex peer add`; sign requests as it."""
    partner = Partner.make("fr-sbdu", federation="denex.system.test")
    card = directory / "fr-sbdu.card"
    card.parent.mkdir(parents=True, exist_ok=True)
    card.write_bytes(partner.card())
    ok(node.run("peer", "add", card, "--yes"))
    return PeerAuth(partner.signing)


def served_head(client: httpx.Client, peer: PeerAuth, ident: Ident) -> Head:
    """The node's newest checkpoint over HTTP (read as a roster peer), verified."""
    response = client.get(f"/federation/v1/logs/{ORIGIN}/checkpoint", auth=peer)
    assert response.status_code == 200, response.text
    verified = verify_checkpoint(response.text, origin=ident.origin, keys=[ident.signing_key])
    return Head(verified.checkpoint.size, verified.checkpoint.root, response.text)


def prove_consistent(client: httpx.Client, peer: PeerAuth, old: Head, new: Head) -> None:
    """GET the consistency proof from `old` to `new` and verify it against both roots."""
    if old.size == new.size:
        assert old.root == new.root
        return
    response = client.get(
        f"/federation/v1/logs/{ORIGIN}/proof/consistency",
        params={"from": old.size, "to": new.size},
        auth=peer,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["from"], body["to"]) == (old.size, new.size)
    proof = [base64.b64decode(h, validate=True) for h in body["hashes"]]
    merkle.verify_consistency(old.size, new.size, old.root, new.root, proof)


@dataclass
class Created:
    notice_id: str
    seq: int
    envelope: bytes


@dataclass
class Burst:
    created: list[Created] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)  # non-201 answers
    errors: list[BaseException] = field(default_factory=list)


def test_serve_killed_during_burst_leaves_log_consistent(
    make_node_copy: Callable[[str], NodeDir], backend: str, tmp_path: Path
) -> None:
    node = make_node_copy(backend)
    ident = card_identity(node)
    peer = roster_peer(node, tmp_path / "partner")
    seen = [check_consistent(node, ident).head]

    served = start_serving(node, tmp_path / "serve1", ready=True)
    burst = Burst()
    lock = threading.Lock()
    stop = threading.Event()
    with killed_on_exit(served.process), probing(node) as probe:
        with served.client() as client:
            first = client.post(
                NOTICES, json=notice(reference="BEFORE-BURST"), headers=served.auth("officer")
            )
            assert first.status_code == 201, first.text
            before = served_head(client, peer, ident)
            assert before.size == 2
            prove_consistent(client, peer, seen[0], before)
        seen.append(before)

        def publisher(index: int) -> None:
            with served.client() as client:
                for i in range(10_000):
                    if stop.is_set():
                        return
                    try:
                        response = client.post(
                            NOTICES,
                            json=notice(reference=f"BURST-{index}-{i:04d}"),
                            headers=served.auth("officer"),
                        )
                    except httpx.TransportError as exc:
                        with lock:
                            burst.errors.append(exc)
                        return  # the server is gone
                    with lock:
                        if response.status_code != 201:
                            burst.refused.append((response.status_code, response.text))
                            continue
                        body = response.json()
                        version = body["versions"][0]
                        burst.created.append(
                            Created(body["notice_id"], version["seq"], version["envelope"].encode())
                        )

        pool = [threading.Thread(target=publisher, args=(i,)) for i in range(8)]
        for thread in pool:
            thread.start()
        try:
            deadline = time.monotonic() + KILL_WAIT
            while True:
                with lock:
                    enough = len(burst.created) >= 60
                if enough:
                    break
                if served.process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"burst did not get going:\n{served.stderr()}")
                time.sleep(0.005)
            inside = probe.wait_busy()
            sigkill(served.process)
        finally:
            stop.set()
            for thread in pool:
                thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in pool), "publishers did not stop"
    served.stop()  # closes its output files; the process is already dead

    assert not burst.refused, burst.refused[:3]
    assert burst.errors, "no request failed: the kill did not interrupt the burst"
    assert all(isinstance(e, httpx.TransportError) for e in burst.errors), burst.errors

    # Consistency after the crash, and every 201 is in the log exactly as the client got it.
    state = check_consistent(node, ident, seen)
    seen.append(state.head)
    assert {c.notice_id for c in burst.created} <= state.notice_ids, "a 201'd notice was lost"
    for created in burst.created:
        assert state.envelopes.get(created.seq) == created.envelope, (
            f"seq {created.seq} in the log is not the entry the client got"
        )
    # A notice committed without its 201 can only be a request in flight at the kill, and
    # each publisher had at most one in flight.
    lost_answers = state.head.size - 2 - len(burst.created)
    assert 0 <= lost_answers <= len(burst.errors), (state.head.size, len(burst.created))
    assert set(state.api_published) == state.notice_ids

    # Restart: it serves, appends, and its checkpoint extends every earlier one.
    again = start_serving(node, tmp_path / "serve2", ready=True)
    with killed_on_exit(again.process):
        with again.client() as client:
            response = client.post(
                NOTICES, json=notice(reference="AFTER-CRASH"), headers=again.auth("officer")
            )
            assert response.status_code == 201, response.text
            assert response.json()["versions"][0]["seq"] == state.head.size
            new = served_head(client, peer, ident)
            assert new.size == state.head.size + 1
            for old in seen:
                prove_consistent(client, peer, old, new)
        assert again.stop() == 0, again.stderr()
    assert "Traceback" not in again.stderr(), again.stderr()
    final = check_consistent(node, ident, seen)
    assert final.head == new
    assert inside, "the kill did not land while a write transaction was open"
