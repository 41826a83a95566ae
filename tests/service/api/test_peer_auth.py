"""Peer authentication of `/federation/v1` (DESIGN §5), on a real node's app.

A request is answered only if it carries an RFC 9421 signature made with the signing key of
an active roster peer, with `created` within ±300 s of the node's clock. Which keys a peer may
use: the key statements of its log when this node holds it (a retired key for 24 h more, a
revoked one never), else its card's hint. Everything else is a 401 problem document.
"""

import contextlib
import sqlite3
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from federation.core import httpsig
from federation.network.client import PeerAuth
from federation.storage.tables import EntryRow
from keys.ed25519 import KeyPair
from service.api.app import create_app
from service.api.replays import FILE, PRUNE_EVERY, ReplayCache
from service.keyadmin import revoke, rotate
from service.node import ROOT_KEY_FILE, load_keypair, signing_key_file, stored_card
from service.peer_keys import CACHE_TTL, PeerKey, PeerKeyCache, peer_signing_keys
from service.roster import remove_peer
from tests.nodes import FakeClock, LiveNode, node_url
from tests.peers import Partner, befriend, peer_auth

LOGS = "/federation/v1/logs"
URL = f"{node_url('de-bafa')}{LOGS}"  # what de-bafa publishes: peers sign for it


def _refused(r: httpx.Response, *words: str) -> None:
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == "application/problem+json"
    # the challenge asks for an RFC 9421 signature, not a bearer token
    assert r.headers["www-authenticate"].startswith("Signature"), r.headers
    assert r.headers["accept-signature"] == (
        'sig1=("@method" "@authority" "@path" "@query");created;keyid;alg="ed25519"'
    )
    detail = r.json()["detail"]
    for word in words:
        assert word in detail, detail


async def test_a_roster_peer_is_answered(live: LiveNode) -> None:
    auth = await peer_auth(live)
    r = await live.client.get(LOGS, auth=auth)
    assert r.status_code == 200, r.text
    r = await live.client.get(f"{LOGS}/de-bafa/entries", params={"start": 0}, auth=auth)
    assert r.status_code == 200 and r.json()["next"] == 1


async def test_unsigned_requests_and_tokens_are_401(live: LiveNode) -> None:
    await peer_auth(live)
    _refused(await live.client.get(LOGS), "RFC 9421")
    _refused(await live.client.get(LOGS, headers=live.auth("admin")), "RFC 9421")


async def test_a_key_of_no_peer_is_401(live: LiveNode) -> None:
    await peer_auth(live)
    stranger = Partner.make("jp-meti")  # not in the roster
    _refused(await live.client.get(LOGS, auth=stranger.auth(live.state.clock)), "not a signing key")


async def test_the_root_key_does_not_sign_requests(live: LiveNode) -> None:
    partner = Partner.make()
    await befriend(live, partner)
    r = await live.client.get(LOGS, auth=partner.auth(live.state.clock, key=partner.root))
    _refused(r, "not a signing key")


async def test_a_removed_peer_is_401_and_answered_again_when_re_added(
    live: LiveNode, clock: FakeClock
) -> None:
    partner = Partner.make()
    await befriend(live, partner)
    auth = partner.auth(live.state.clock)
    assert (await live.client.get(LOGS, auth=auth)).status_code == 200
    async with live.db.write() as session:
        await remove_peer(session, "fr-sbdu", now=live.state.clock())
    clock.advance(seconds=1)  # roster changes are in force within CACHE_TTL
    _refused(await live.client.get(LOGS, auth=auth), "not a signing key")
    await befriend(live, partner)
    clock.advance(seconds=1)
    assert (await live.client.get(LOGS, auth=auth)).status_code == 200


async def test_the_key_cache_queries_only_after_its_ttl_and_sees_changes(
    live: LiveNode, clock: FakeClock
) -> None:
    partner = Partner.make()
    await befriend(live, partner)
    opened = 0

    def sessions() -> AbstractAsyncContextManager[AsyncSession]:
        nonlocal opened
        opened += 1
        return live.db.read()

    cache = PeerKeyCache()
    start = clock()
    assert partner.signing.key_id in await cache.get(sessions, start)
    await cache.get(sessions, start + timedelta(seconds=0.5))
    assert opened == 1  # within the ttl: no query at all
    await cache.get(sessions, start + CACHE_TTL)
    assert opened == 2  # one stamp query: nothing changed, nothing recomputed
    async with live.db.write() as session:
        await remove_peer(session, "fr-sbdu", now=start)
    assert partner.signing.key_id in await cache.get(sessions, start + CACHE_TTL * 1.5)
    assert await cache.get(sessions, start + CACHE_TTL * 2) == {}
    assert await cache.get(sessions, start) == {}  # the clock went back: checked again
    assert opened == 4


