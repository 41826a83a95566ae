"""Every node shows the hash of its rule profile (`GET /api/v1/rules`, and a header on every
answer), and a peer whose answers name another profile is flagged in `GET /api/v1/peers`."""

from service.rules.profile import PROFILE_HEADER, builtin
from tests.nodes import FakeClock, LiveNode
from tests.service.rules.profiles import profile_where, settings_with
from tests.sync_peers import sync_once


async def test_the_rules_and_their_hash_for_officers_and_auditors(live: LiveNode) -> None:
    for role in ("officer", "auditor"):
        r = await live.client.get("/api/v1/rules", headers=live.auth(role))
        assert r.status_code == 200, r.text
        assert r.json()["hash"] == builtin().hash == r.headers[PROFILE_HEADER]
        assert r.json()["profile"] == builtin().document()
    r = await live.client.get("/api/v1/rules", headers=live.auth("admin"))
    assert r.status_code == 403 and r.headers[PROFILE_HEADER] == builtin().hash
    r = await live.client.get("/api/v1/notices")  # a refusal carries it too
    assert r.status_code == 401 and r.headers[PROFILE_HEADER] == builtin().hash


async def test_a_peer_on_another_rule_profile_is_flagged(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    fr, de = pair

    async def de_status() -> dict[str, object]:
        r = await fr.client.get("/api/v1/peers", headers=fr.auth("admin"))
        [peer] = [p for p in r.json()["items"] if p["node_id"] == "de-bafa"]
        return dict(peer["status"])

    assert (await sync_once(fr, de, clock)).error is None
    status = await de_status()
    assert status["rule_profile"] == builtin().hash
    assert not [a for a in status["alerts"] if "rule profile" in str(a)]  # type: ignore[attr-defined]

    other = profile_where(NSG={"consultation": {"reply_days": 14}})
    de.state.settings = settings_with(de.state.settings, other)
    assert (await sync_once(fr, de, clock)).error is None
    status = await de_status()
    assert status["rule_profile"] == other.hash
    assert (
        f"rule profile: the peer runs {other.hash}, this node {builtin().hash}" in status["alerts"]
    )  # type: ignore[operator]
