"""Node fixtures: a real initialised node (keys on disk, migrated database) and its app.

`make_node(node_id, database_url=None)` initialises a node in a fresh data directory the
same way `denex init` does, loads it the way `denex serve` does, and returns a `LiveNode`
with an httpx client bound to the real app through ASGITransport and one token per role.
Its keys are written in development mode (unencrypted, DENEX_INSECURE_DEV_KEYS=1: `DEV_KEYS`
for a CLI run on it): the strong passphrase KDF costs ~0.2 s of CPU a key file, which over
the suite's hundreds of nodes would add minutes. Encrypted key files are covered by
tests/keys and by tests/system, whose template node is made with a passphrase.
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from service.api.app import create_app
from service.api.state import AppState
from service.metrics import Metrics
from service.node import Node
from service.runtime import init_node, open_node
from service.settings import Settings
from service.storage.database import Database
from service.tokens import create_token

START = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
PASSPHRASE = "correct horse battery staple"
DEV_KEYS = {"DENEX_INSECURE_DEV_KEYS": "1"}  # the environment a CLI run on these nodes needs


@dataclass
class FakeClock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class LiveNode:
    settings: Settings
    db: Database
    node: Node
    state: AppState
    client: httpx.AsyncClient
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def node_settings(data_dir: Path, database_url: str | None = None) -> Settings:
    return Settings(data_dir=data_dir, database_url=database_url, insecure_dev_keys=True)


def node_url(node_id: str) -> str:
    """A test node's published URL: what peers sign their requests for (DESIGN §5)."""
    return f"http://{node_id}.test"


def identity(node_id: str) -> dict[str, object]:
    return {
        "node_id": node_id,
        "federation": "denex.test",
        "country": node_id[:2].upper(),
        "name": f"Test authority {node_id}",
        "url": node_url(node_id),
        "regimes": ["EU", "HRI", "WA"],
    }


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def make_node(
    tmp_path: Path, clock: FakeClock
) -> AsyncIterator[Callable[..., Awaitable[LiveNode]]]:
    made: list[LiveNode] = []

    async def _make(node_id: str = "de-bafa", database_url: str | None = None) -> LiveNode:
        settings = node_settings(tmp_path / node_id, database_url)
        _node_id, admin = await init_node(settings, identity_fields=identity(node_id), now=clock())
        db, node = await open_node(settings, upgrade=False)
        state = AppState(settings=settings, db=db, node=node, clock=clock, metrics=Metrics())
        app = create_app(state)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url=node_url(node_id)
        )
        live = LiveNode(settings, db, node, state, client, {"admin": admin})
        async with db.write() as session:
            for role in ("officer", "auditor"):
                _row, token = await create_token(
                    session, name=f"test-{role}", role=role, expires_days=None, now=clock()
                )
                live.tokens[role] = token
        made.append(live)
        return live

    yield _make
    for live in made:
        await live.client.aclose()
        await live.db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """None (SQLite in the data dir) or a fresh PostgreSQL database of the suite's server."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def live(make_node: Callable[..., Awaitable[LiveNode]], database_url: str | None) -> LiveNode:
    """One node, on SQLite and on PostgreSQL."""
    return await make_node("de-bafa", database_url)
