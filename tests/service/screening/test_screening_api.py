"""The screening API on one node (DESIGN §7): matches with reasons against every origin's
active notices, the snapshot and algorithm stored for reproduction, inactive notices never
matched, open screenings re-evaluated as notices change, and bad input refused whole."""

from typing import Any

import pytest
from sqlalchemy import func, select

from service.screening import screenings
from service.storage.models import AuditRow, ScreeningRow
from tests.nodes import FakeClock, LiveNode
from tests.service.notice_data import application, insert_foreign_notice, notice


async def _publish(live: LiveNode, **overrides: Any) -> str:
    r = await live.client.post(
        "/api/v1/notices", json=notice(**overrides), headers=live.auth("officer")
    )
    assert r.status_code == 201, r.text
    return str(r.json()["notice_id"])


async def _screen(live: LiveNode, **overrides: Any) -> dict[str, Any]:
    r = await live.client.post(
        "/api/v1/screenings", json=application(**overrides), headers=live.auth("officer")
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def _verdicts(screening: dict[str, Any]) -> dict[str, str]:
    return {m["notice_id"]: m["verdict"] for m in screening["matches"]}


async def test_empty_node_screens_to_no_matches(live: LiveNode) -> None:
    screening = await _screen(live)
    assert screening["matches"] == []
    assert screening["status"] == "open"
    r = await live.client.get(
        f"/api/v1/screenings/{screening['screening_id']}", headers=live.auth("officer")
    )
    assert r.status_code == 200 and r.json()["matches"] == []


async def test_matches_own_and_partner_notices_with_reasons_and_snapshot(
    live: LiveNode, clock: FakeClock
) -> None:
    own = await _publish(live)
    partner = await insert_foreign_notice(live, clock)
    unrelated = await _publish(
        live,
        destination="IR",
        parties=[{"role": "end_user", "name": "Caspian Valve Works", "aliases": []}],
    )
    screening = await _screen(live)
    verdicts = _verdicts(screening)
    assert verdicts.get(own) == "consult" and verdicts.get(partner) == "consult"
    assert unrelated not in verdicts
    match = screening["matches"][0]
    assert 0.8 <= match["score"] <= 1.0
    assert {"destination", "items", "parties"} <= set(match["features"])
    assert set(screening["snapshot"]) == {"de-bafa", "fr-sbdu"}
    assert all(s["size"] > 0 and s["root"] for s in screening["snapshot"].values())
    assert screening["staleness"]["fr-sbdu"]["stale"] is True  # never heard from directly
    r = await live.client.get(
        f"/api/v1/screenings/{screening['screening_id']}", headers=live.auth("officer")
    )
    assert r.json() == screening  # the answer is what was stored
    async with live.db.read() as session:  # stored, and recorded in the audit trail
        stored = await session.get(ScreeningRow, screening["screening_id"])
        assert stored is not None and stored.application["reference"] == "SBDU-APP-2026-9"
        actions = list(await session.scalars(select(AuditRow.action)))
        assert "screening.run" in actions


async def test_revoked_and_expired_notices_are_never_matched_but_stay_in_history(
    live: LiveNode, clock: FakeClock
) -> None:
    revoked = await _publish(live)
    expiring = await _publish(
        live, regimes=["WA", "HRI"], decided_on="2026-01-10", valid_until="2026-12-01"
    )
    r = await live.client.post(
        f"/api/v1/notices/{revoked}/revoke",
        json={"reason": "licence conditions changed", "revoked_on": "2026-11-28"},
        headers=live.auth("officer"),
    )
    assert r.status_code == 200, r.text
    assert set(_verdicts(await _screen(live))) == {expiring}
    clock.advance(days=4)  # 2 December: the second notice has expired (its regimes lapse)
    assert _verdicts(await _screen(live)) == {}
    r = await live.client.get(f"/api/v1/notices/{revoked}", headers=live.auth("auditor"))
    assert r.json()["status"] == "revoked" and len(r.json()["versions"]) == 2


async def test_open_screenings_flag_new_changed_and_withdrawn_matches(
    live: LiveNode, clock: FakeClock
) -> None:
    screening = await _screen(live)
    url = f"/api/v1/screenings/{screening['screening_id']}"
    first = await _publish(live)  # published after the screening ran
    clock.advance(minutes=5)
    [new] = (await live.client.get(url, headers=live.auth("officer"))).json()["matches"]
    assert (new["notice_id"], new["change"]) == (first, "new")

    amended = notice(
        destination="RU",
        parties=[{"role": "end_user", "name": "Volga Optics", "aliases": [], "country": "RU"}],
    )
    r = await live.client.post(
        f"/api/v1/notices/{first}/amend", json=amended, headers=live.auth("officer")
    )
    assert r.status_code == 200, r.text
    [gone] = (await live.client.get(url, headers=live.auth("officer"))).json()["matches"]
    assert (gone["verdict"], gone["change"]) == ("withdrawn", "withdrawn")

    r = await live.client.post(
        f"{url}/close", json={"outcome": "refused"}, headers=live.auth("officer")
    )
    assert r.json()["status"] == "closed"
    await _publish(live)  # closed screenings are no longer re-evaluated
    assert len((await live.client.get(url, headers=live.auth("officer"))).json()["matches"]) == 1
    r = await live.client.post(
        f"{url}/close", json={"outcome": "refused"}, headers=live.auth("officer")
    )
    assert r.status_code == 409


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        ({"destination": "ZZ"}, {"destination"}),
        ({"items": []}, {"items"}),
        ({"items": [{"control_entry": "banana", "description": "x"}]}, {"items.0.control_entry"}),
        ({"parties": [{"role": "king", "name": ""}]}, {"parties.0.role", "parties.0.name"}),
        ({"reference": "", "extra": True}, {"reference", "extra"}),
    ],
)
async def test_invalid_applications_get_422_naming_each_field(
    live: LiveNode, change: dict[str, Any], fields: set[str]
) -> None:
    r = await live.client.post(
        "/api/v1/screenings", json=application(**change), headers=live.auth("officer")
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert {e["field"] for e in r.json()["errors"]} == fields
    async with live.db.read() as session:
        assert await session.scalar(select(func.count()).select_from(ScreeningRow)) == 0


async def test_any_script_long_descriptions_and_many_aliases_are_screened(live: LiveNode) -> None:
    await _publish(live)
    names = ["株式会社北方信号", "شركة الإشارة الشمالية", "Βόρειο Σήμα ΑΕ", "צפון סיגנל בע״מ", "🛰️"]
    screening = await _screen(
        live,
        items=[{"control_entry": "catch-all", "description": "spectrum analyser " * 1100}],
        parties=[{"role": "end_user", "name": name, "aliases": names * 10} for name in names],
        end_use="x" * 20000,
    )
    assert isinstance(screening["matches"], list)


async def test_screenings_are_for_officers(live: LiveNode) -> None:
    for role, status in (("auditor", 403), ("admin", 403)):
        r = await live.client.post(
            "/api/v1/screenings", json=application(), headers=live.auth(role)
        )
        assert r.status_code == status
    r = await live.client.post("/api/v1/screenings", json=application())
    assert r.status_code == 401


async def test_a_large_change_rescreens_open_screenings_whole(
    live: LiveNode, clock: FakeClock
) -> None:
    """Past FULL_RESCREEN changed notices, an open screening is screened again as a whole
    (here with a limit of 0): the same flags as re-scoring notice by notice."""
    kept = await _publish(live)
    screening = await _screen(live)
    gone = await _publish(live, decided_on="2026-01-10", valid_until="2026-12-01")
    r = await live.client.post(
        f"/api/v1/notices/{kept}/revoke",
        json={"reason": "superseded by a court ruling", "revoked_on": "2026-11-28"},
        headers=live.auth("officer"),
    )
    assert r.status_code == 200, r.text
    changed = (await live.state.screening.refresh()).changed
    flagged = await screenings.reevaluate(
        live.db, live.state.screening, changed, now=clock(), full_rescreen=0
    )
    assert flagged == 2
    async with live.db.read() as session:
        _row, matches = await screenings.get(session, screening["screening_id"])
    assert {(m.notice_id, m.change) for m in matches} == {(kept, "withdrawn"), (gone, "new")}
