"""The roster (DESIGN §2, §8): adding, replacing, removing peers in the database, with every
change in the audit trail and nothing written on a refusal; and `GET /api/v1/peers`."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from federation.core import keystate
from federation.storage.tables import PeerRow
from keys.ed25519 import KeyPair, fingerprint
from service.errors import Conflict, InvalidInput, NotFound
from service.peer_keys import PeerKey, http_keys, merge_keys
from service.roster import add_peer, list_peers, remove_peer
from service.storage.models import AuditRow
from tests.nodes import START, FakeClock, LiveNode
from tests.peers import Partner, befriend

PEERS = "/api/v1/peers"


async def _counts(live: LiveNode) -> tuple[int, int]:
    async with live.db.read() as session:
        peers = await session.scalar(select(func.count()).select_from(PeerRow))
        audit = await session.scalar(select(func.count()).select_from(AuditRow))
    return int(peers or 0), int(audit or 0)


async def _audit_actions(live: LiveNode) -> list[tuple[str, str | None]]:
    async with live.db.read() as session:
        rows = await session.scalars(select(AuditRow).order_by(AuditRow.seq))
        return [(r.action, r.target) for r in rows if r.action.startswith("peer.")]


async def test_peers_are_listed_for_admins_and_auditors(live: LiveNode) -> None:
    partner = Partner.make()
    await befriend(live, partner)
    for role in ("admin", "auditor"):
        r = await live.client.get(PEERS, headers=live.auth(role))
        assert r.status_code == 200, r.text
    assert r.json() == {
        "items": [
            {
                "node_id": "fr-sbdu",
                "name": "Partner authority fr-sbdu",
                "country": "FR",
                "url": "https://fr-sbdu.denex.example",
                "regimes": ["EU", "HRI", "WA"],
                "fingerprint": fingerprint(partner.root.public),
                "card_version": 1,
                "added_at": "2026-11-28T12:00:00Z",
                "removed_at": None,
                "status": {
                    "last_success": None,
                    "last_error": None,
                    "lag": {},
                    "fresh_at": None,
                    "rule_profile": None,
                    "alerts": [
                        "stale: the log of fr-sbdu was last seen current never",
                    ],
                },
            }
        ],
        "next_cursor": None,
    }
    assert (await live.client.get(PEERS)).status_code == 401
    r = await live.client.get(PEERS, headers=live.auth("officer"))
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"


async def test_a_newer_card_replaces_the_old_one_and_everything_is_audited(
    live: LiveNode, clock: FakeClock
) -> None:
    partner = Partner.make()
    await befriend(live, partner)
    clock.advance(hours=1)
    partner.url = "https://new.fr-sbdu.denex.example"
    async with live.db.write() as session:
        row = await add_peer(
            session,
            partner.card(version=2),
            identity=live.node.identity,
            regimes_override=["WA"],
            now=clock(),
        )
        assert (row.card_version, row.url, row.regimes) == (2, partner.url, ["WA"])
    async with live.db.write() as session:
        await remove_peer(session, "fr-sbdu", now=clock())
    await befriend(live, partner.card(version=2))
    assert await _audit_actions(live) == [
        ("peer.add", "fr-sbdu"),
        ("peer.replace", "fr-sbdu"),
        ("peer.remove", "fr-sbdu"),
        ("peer.readd", "fr-sbdu"),
    ]
    async with live.db.read() as session:
        [stored] = await list_peers(session)
    assert stored.removed_at is None and stored.card == partner.card(version=2)


async def test_removing_keeps_the_row_and_shows_when(live: LiveNode, clock: FakeClock) -> None:
    await befriend(live, Partner.make())
    clock.advance(minutes=5)
    async with live.db.write() as session:
        await remove_peer(session, "fr-sbdu", now=clock())
    r = await live.client.get(PEERS, headers=live.auth("admin"))
    assert r.json()["items"][0]["removed_at"] == "2026-11-28T12:05:00Z"
    before = await _counts(live)
    with pytest.raises(Conflict, match="already removed"):
        async with live.db.write() as session:
            await remove_peer(session, "fr-sbdu", now=clock())
    with pytest.raises(NotFound, match="not in the roster"):
        async with live.db.write() as session:
            await remove_peer(session, "jp-meti", now=clock())
    assert await _counts(live) == before


REFUSALS = [
    ("other-federation", InvalidInput, "federation", lambda p, n: p.card(federation="other.test")),
    ("own-card", InvalidInput, "own card", None),
    ("http-url", InvalidInput, "https://", lambda p, n: p.card(url="http://fr-sbdu.example")),
    ("bad-node-id", InvalidInput, "node id", lambda p, n: p.card(node_id="FR_SBDU")),
    ("bad-country", InvalidInput, "country", lambda p, n: p.card(country="FRA")),
    ("not-a-card", InvalidInput, "not a valid node card", lambda p, n: b'{"hello": "world"}'),
    (
        "bad-signature",
        InvalidInput,
        "not a valid node card",
        lambda p, n: p.card().replace(b'"sig":"', b'"sig":"AAAA', 1),
    ),
    (
        "signed-by-another-key",
        InvalidInput,
        "not a valid node card",
        lambda p, n: p.card().replace(b'"keyid":"', b'"keyid":"0', 1),
    ),
    ("same-version", Conflict, "already in the roster", lambda p, n: p.card()),
    ("other-root-key", Conflict, "another root key", lambda p, n: p.card(root=KeyPair.generate())),
    ("bad-regimes", InvalidInput, "regimes", None),
]


@pytest.mark.parametrize(
    ("case", "error", "message", "make"), [pytest.param(*r, id=r[0]) for r in REFUSALS]
)
async def test_refused_cards_write_nothing(
    live: LiveNode, case: str, error: type[Exception], message: str, make: object
) -> None:
    partner = Partner.make()
    await befriend(live, partner)
    before = await _counts(live)
    override = None
    if case == "own-card":
        async with live.db.read() as session:
            from service.node import stored_card

            card = (await stored_card(session)).encode()
    elif case == "bad-regimes":
        card, override = Partner.make("jp-meti").card(), ["WA", "XYZ"]
    else:
        card = make(partner, live)  # type: ignore[operator]
    with pytest.raises(error, match=message):
        async with live.db.write() as session:
            await add_peer(
                session, card, identity=live.node.identity, regimes_override=override, now=START
            )
    assert await _counts(live) == before


async def test_an_older_card_is_refused(live: LiveNode) -> None:
    partner = Partner.make()
    await befriend(live, partner.card(version=3))
    with pytest.raises(Conflict, match="older"):
        await befriend(live, partner.card(version=2))


# --- which keys a peer may sign requests with (pure) ----------------------------------------


def _state(*statements: tuple[int, str, dict[str, object], int]) -> keystate.KeyState:
    return keystate.replay(
        keystate.Statement(seq, kind, body, START + timedelta(hours=hours))
        for seq, kind, body, hours in statements
    )


def _added(key: KeyPair) -> dict[str, object]:
    from keys.ed25519 import b64

    return {"key": b64(key.public), "key_id": key.key_id, "purpose": "signing"}


A, B, C = KeyPair.generate(), KeyPair.generate(), KeyPair.generate()


@pytest.mark.parametrize(
    ("hours_after", "expected"),
    [(0, {A, B}), (23.9, {A, B}), (24, {B}), (100, {B})],
)
def test_a_retired_key_is_accepted_for_24_hours(hours_after: float, expected: set[KeyPair]) -> None:
    state = _state(
        (0, "key.added", _added(A), 0),
        (5, "key.added", _added(B), 1),
        (6, "key.retired", {"key_id": A.key_id}, 1),
    )
    now = START + timedelta(hours=1 + hours_after)
    from_log, from_card = http_keys(state, [A.public], now=now)
    assert from_log == {k.key_id: k.public for k in expected} and from_card == {}


def test_a_revoked_key_is_never_accepted_and_unknown_card_keys_are() -> None:
    state = _state(
        (0, "key.added", _added(A), 0),
        (1, "key.added", _added(B), 0),
        (2, "key.revoked", {"key_id": A.key_id, "valid_below_seq": 1, "reason": "lost"}, 0),
    )
    from_log, from_card = http_keys(state, [A.public, C.public], now=START)
    assert from_log == {B.key_id: B.public}
    assert from_card == {C.key_id: C.public}  # the log does not know C yet: the card's word


def test_without_a_log_the_card_hint_is_used() -> None:
    assert http_keys(keystate.KeyState(), [A.public], now=START) == ({}, {A.key_id: A.public})


def test_log_keys_beat_card_hints_and_ties_are_refused() -> None:
    merged = merge_keys(
        {
            "fr-sbdu": ({A.key_id: A.public}, {C.key_id: C.public}),
            "jp-meti": ({}, {A.key_id: A.public, B.key_id: B.public, C.key_id: C.public}),
        }
    )
    assert merged == {
        A.key_id: PeerKey("fr-sbdu", A.public),  # the log says A is fr-sbdu's
        B.key_id: PeerKey("jp-meti", B.public),
    }  # C is claimed by both cards: neither gets it