async def test_created_must_be_within_300_seconds(live: LiveNode) -> None:
    partner = Partner.make()
    await befriend(live, partner)
    for offset, status in ((-301, 401), (-299, 200), (299, 200), (301, 401)):
        skewed = live.state.clock() + timedelta(seconds=offset)
        r = await live.client.get(LOGS, auth=PeerAuth(partner.signing, clock=lambda t=skewed: t))
        assert r.status_code == status, (offset, r.text)
        if status == 401:
            _refused(r, "±300 s")


async def test_a_signature_for_another_request_is_401(live: LiveNode) -> None:
    partner = Partner.make()
    await befriend(live, partner)
    now = live.state.clock()
    for signed_url in (
        f"{URL}?x=1",
        URL.replace("logs", "logz"),
        URL.replace("de-bafa.test", "other.test"),
    ):
        headers = httpsig.sign_request("GET", signed_url, body=b"", key=partner.signing, now=now)
        _refused(await live.client.get(LOGS, headers=headers))
    headers = httpsig.sign_request("POST", URL, body=b"", key=partner.signing, now=now)
    _refused(await live.client.get(LOGS, headers=headers))


async def test_a_body_must_match_its_signed_digest(live: LiveNode) -> None:
    partner = Partner.make()
    await befriend(live, partner)
    now = live.state.clock()
    body = b'{"origin": "fr-sbdu", "size": 3}'
    headers = httpsig.sign_request("GET", URL, body=body, key=partner.signing, now=now)
    headers["Content-Type"] = "application/json"
    assert (
        await live.client.request("GET", LOGS, content=body, headers=headers)
    ).status_code == 200
    headers = httpsig.sign_request("GET", URL, body=body, key=partner.signing, now=now)
    headers["Content-Type"] = "application/json"
    r = await live.client.request("GET", LOGS, content=body + b" ", headers=headers)
    _refused(r, "Content-Digest")
    unsigned_body = httpsig.sign_request("GET", URL, body=b"", key=partner.signing, now=now)
    unsigned_body["Content-Type"] = "application/json"
    _refused(await live.client.request("GET", LOGS, content=body, headers=unsigned_body))


async def _hold_log_of(live: LiveNode, other: LiveNode) -> None:
    """Copy `other`'s key statements into `live`'s store, as sync will have done."""
    async with other.db.read() as session:
        rows = list(
            await session.scalars(
                select(EntryRow).where(EntryRow.origin == other.node.identity.node_id)
            )
        )
    columns = [c.key for c in EntryRow.__table__.columns]
    async with live.db.write() as session:
        await session.execute(
            EntryRow.__table__.delete().where(EntryRow.origin == other.node.identity.node_id)
        )
        await session.execute(insert(EntryRow), [{c: getattr(r, c) for c in columns} for r in rows])


