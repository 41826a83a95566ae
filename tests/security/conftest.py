"""The security suite: attacks mounted by a hostile roster member against real nodes.

Strategy: the honest side is real — `denex init`, `denex peer add` of every card and
`denex serve` processes on 127.0.0.1 (tests/system/test_federation.py `Member`) — and the
adversary is a `tests.hostile.Hostile`: a partner with real keys and a card that the honest
nodes accepted, running its own scripted federation server. Each test mounts one attack
through these processes and checks that it is refused with nothing stored, leaked, stalled or
grown beyond its bound (docs/security.md lists them).

`ring(*honest_ids)` (a factory fixture; `make_ring` for a module-scoped ring) initialises
the honest nodes (unencrypted development keys, plain HTTP, `DENEX_SYNC_INTERVAL=3600` so
that only the test decides when to sync unless it says otherwise), peers them with each
other and with the hostile member, and starts the hostile server. Honest nodes are served
only when a test calls `member.serve(...)`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.hostile import Hostile
from tests.system.conftest import HOST, free_port, init_node, node_env, ok
from tests.system.test_federation import Member

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


def make_ring(tmp: Path, *honest_ids: str, env: dict[str, str] | None = None) -> Ring:
    """Initialise the honest nodes in `tmp`, peer them with each other and with a new hostile
    member, and start the hostile server (`Ring.close` stops everything). Each node's CLI
    commands run in order, the nodes side by side."""
    hostile = Hostile.make("aq-rogue", federation=FEDERATION)
    node_vars = {"DENEX_INSECURE_DEV_HTTP": "1", "DENEX_SYNC_INTERVAL": "3600", **(env or {})}

    def initialised(node_id: str) -> Member:
        port = free_port()
        node = init_node(
            tmp / node_id,
            node_id=node_id,
            country=COUNTRIES.get(node_id, "DE"),
            env=node_env(insecure_keys=True, **node_vars),
            url=f"http://{HOST}:{port}",
        )
        node.create_token("officer")
        return Member(node, port)

    with ThreadPoolExecutor(max_workers=max(1, len(honest_ids))) as pool:
        members = dict(zip(honest_ids, pool.map(initialised, honest_ids), strict=True))
        printed = pool.map(lambda m: ok(m.node.run("node", "card")).stdout, members.values())
        cards = {n: card.encode() for n, card in zip(members, printed, strict=True)}
        cards[hostile.node_id] = hostile.card()
        for other, card in cards.items():
            (tmp / f"{other}.card.json").write_bytes(card)

        def befriend(node_id: str) -> None:
            for other in cards:
                if other != node_id:
                    path = tmp / f"{other}.card.json"
                    ok(members[node_id].node.run("peer", "add", str(path), "--yes"))

        list(pool.map(befriend, members))
    return Ring(members, hostile.__enter__(), tmp)


RingFactory = Callable[..., Ring]


@pytest.fixture
def ring(tmp_path: Path) -> Iterator[RingFactory]:
    made: list[Ring] = []

    def _make(*honest_ids: str, env: dict[str, str] | None = None) -> Ring:
        made.append(make_ring(tmp_path, *honest_ids, env=env))
        return made[-1]

    yield _make
    for made_ring in made:
        made_ring.close()
