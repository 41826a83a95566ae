"""The security suite: attacks mounted by a hostile roster member against real nodes.

Strategy: the honest side is real — `denex serve` processes on 127.0.0.1 (and `denex sync`,
`denex recover`... as the tests run them; tests/system/test_federation.py `Member`) — and the
adversary is a `tests.hostile.Hostile`: a partner with real keys and a card that the honest
nodes accepted, running its own scripted federation server. Each test mounts one attack
through these processes and checks that it is refused with nothing stored, leaked, stalled or
grown beyond its bound (docs/security.md lists them).

`ring(*honest_ids)` (a factory fixture; `make_ring` for a module-scoped ring) initialises
the honest nodes (unencrypted development
keys, plain HTTP, `DENEX_SYNC_INTERVAL=3600` so that only the test decides when to sync unless
it says otherwise), peers them with each other and with the hostile member, and starts the
hostile server. Honest nodes are served only when a test calls `member.serve(...)`. The
set-up runs in this process with the functions `denex init`, `denex token create`,
`denex node card` and `denex peer add` call (tests/system tests those commands): ten CLI
start-ups would cost ~15 s per ring on this machine.

The real-process fixtures of tests/system (`fresh_node`, `make_node_copy`, `served_node` and
the template nodes they copy) are re-exported here for the attacks on a single node.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from service.node import ROOT_KEY_FILE, load_keypair, signed_card
from service.roster import add_peer
from service.runtime import init_node, open_node, utc_now
from service.settings import Settings
from service.tokens import create_token
from tests.hostile import Hostile
from tests.system.conftest import (
    HOST,
    NodeDir,
    backend,
    free_port,
    fresh_node,
    make_node_copy,
    node_env,
    node_template,
    pg_node_template,
    served_node,
)
from tests.system.test_federation import Member

__all__ = [
    "backend",
    "fresh_node",
    "make_node_copy",
    "node_template",
    "pg_node_template",
    "served_node",
]

FEDERATION = "denex.system.test"  # what tests.system.conftest.init_node gives every node
COUNTRIES = {"de-bafa": "DE", "fr-sbdu": "FR", "nl-cdiu": "NL"}


@dataclass
class Ring:
    """Honest members (by node id) and the hostile member in all their rosters."""

    honest: dict[str, Member]
    hostile: Hostile
    tmp: Path

    def __getitem__(self, node_id: str) -> Member:
        return self.honest[node_id]

    def serve(self, *node_ids: str) -> None:
        for node_id in node_ids:
            self.honest[node_id].serve(self.tmp / f"{node_id}.log")

    def log_text(self, node_id: str) -> str:
        return (self.tmp / f"{node_id}.log").read_text(errors="replace")

    def close(self) -> None:
        for member in self.honest.values():
            member.stop()
        self.hostile.__exit__()


RingFactory = Callable[..., Ring]


async def _init(
    data_dir: Path, node_id: str, port: int, env: dict[str, str]
) -> tuple[NodeDir, bytes]:
    """A node as `denex init` + `denex token create --role officer` + `denex node card`
    make it; returns it and its card."""
    settings = Settings(data_dir=data_dir, insecure_dev_keys=True, insecure_dev_http=True)
    fields: dict[str, object] = {
        "node_id": node_id,
        "federation": FEDERATION,
        "country": COUNTRIES.get(node_id, "DE"),
        "name": f"Security test authority {node_id}",
        "url": f"http://{HOST}:{port}",
        "regimes": ["AG", "EU", "HRI", "MTCR", "NSG", "WA"],
    }
    now = utc_now()
    _node_id, admin = await init_node(settings, identity_fields=fields, now=now)
    db, node = await open_node(settings, upgrade=False)
    try:
        async with db.write() as session:
            _row, officer = await create_token(
                session, name="security-officer", role="officer", expires_days=None, now=now
            )
        root = load_keypair(settings, settings.keys_dir / ROOT_KEY_FILE)
        card = signed_card(node.identity, root, issued_at=now)
    finally:
        await db.dispose()
    tokens = {"admin": admin, "officer": officer}
    return NodeDir(data_dir, env, None, tokens, f"http://{HOST}:{port}"), card.encode()


async def _befriend(node: NodeDir, cards: list[bytes]) -> None:
    """`denex peer add CARD --yes` for each card."""
    settings = Settings(data_dir=node.data_dir, insecure_dev_keys=True, insecure_dev_http=True)
    db, opened = await open_node(settings, upgrade=False)
    try:
        async with db.write() as session:
            for card in cards:
                await add_peer(
                    session, card, identity=opened.identity, insecure_http=True, now=utc_now()
                )
    finally:
        await db.dispose()


async def _make_ring(
    tmp_path: Path, honest_ids: tuple[str, ...], env: dict[str, str]
) -> tuple[dict[str, Member], Hostile]:
    hostile = Hostile.make("aq-rogue", federation=FEDERATION)
    members: dict[str, Member] = {}
    cards = {hostile.node_id: hostile.card()}
    for node_id in honest_ids:
        port = free_port()
        node, cards[node_id] = await _init(tmp_path / node_id, node_id, port, env)
        members[node_id] = Member(node, port)
    for node_id, member in members.items():
        await _befriend(member.node, [card for other, card in cards.items() if other != node_id])
    return members, hostile


def make_ring(tmp: Path, *honest_ids: str, env: dict[str, str] | None = None) -> Ring:
    """Initialise the honest nodes in `tmp`, peer them with each other and with a new hostile
    member, and start the hostile server (`Ring.close` stops everything)."""
    node_vars = {"DENEX_INSECURE_DEV_HTTP": "1", "DENEX_SYNC_INTERVAL": "3600", **(env or {})}
    members, hostile = asyncio.run(
        _make_ring(tmp, honest_ids, node_env(passphrase=None, insecure_keys=True, **node_vars))
    )
    return Ring(members, hostile.__enter__(), tmp)


@pytest.fixture
def ring(tmp_path: Path) -> Iterator[RingFactory]:
    made: list[Ring] = []

    def _make(*honest_ids: str, env: dict[str, str] | None = None) -> Ring:
        made.append(make_ring(tmp_path, *honest_ids, env=env))
        return made[-1]

    yield _make
    for made_ring in made:
        made_ring.close()
