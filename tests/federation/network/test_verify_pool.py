"""The verify pool gives exactly `Follower.check`'s answer, on several processes: the same
accepted entries and key state for a page with a key statement in the middle, and the same
first failure (nothing accepted) for a page with a forgery in a later chunk. Also: the
orjson fast path of `parse_canonical` agrees with the strict `json` path."""

import asyncio
import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from federation.core.entry import Draft, SealedEntry, seal
from federation.core.follow import Follower, PageError, WireEntry
from federation.network.verify_pool import VerifyPool
from keys.canonical import canonical_bytes, parse_canonical
from keys.ed25519 import KeyPair, b64
from keys.errors import CanonicalError
from workers.pool import Pool

FED, ORIGIN, ME = "denex.test", "de-bafa", "fr-sbdu"
ROOT = KeyPair(Ed25519PrivateKey.from_private_bytes(b"\x02" * 32))
FIRST = KeyPair(Ed25519PrivateKey.from_private_bytes(b"\x03" * 32))
SECOND = KeyPair(Ed25519PrivateKey.from_private_bytes(b"\x04" * 32))
NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


def _added(key: KeyPair) -> bytes:
    return canonical_bytes({"key": b64(key.public), "key_id": key.key_id, "purpose": "signing"})


def _log(size: int, rotate_at: int) -> list[SealedEntry]:
    entries = []
    for seq in range(size):
        if seq in (0, rotate_at):
            key = FIRST if seq == 0 else SECOND
            draft = Draft("key.added", _added(key), ("*",), NOW)
            entries.append(seal(federation=FED, origin=ORIGIN, seq=seq, draft=draft, key=ROOT))
            continue
        signer = FIRST if seq < rotate_at else SECOND
        body = canonical_bytes({"n": seq})
        draft = Draft("notice.published", body, (ORIGIN, ME), NOW)
        entries.append(seal(federation=FED, origin=ORIGIN, seq=seq, draft=draft, key=signer))
    return entries


def _wire(entries: list[SealedEntry]) -> list[WireEntry]:
    return [WireEntry(e.seq, e.leaf_hash, e.envelope, e.salt, e.body) for e in entries]


def _follower() -> Follower:
    return Follower(FED, ORIGIN, ROOT.public, ME)


@pytest.fixture(scope="module")
def pool() -> object:
    made = VerifyPool(Pool(workers=2))
    yield made
    made.close()


def test_the_pool_accepts_what_check_accepts_across_a_key_statement(pool: VerifyPool) -> None:
    page = _wire(_log(600, rotate_at=150))  # the key statement sits in the first chunk
    alone, shared = _follower(), _follower()
    expected = alone.check(page)
    got = asyncio.run(pool.check(shared, page))
    assert got == expected
    assert (shared.size, shared.state.valid_keys(600)) == (alone.size, alone.state.valid_keys(600))
    assert SECOND.key_id in shared.state.valid_keys(600)


def test_the_pool_reports_the_first_failure_and_accepts_nothing(pool: VerifyPool) -> None:
    entries = _log(600, rotate_at=150)
    forged = seal(
        federation=FED,
        origin=ORIGIN,
        seq=450,
        draft=Draft("notice.published", b"{}", (ORIGIN, ME), NOW),
        key=KeyPair.generate(),
    )
    entries[450] = forged
    follower = _follower()
    with pytest.raises(PageError, match="entry 450 of de-bafa"):
        asyncio.run(pool.check(follower, _wire(entries)))
    assert follower.size == 0 and follower.state.valid_keys(1) == {}


_plain = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_plain, st.booleans())
def test_parse_canonical_fast_path_agrees_with_the_strict_one(value: object, spaced: bool) -> None:
    """Whatever the bytes, parse_canonical accepts exactly the canonical ones and returns
    the value json.loads gives."""
    data = (
        json.dumps(value, indent=1).encode()
        if spaced
        else json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()
    )
    try:
        canonical = canonical_bytes(json.loads(data)) == data
    except CanonicalError:
        canonical = False
    if canonical:
        assert parse_canonical(data) == json.loads(data)
    else:
        with pytest.raises(CanonicalError):
            parse_canonical(data)


# A process that verifies with the pool, as `denex sync` does: killed with SIGKILL mid-page.
_POOL_USER = """
import asyncio
from tests.federation.network.test_verify_pool import _follower, _log, _wire
from federation.network.verify_pool import VerifyPool
from workers.pool import Pool

workers = Pool(workers=2)
page = _wire(_log(1000, rotate_at=999))
pool = VerifyPool(workers)

async def main():
    await pool.check(_follower(), page)
    print(*(worker.process.pid for worker in workers._started), flush=True)
    while True:
        await pool.check(_follower(), page)

asyncio.run(main())
"""


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.system
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_die_at_once_with_a_killed_parent(tmp_path: Path) -> None:
    # Issue 11 item 10: a `kill -9` of the verifying process leaves no worker, and no worker
    # finishes its chunk first only to die on a broken pipe (with a traceback).
    errors = tmp_path / "stderr"
    with errors.open("wb") as stderr:
        user = subprocess.Popen(
            [sys.executable, "-c", _POOL_USER], stdout=subprocess.PIPE, stderr=stderr, text=True
        )
        try:
            assert user.stdout is not None
            workers = [int(pid) for pid in user.stdout.readline().split()]
            assert len(workers) == 2, errors.read_text()
            time.sleep(0.3)  # the workers are busy with the next page
        finally:
            user.kill()
            user.wait()
            if user.stdout is not None:
                user.stdout.close()
    deadline = time.monotonic() + 3.0
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not [pid for pid in workers if _alive(pid)], "verify workers outlived their parent"
    assert "Traceback" not in errors.read_text(), errors.read_text()
