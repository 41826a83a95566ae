"""Determinations and the duties they create (decision 0034): approving is refused while a
consult match is undetermined, or while a consultation that the notice's regimes require is
missing or awaits its reply within its window; the approval notification owed follows the
determination, not the score."""

from typing import Any

from sqlalchemy import select

from service.storage.models import AuditRow
from tests.nodes import FakeClock, LiveNode
from tests.service.notice_data import application, insert_foreign_notice

APPROVE = {"outcome": "approved", "licence_ref": "LIC-1", "decided_on": "2026-11-28"}


async def _screen(live: LiveNode) -> dict[str, Any]:
    r = await live.client.post(
        "/api/v1/screenings", json=application(), headers=live.auth("officer")
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _determine(
    live: LiveNode, screening: dict[str, Any], notice_id: str, identical: Any, **more: Any
) -> Any:
    body = {"origin": "fr-sbdu", "notice_id": notice_id, "identical": identical, **more}
    body.setdefault("reasons", "Same end user, same item, same destination.")
    return await live.client.post(
        f"/api/v1/screenings/{screening['screening_id']}/determinations",
        json=body,
        headers=live.auth("officer"),
    )


async def _close(live: LiveNode, screening: dict[str, Any], body: dict[str, Any]) -> Any:
    return await live.client.post(
        f"/api/v1/screenings/{screening['screening_id']}/close",
        json=body,
        headers=live.auth("officer"),
    )


async def _consult(live: LiveNode, screening: dict[str, Any], notice_id: str) -> dict[str, Any]:
    r = await live.client.post(
        "/api/v1/consultations",
        json={
            "screening_id": screening["screening_id"],
            "notice_id": notice_id,
            "origin": "fr-sbdu",
            "summary": "s",
            "message": "m",
        },
        headers=live.auth("officer"),
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_an_undetermined_consult_match_blocks_approval_not_refusal(
    live: LiveNode, clock: FakeClock
) -> None:
    partner = await insert_foreign_notice(live, clock, regimes=["WA"])
    screening = await _screen(live)
    assert screening["duties"]["undetermined"] == [{"origin": "fr-sbdu", "notice_id": partner}]
    r = await _close(live, screening, APPROVE)
    assert r.status_code == 409, r.text
    assert f"fr-sbdu/{partner}: no determination" in r.json()["detail"]
    r = await _close(live, screening, {"outcome": "refused"})  # refusing owes nothing
    assert r.status_code == 200, r.text


async def test_not_identical_lets_the_licence_be_approved_and_owes_nothing(
    live: LiveNode, clock: FakeClock
) -> None:
    partner = await insert_foreign_notice(live, clock)  # WA, EU, HRI
    screening = await _screen(live)
    r = await _determine(live, screening, partner, False, reasons="Different end use.")
    assert r.status_code == 200, r.text
    [match] = [m for m in r.json()["matches"] if m["notice_id"] == partner]
    assert match["determination"]["identical"] is False
    assert match["determination"]["decided_by"] == "officer:test-officer"
    assert r.json()["duties"] == {"duties": [], "undetermined": [], "approval_blocked_by": []}
    assert (await _close(live, screening, APPROVE)).status_code == 200
    r = await live.client.get("/api/v1/approvals", headers=live.auth("officer"))
    assert r.json()["due"] == []


async def test_identical_under_the_eu_needs_a_consultation_answered_or_its_window_passed(
    live: LiveNode, clock: FakeClock
) -> None:
    partner = await insert_foreign_notice(live, clock)  # WA, EU, HRI: the EU requires it
    screening = await _screen(live)
    r = await _determine(live, screening, partner, True)
    [duty] = r.json()["duties"]["duties"]
    assert duty["consultation"]["required_by"] == ["EU"]
    assert duty["consultation"]["status"] == "missing" and duty["blocks_approval"]
    assert duty["approval_notification"] == {"audience": "members", "within_days": 60}
    r = await _close(live, screening, APPROVE)
    assert r.status_code == 409 and "EU require consulting it" in r.json()["detail"]

    asked = await _consult(live, screening, partner)
    r = await _close(live, screening, APPROVE)
    assert r.status_code == 409, r.text
    assert f"awaits its reply until {asked['reply_due']}" in r.json()["detail"]

    clock.advance(days=31)  # the window passed unanswered: nobody has a veto
    r = await live.client.get(
        f"/api/v1/screenings/{screening['screening_id']}", headers=live.auth("officer")
    )
    [duty] = r.json()["duties"]["duties"]
    assert duty["consultation"]["status"] == "window_passed" and not duty["blocks_approval"]
    assert (await _close(live, screening, APPROVE)).status_code == 200
    r = await live.client.get("/api/v1/approvals", headers=live.auth("officer"))
    [due] = r.json()["due"]  # the determination, not the score, owes the notification
    assert (due["notice_id"], due["due_by"]) == (partner, "2027-01-27")


async def test_identical_under_wassenaar_alone_needs_no_consultation(
    live: LiveNode, clock: FakeClock
) -> None:
    partner = await insert_foreign_notice(live, clock, regimes=["WA"])
    screening = await _screen(live)
    r = await _determine(live, screening, partner, True)
    [duty] = r.json()["duties"]["duties"]
    assert duty["consultation"]["status"] == "not_required"
    assert duty["approval_notification"] == {"audience": "members", "within_days": 60}
    assert (await _close(live, screening, APPROVE)).status_code == 200


async def test_a_determination_is_of_a_current_match_of_an_open_screening(
    live: LiveNode, clock: FakeClock
) -> None:
    partner = await insert_foreign_notice(live, clock, regimes=["WA"])
    screening = await _screen(live)
    r = await _determine(live, screening, partner, "yes")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "identical"
    r = await _determine(live, screening, partner, True, reasons="")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reasons"
    r = await _determine(live, screening, "0193b7c4-0000-7000-8000-000000000000", True)
    assert r.status_code == 404
    r = await live.client.post(
        "/api/v1/screenings/0193b7c4-0000-7000-8000-000000000000/determinations",
        json={"origin": "fr-sbdu", "notice_id": partner, "identical": True, "reasons": "x"},
        headers=live.auth("officer"),
    )
    assert r.status_code == 404
    r = await live.client.post(
        f"/api/v1/screenings/{screening['screening_id']}/determinations",
        json={"origin": "fr-sbdu", "notice_id": partner, "identical": True, "reasons": "x"},
        headers=live.auth("auditor"),
    )
    assert r.status_code == 403
    assert (await _determine(live, screening, partner, True)).status_code == 200
    r = await _determine(live, screening, partner, False, reasons="On reflection: no.")
    assert r.status_code == 200 and r.json()["duties"]["duties"] == []  # replaced
    assert (await _close(live, screening, {"outcome": "withdrawn"})).status_code == 200
    r = await _determine(live, screening, partner, True)
    assert r.status_code == 409, r.text
    async with live.db.read() as session:  # each determination is in the audit trail
        actions = list(
            await session.scalars(
                select(AuditRow.action).where(AuditRow.action == "screening.determine")
            )
        )
    assert len(actions) == 2


async def test_a_newer_version_of_the_notice_needs_a_new_determination(
    live: LiveNode, clock: FakeClock
) -> None:
    from service.notices.body import notice_body
    from service.notices.schema import NoticeInput
    from tests.service.notice_data import insert_foreign_entry, notice

    partner = await insert_foreign_notice(live, clock, regimes=["WA"])
    screening = await _screen(live)
    assert (await _determine(live, screening, partner, True)).status_code == 200
    amended = notice_body(
        NoticeInput.model_validate(
            notice(reference="SBDU-2026-0042", regimes=["WA"], end_use="border control")
        ),
        notice_id=partner,
        version=2,
        supersedes=1,
    )
    await insert_foreign_entry(live, clock, "notice.amended", amended, "fr-sbdu")
    clock.advance(minutes=1)
    r = await live.client.get(
        f"/api/v1/screenings/{screening['screening_id']}", headers=live.auth("officer")
    )
    [match] = r.json()["matches"]
    assert match["version"] == 2 and match["determination"]["notice_version"] == 1
    assert r.json()["duties"]["undetermined"] == [{"origin": "fr-sbdu", "notice_id": partner}]
    assert (await _close(live, screening, APPROVE)).status_code == 409
