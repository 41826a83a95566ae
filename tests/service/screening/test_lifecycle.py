"""Denials under a regime whose rules keep them in force until revoked (the EU's, in the
built-in rule profile) stay matched past their review date, as `review_overdue`; those under
regimes that lapse expire. The notice list and export say which is which."""

import json
from typing import Any

from service.rules.profile import parse
from tests.nodes import FakeClock, LiveNode
from tests.service.notice_data import application, notice
from tests.service.rules.profiles import profile_where, settings_with


async def _publish(live: LiveNode, **overrides: Any) -> str:
    r = await live.client.post(
        "/api/v1/notices", json=notice(**overrides), headers=live.auth("officer")
    )
    assert r.status_code == 201, r.text
    return str(r.json()["notice_id"])


async def _matched(live: LiveNode) -> set[str]:
    r = await live.client.post(
        "/api/v1/screenings", json=application(), headers=live.auth("officer")
    )
    assert r.status_code == 201, r.text
    return {m["notice_id"] for m in r.json()["matches"]}


async def _listed(live: LiveNode, **query: str) -> dict[str, str]:
    r = await live.client.get("/api/v1/notices", params=query, headers=live.auth("auditor"))
    assert r.status_code == 200, r.text
    return {n["notice_id"]: n["status"] for n in r.json()["items"]}


async def test_an_eu_denial_past_its_review_date_is_still_matched(
    live: LiveNode, clock: FakeClock
) -> None:
    eu = await _publish(live, regimes=["EU"], decided_on="2023-11-20", valid_until="2026-12-01")
    wa = await _publish(
        live, regimes=["WA", "HRI"], decided_on="2023-11-20", valid_until="2026-12-01"
    )
    both = await _publish(live, decided_on="2023-11-20", valid_until="2026-12-01")  # WA, EU, HRI
    fresh = await _publish(live, regimes=["WA"])  # valid until 2029
    assert await _matched(live) == {eu, wa, both, fresh}
    assert await _listed(live, review_due="true") == {eu: "active", wa: "active", both: "active"}

    clock.advance(days=10)  # 8 December 2026: every review date but fresh's has passed
    assert await _matched(live) == {eu, both, fresh}  # the WA/HRI denial lapsed
    statuses = await _listed(live)
    assert statuses == {
        eu: "review_overdue",
        wa: "expired",
        both: "review_overdue",
        fresh: "active",
    }
    r = await live.client.get(f"/api/v1/notices/{eu}", headers=live.auth("officer"))
    assert (r.json()["status"], r.json()["review_due"]) == ("review_overdue", True)
    assert set(await _listed(live, status="review_overdue")) == {eu, both}
    assert set(await _listed(live, status="expired")) == {wa}
    assert set(await _listed(live, status="active")) == {fresh}
    assert set(await _listed(live, review_due="true")) == {eu, both}
    assert set(await _listed(live, review_due="false")) == {wa, fresh}


async def test_the_rule_profile_decides_which_regimes_keep_denials_in_force(
    live: LiveNode, clock: FakeClock
) -> None:
    """Under a profile where Wassenaar denials last and the EU's lapse, the same notices read
    the other way round; under one whose default lasts, a regime it does not list lasts."""
    eu = await _publish(live, regimes=["EU"], decided_on="2023-11-20", valid_until="2026-12-01")
    wa = await _publish(live, regimes=["WA"], decided_on="2023-11-20", valid_until="2026-12-01")
    hri = await _publish(live, regimes=["HRI"], decided_on="2023-11-20", valid_until="2026-12-01")
    clock.advance(days=10)
    swapped = profile_where(WA={"denials": "in_force_until_revoked"}, EU={"denials": "lapse"})
    live.state.settings = settings_with(live.state.settings, swapped)
    assert await _listed(live) == {eu: "expired", wa: "review_overdue", hri: "expired"}
    assert set(await _listed(live, status="review_overdue")) == {wa}

    document = swapped.document()
    document["default"]["denials"] = "in_force_until_revoked"  # type: ignore[index]
    del document["regimes"]["HRI"]  # type: ignore[attr-defined]
    lasting_default = parse(json.dumps(document).encode())
    live.state.settings = settings_with(live.state.settings, lasting_default)
    assert await _listed(live) == {eu: "expired", wa: "review_overdue", hri: "review_overdue"}
    assert set(await _listed(live, status="expired")) == {eu}
    assert set(await _listed(live, status="review_overdue")) == {wa, hri}