async def test_keys_come_from_the_peer_log_with_a_grace_period_for_retired_keys(
    live: LiveNode, make_node: Callable[..., Awaitable[LiveNode]], clock: FakeClock
) -> None:
    partner = await make_node("fr-sbdu")  # a real node (on SQLite) whose log this node holds
    async with partner.db.read() as session:
        card = (await stored_card(session)).encode()
    await befriend(live, card)
    old = partner.node.signing
    assert (await live.client.get(LOGS, auth=PeerAuth(old, clock=clock))).status_code == 200

    root = load_keypair(partner.settings, partner.settings.keys_dir / ROOT_KEY_FILE)
    async with partner.db.write() as session:
        _old_id, new_id = await rotate(session, partner.settings, root, now=clock())
    new = load_keypair(partner.settings, partner.settings.keys_dir / signing_key_file(new_id))

    # Until this node holds the rotation, the card's hint (old key) is all it knows.
    _refused(await live.client.get(LOGS, auth=PeerAuth(new, clock=clock)), "not a signing key")

    await _hold_log_of(live, partner)
    clock.advance(seconds=1)  # the key cache's ttl
    assert (await live.client.get(LOGS, auth=PeerAuth(new, clock=clock))).status_code == 200
    assert (await live.client.get(LOGS, auth=PeerAuth(old, clock=clock))).status_code == 200
    clock.advance(hours=23, minutes=59)
    assert (await live.client.get(LOGS, auth=PeerAuth(old, clock=clock))).status_code == 200
    clock.advance(minutes=1)
    _refused(await live.client.get(LOGS, auth=PeerAuth(old, clock=clock)), "not a signing key")
    assert (await live.client.get(LOGS, auth=PeerAuth(new, clock=clock))).status_code == 200

    # A revoked key is refused at once, with no grace.
    async with partner.db.write() as session:
        await revoke(
            session,
            partner.settings,
            root,
            revoked_key=new_id,
            valid_below=3,
            reason="stolen",
            now=clock(),
        )
    await _hold_log_of(live, partner)
    clock.advance(seconds=1)
    _refused(await live.client.get(LOGS, auth=PeerAuth(new, clock=clock)), "not a signing key")
    async with live.db.read() as session:
        keys = await peer_signing_keys(session, clock())
    # revoking the key in use added a third one: only that one is left
    assert [k.node_id for k in keys.values()] == ["fr-sbdu"]
    assert next(iter(keys.values())).key not in (old.public, new.public)


async def test_signing_keys_map_to_their_peers(live: LiveNode) -> None:
    one, two = Partner.make("fr-sbdu"), Partner.make("jp-meti")
    await befriend(live, one)
    await befriend(live, two)
    async with live.db.read() as session:
        keys = await peer_signing_keys(session, live.state.clock())
    assert keys == {
        one.signing.key_id: PeerKey("fr-sbdu", one.signing.public),
        two.signing.key_id: PeerKey("jp-meti", two.signing.public),
    }


async def test_a_key_claimed_by_two_peers_cards_is_accepted_for_neither(live: LiveNode) -> None:
    one, two = Partner.make("fr-sbdu"), Partner.make("jp-meti")
    shared = KeyPair.generate()
    await befriend(live, one.card(signing=[one.signing.public, shared.public]))
    await befriend(live, two.card(signing=[shared.public]))
    _refused(await live.client.get(LOGS, auth=PeerAuth(shared, clock=live.state.clock)))
    assert (await live.client.get(LOGS, auth=one.auth(live.state.clock))).status_code == 200


# --- addressed to this node, accepted once (DESIGN §5, revised 2026-12-04) -------------------


async def test_a_signature_made_for_another_node_is_refused_whatever_the_host(
    live: LiveNode,
) -> None:
    """A partner's request to another node, replayed here: @authority is rebuilt from this
    node's published URL, never from Host, so it does not verify, even under the Host it
    was signed for."""
    partner = Partner.make()
    await befriend(live, partner)
    now = live.state.clock()
    elsewhere = URL.replace("de-bafa.test", "nl-cdiu.test")
    for scheme_url in (elsewhere, URL.replace("http://", "https://") + "x"):
        headers = httpsig.sign_request("GET", scheme_url, body=b"", key=partner.signing, now=now)
        for host in ("nl-cdiu.test", "de-bafa.test"):
            r = await live.client.get(LOGS, headers={**headers, "Host": host})
            _refused(r)
    headers = httpsig.sign_request("GET", elsewhere, body=b"", key=partner.signing, now=now)
    r = await live.client.get(LOGS, headers={**headers, "Host": "nl-cdiu.test"})
    _refused(r, "this node is de-bafa.test", "addressed to nl-cdiu.test")


async def test_forwarded_headers_do_not_change_the_address(live: LiveNode) -> None:
    partner = Partner.make()
    await befriend(live, partner)
    other = URL.replace("de-bafa.test", "evil.test")
    headers = httpsig.sign_request(
        "GET", other, body=b"", key=partner.signing, now=live.state.clock()
    )
    forwarded = {"X-Forwarded-Host": "evil.test", "X-Forwarded-Proto": "http", "Host": "evil.test"}
    _refused(await live.client.get(LOGS, headers={**headers, **forwarded}))


