"""The worker pool (`workers.pool`): results in order, a failing job reported without losing
the pool, and a worker that imports only what its jobs need: the verify workers load the
federation core and never the service; the sync's notice-row jobs load the row builders and
table definitions, never the database layer or the web app."""

import asyncio
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from federation.core.entry import Draft, seal
from federation.core.follow import Follower, WireEntry
from federation.network.pull import VerifiedPage
from federation.network.verify_pool import VerifyPool
from keys.canonical import canonical_bytes
from keys.ed25519 import KeyPair, b64
from service.notices.body import notice_body
from service.notices.schema import NoticeInput
from service.sync import ingest
from tests.service.notice_data import notice
from tests.workers import probe
from workers.pool import Pool, WorkerFailed

FED, ORIGIN, ME = "denex.test", "de-bafa", "fr-sbdu"
ROOT = KeyPair(Ed25519PrivateKey.from_private_bytes(b"\x05" * 32))
SIGNING = KeyPair(Ed25519PrivateKey.from_private_bytes(b"\x06" * 32))
NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)


@pytest.fixture
def pool() -> object:
    made = Pool(workers=2)
    yield made
    made.close()


def _page(notices: int) -> list[WireEntry]:
    added = canonical_bytes(
        {"key": b64(SIGNING.public), "key_id": SIGNING.key_id, "purpose": "signing"}
    )
    entries = [
        seal(
            federation=FED,
            origin=ORIGIN,
            seq=0,
            draft=Draft("key.added", added, ("*",), NOW),
            key=ROOT,
        )
    ]
    for seq in range(1, notices + 1):
        body = notice_body(
            NoticeInput.model_validate(notice(reference=f"REF-{seq}")),
            notice_id=f"00000000-0000-4000-8000-{seq:012d}",
            version=1,
            supersedes=None,
        )
        draft = Draft("notice.published", canonical_bytes(body), (ORIGIN, ME), NOW)
        entries.append(seal(federation=FED, origin=ORIGIN, seq=seq, draft=draft, key=SIGNING))
    return [WireEntry(e.seq, e.leaf_hash, e.envelope, e.salt, e.body) for e in entries]


def test_results_come_back_in_order(pool: Pool) -> None:
    assert asyncio.run(pool.run(probe.double, list(range(7)))) == [0, 2, 4, 6, 8, 10, 12]


def test_a_failing_job_is_reported_and_the_pool_starts_again(pool: Pool) -> None:
    with pytest.raises(WorkerFailed, match="ValueError: no 3"):
        asyncio.run(pool.run(probe.fail, [3]))
    assert asyncio.run(pool.run(probe.double, [1, 2])) == [2, 4]


def test_verify_workers_load_the_federation_core_and_never_the_service(pool: Pool) -> None:
    follower = Follower(FED, ORIGIN, ROOT.public, ME)
    accepted = asyncio.run(VerifyPool(pool).check(follower, _page(250)))
    assert len(accepted) == 251
    for modules in asyncio.run(pool.run(probe.loaded, [None, None])):
        assert "federation.core.follow" in modules
        assert not [m for m in modules if m.split(".")[0] in ("service", "fastapi", "httpx")]
        assert "sqlalchemy" not in modules


def test_notice_rows_are_prepared_in_workers_without_the_database_layer() -> None:
    follower = Follower(FED, ORIGIN, ROOT.public, ME)
    wires = _page(250)
    page = VerifiedPage(ORIGIN, 0, b"", follower.check(wires), follower.state)
    prepared = asyncio.run(ingest.prepare(page, driver=True))
    assert sum(len(p.fresh) for p in prepared) == 250  # every publication made its rows there
    assert {p.origin for p in prepared} == {ORIGIN}
    from workers import pool as shared

    for modules in asyncio.run(shared.shared().run(probe.loaded, [None, None])):
        assert "service.notices.prepared" in modules
        assert not [
            m
            for m in modules
            if m.startswith(("service.storage.database", "service.api", "fastapi", "httpx"))
        ]
