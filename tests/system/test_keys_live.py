"""Key rotation and revocation from the command line while `denex serve` keeps serving."""

import json
from collections.abc import Callable

import pytest

from tests.service.notice_data import notice
from tests.system.conftest import ServedNode, ok

pytestmark = pytest.mark.system


def _publish(served: ServedNode, reference: str) -> dict[str, object]:
    with served.client() as client:
        r = client.post("/api/v1/notices", json=notice(reference=reference), headers=served.auth())
    assert r.status_code == 201, r.text
    body: dict[str, object] = r.json()
    return body


def _signer(published: dict[str, object]) -> str:
    versions = published["versions"]
    assert isinstance(versions, list)
    keyid: str = json.loads(versions[-1]["envelope"])["signatures"][0]["keyid"]
    return keyid


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_rotate_and_revoke_on_a_live_node(
    served_node: Callable[..., ServedNode], backend: str
) -> None:
    served = served_node(backend=backend)
    node = served.node
    first = _publish(served, "LIVE-1")
    old_key = _signer(first)

    ok(node.run("keys", "rotate"))
    second = _publish(served, "LIVE-2")  # the running server switches keys by itself
    new_key = _signer(second)
    assert new_key != old_key
    card = json.loads(ok(node.run("node", "card")).stdout)
    assert card["payloadType"] == "application/vnd.denex.card+json; v=1"

    # A compromise of the new key found later: revoke it below the seq of LIVE-2.
    seq = second["versions"][0]["seq"]  # type: ignore[index]
    result = ok(
        node.run("keys", "revoke", new_key, "--valid-below-seq", str(seq), "--reason", "leaked")
    )
    assert "1 entries it signed are now invalid" in result.stderr
    third = _publish(served, "LIVE-3")
    assert _signer(third) not in (old_key, new_key)
    with served.client() as client:
        r = client.get(f"/api/v1/notices/{second['notice_id']}", headers=served.auth())
    assert r.json()["status"] == "invalidated"

    report = ok(node.run("verify-log"))
    assert "VERIFIED" in report.stdout
    assert "1 entries invalidated by a key revocation" in report.stdout