async def test_a_signature_is_accepted_once_and_a_nonce_tells_twins_apart(live: LiveNode) -> None:
    partner = Partner.make()
    await befriend(live, partner)
    now = live.state.clock()
    headers = httpsig.sign_request("GET", URL, body=b"", key=partner.signing, now=now)
    assert (await live.client.get(LOGS, headers=headers)).status_code == 200
    _refused(await live.client.get(LOGS, headers=headers), "already used")
    # the same request in the same second, signed twice with different nonces: both pass
    for nonce in ("a", "b"):
        twin = httpsig.sign_request("GET", URL, body=b"", key=partner.signing, now=now, nonce=nonce)
        assert (await live.client.get(LOGS, headers=twin)).status_code == 200
    # and the client always adds one
    auth = partner.auth(live.state.clock)
    assert [(await live.client.get(LOGS, auth=auth)).status_code for _ in range(3)] == [200] * 3


async def test_a_replay_to_another_worker_of_the_node_is_refused(live: LiveNode) -> None:
    """Workers of one node share its database, and so what was accepted."""
    partner = Partner.make()
    await befriend(live, partner)
    headers = httpsig.sign_request(
        "GET", URL, body=b"", key=partner.signing, now=live.state.clock()
    )
    other_worker = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(live.state)), base_url=node_url("de-bafa")
    )
    async with other_worker:
        assert (await live.client.get(LOGS, headers=headers)).status_code == 200
        _refused(await other_worker.get(LOGS, headers=headers), "already used")


async def test_accepted_signatures_expire_with_their_window_and_are_pruned(
    live: LiveNode, clock: FakeClock
) -> None:
    auth = await peer_auth(live)
    for _ in range(3):
        assert (await live.client.get(LOGS, auth=auth)).status_code == 200
    store = live.settings.data_dir / FILE
    assert _stored(store) == 3
    assert store.stat().st_mode & 0o777 == 0o600
    clock.advance(seconds=httpsig.WINDOW_SECONDS + PRUNE_EVERY + 1)
    assert (await live.client.get(LOGS, auth=auth)).status_code == 200
    assert _stored(store) == 1


def _stored(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as connection:
        [(count,)] = connection.execute("SELECT count(*) FROM request_signatures")
    return int(count)


async def test_a_peer_past_its_bound_of_live_signatures_waits(
    live: LiveNode, clock: FakeClock
) -> None:
    auth = await peer_auth(live)
    app = live.client._transport.app  # type: ignore[attr-defined]
    app.state.replays = ReplayCache.in_dir(live.settings.data_dir)
    app.state.replays.per_peer = 3
    assert [(await live.client.get(LOGS, auth=auth)).status_code for _ in range(4)] == [
        200,
        200,
        200,
        429,
    ]
    other = await peer_auth(live, "nl-cdiu")  # another peer is not held up by this one
    clock.now += CACHE_TTL  # the key cache sees the new peer
    assert (await live.client.get(LOGS, auth=other)).status_code == 200
    clock.advance(seconds=httpsig.WINDOW_SECONDS + 1)
    r = await live.client.get(LOGS, auth=auth)
    assert r.status_code == 200, r.text


async def test_a_node_behind_a_path_prefix_checks_the_prefix_too(
    make_node: Callable[..., Awaitable[LiveNode]],
) -> None:
    """Published at https://proxy.test/denex, served at the app's root behind a proxy that
    strips the prefix (or with root_path): peers sign the published URL, prefix included."""
    live = await make_node("de-bafa")
    published = "https://proxy.test/denex"
    live.node.identity = replace(live.node.identity, url=published)
    partner = Partner.make()
    await befriend(live, partner)
    now = live.state.clock()
    signed = httpsig.sign_request(
        "GET", f"{published}{LOGS}", body=b"", key=partner.signing, now=now
    )
    assert (await live.client.get(LOGS, headers=signed)).status_code == 200
    rooted = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(live.state), root_path="/denex"),
        base_url="http://internal:8000",
    )
    async with rooted:
        again = httpsig.sign_request(
            "GET", f"{published}{LOGS}", body=b"", key=partner.signing, now=now, nonce="r"
        )
        assert (await rooted.get(f"/denex{LOGS}", headers=again)).status_code == 200
    unprefixed = httpsig.sign_request(
        "GET", f"https://proxy.test{LOGS}", body=b"", key=partner.signing, now=now
    )
    _refused(await live.client.get(LOGS, headers=unprefixed))
