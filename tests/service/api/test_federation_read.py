"""The federation read endpoints: logs, checkpoints, entries and proofs of this node's log,
read as a roster peer signing its requests (RFC 9421)."""

import base64

import pytest

from federation.core import checkpoint as cp
from federation.core import merkle
from federation.core.commitments import LeafChain
from federation.core.noticemap import NoticeMap
from federation.network.client import PeerAuth
from tests.nodes import LiveNode
from tests.peers import peer_auth
from tests.service.notice_data import notice

LOGS = "/federation/v1/logs"


@pytest.fixture
async def peer(live: LiveNode) -> PeerAuth:
    """Signs requests as fr-sbdu, a peer in the node's roster."""
    return await peer_auth(live)


def _b(text: str) -> bytes:
    return base64.b64decode(text)


async def _publish(live: LiveNode, count: int) -> None:
    for i in range(count):
        r = await live.client.post(
            "/api/v1/notices", json=notice(reference=f"FR-{i}"), headers=live.auth("officer")
        )
        assert r.status_code == 201, r.text


async def _leaves(live: LiveNode, peer: PeerAuth) -> list[bytes]:
    r = await live.client.get(f"{LOGS}/de-bafa/entries", auth=peer)
    assert r.status_code == 200, r.text
    return [_b(e["leaf_hash"]) for e in r.json()["entries"]]


async def test_logs_head_matches_the_entries_and_the_checkpoint_verifies(
    live: LiveNode, peer: PeerAuth
) -> None:
    await _publish(live, 6)
    r = await live.client.get(LOGS, auth=peer)
    assert r.status_code == 200
    [head] = r.json()
    leaves = await _leaves(live, peer)
    assert head["origin"] == "de-bafa" and head["size"] == 7 == len(leaves)
    assert _b(head["root"]) == merkle.root_of(leaves)
    origin = "denex.test/de-bafa"
    verified = cp.verify_checkpoint(
        head["checkpoint"], origin=origin, keys=[live.node.signing.public]
    )
    keys = LeafChain.of(leaves[:1])  # entry 0, the first key statement (decision 0032)
    heads = NoticeMap.of((leaf, LeafChain.of([leaf])) for leaf in leaves[1:])  # 6 publications
    assert verified.checkpoint == cp.Checkpoint(
        origin, 7, merkle.root_of(leaves), keys, heads.root()
    )
    text = await live.client.get(f"{LOGS}/de-bafa/checkpoint", auth=peer)
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")
    assert text.text == head["checkpoint"]


async def test_every_leaf_hash_is_the_hash_of_its_envelope(live: LiveNode, peer: PeerAuth) -> None:
    await _publish(live, 3)
    r = await live.client.get(f"{LOGS}/de-bafa/entries?start=1&limit=2", auth=peer)
    page = r.json()
    assert [e["seq"] for e in page["entries"]] == [1, 2] and page["next"] == 3
    for entry in page["entries"]:
        assert _b(entry["leaf_hash"]) == merkle.leaf(entry["envelope"].encode())
        assert entry["content"] is not None
    past = await live.client.get(f"{LOGS}/de-bafa/entries?start=99", auth=peer)
    assert past.json() == {"entries": [], "next": 99}


async def test_inclusion_and_consistency_proofs_verify(live: LiveNode, peer: PeerAuth) -> None:
    await _publish(live, 10)
    leaves = await _leaves(live, peer)
    for size in (1, 2, 5, 8, 11):
        root = merkle.root_of(leaves[:size])
        for index in range(size):
            r = await live.client.get(
                f"{LOGS}/de-bafa/proof/inclusion?index={index}&size={size}",
                auth=peer,
            )
            assert r.status_code == 200, r.text
            proof = [_b(h) for h in r.json()["hashes"]]
            merkle.verify_inclusion(leaves[index], index, size, proof, root)
        for old in range(1, size + 1):
            r = await live.client.get(
                f"{LOGS}/de-bafa/proof/consistency?from={old}&to={size}",
                auth=peer,
            )
            assert r.status_code == 200, r.text
            body = r.json()
            assert (body["from"], body["to"]) == (old, size)
            proof = [_b(h) for h in body["hashes"]]
            merkle.verify_consistency(old, size, merkle.root_of(leaves[:old]), root, proof)
            if old == size:
                assert proof == []


@pytest.mark.parametrize(
    "query",
    [
        "proof/inclusion?index=3&size=3",
        "proof/inclusion?index=0&size=99",
        "proof/consistency?from=0&to=2",
        "proof/consistency?from=3&to=2",
        "proof/consistency?from=1&to=99",
    ],
)
async def test_proofs_out_of_range_are_400_problems(
    live: LiveNode, peer: PeerAuth, query: str
) -> None:
    await _publish(live, 3)
    r = await live.client.get(f"{LOGS}/de-bafa/{query}", auth=peer)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"]


async def test_unknown_origin_is_404_and_unsigned_requests_are_401(
    live: LiveNode, peer: PeerAuth
) -> None:
    r = await live.client.get(f"{LOGS}/jp-meti/checkpoint", auth=peer)
    assert r.status_code == 404
    assert (await live.client.get(LOGS)).status_code == 401
    # a token is not a peer's signature, whatever its role
    for role in ("officer", "auditor", "admin"):
        r = await live.client.get(LOGS, headers=live.auth(role))
        assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"
