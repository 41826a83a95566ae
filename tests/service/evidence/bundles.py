"""Evidence bundles made by a real node for the tests of this package: a notice published,
amended and revoked (with another notice of the node in between), and the node's card that
an auditor would trust."""

from typing import Any

from tests.nodes import LiveNode
from tests.service.notice_data import notice


async def amended_notice_bundle(live: LiveNode, **overrides: Any) -> tuple[str, bytes]:
    """Publish a notice (`overrides` change its first version), another one, amend the first
    and revoke it; return its id and its evidence bundle as the API serves it."""
    officer = live.auth("officer")
    r = await live.client.post("/api/v1/notices", json=notice(**overrides), headers=officer)
    assert r.status_code == 201, r.text
    nid = r.json()["notice_id"]
    await live.client.post("/api/v1/notices", json=notice(reference="OTHER-1"), headers=officer)
    r = await live.client.post(
        f"/api/v1/notices/{nid}/amend", json=notice(destination="IR"), headers=officer
    )
    assert r.status_code == 200, r.text
    r = await live.client.post(
        f"/api/v1/notices/{nid}/revoke", json={"reason": "granted on appeal"}, headers=officer
    )
    assert r.status_code == 200, r.text
    r = await live.client.get(f"/api/v1/evidence/{nid}", headers=live.auth("auditor"))
    assert r.status_code == 200, r.text
    return nid, r.content


async def node_card(live: LiveNode) -> bytes:
    """The node's card as it publishes it: what an auditor passes to `denex verify --trust`."""
    from service.node import stored_card

    async with live.db.read() as session:
        return (await stored_card(session)).encode()
