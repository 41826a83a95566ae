"""A consultation is a thread (decision 0035): the denier's interim replies, questions,
extensions and final answer (a conditional no-objection among them), the requester's
information and withdrawal, each a signed entry of its author's log that the other side
syncs."""

from typing import Any

from sqlalchemy import select

from federation.storage.tables import EntryRow
from tests.nodes import FakeClock, LiveNode
from tests.service.consultations.test_consultations import _consult, _denied, _screened
from tests.sync_peers import sync_once


async def _post(node: LiveNode, path: str, body: dict[str, Any]) -> Any:
    clock = node.state.clock
    if isinstance(clock, FakeClock):
        clock.advance(minutes=1)  # each step at its own time: a thread is in time order
    return await node.client.post(
        f"/api/v1/consultations/{path}", json=body, headers=node.auth("officer")
    )


async def _one(node: LiveNode, direction: str) -> dict[str, Any]:
    r = await node.client.get(
        "/api/v1/consultations", params={"direction": direction}, headers=node.auth("officer")
    )
    [consultation] = r.json()["items"]
    return dict(consultation)


async def test_a_thread_of_questions_an_extension_and_a_conditional_answer(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    fr, de = pair
    notice_id = await _denied(de, fr, clock)
    screening = await _screened(fr, notice_id)
    asked = (await _consult(fr, screening, notice_id)).json()
    assert (asked["regime"], asked["status"], asked["thread"]) == ("EU", "open", [])
    cid = asked["consultation_id"]
    assert (await sync_once(de, fr, clock)).error is None

    r = await _post(de, f"{cid}/answer", {"step": "interim", "message": "We are checking."})
    assert r.status_code == 200, r.text
    r = await _post(de, f"{cid}/answer", {"step": "more_information", "message": "End use?"})
    assert r.json()["status"] == "information_requested"
    r = await _post(de, f"{cid}/extend", {"reply_due": "2027-01-15", "message": "More time."})
    assert r.status_code == 200 and r.json()["reply_due"] == "2027-01-15"
    r = await _post(de, f"{cid}/extend", {"reply_due": "2027-01-10", "message": "Earlier?"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reply_due"
    assert (await sync_once(fr, de, clock)).error is None
    mine = await _one(fr, "out")
    assert [s["step"] for s in mine["thread"]] == ["interim", "more_information", "extension"]
    assert (mine["status"], mine["reply_due"]) == ("information_requested", "2027-01-15")

    r = await _post(fr, f"{cid}/follow-up", {"step": "information", "message": "Air traffic."})
    assert r.status_code == 200 and r.json()["status"] == "open"
    assert (await sync_once(de, fr, clock)).error is None
    final = {
        "position": "conditional_no_objection",
        "conditions": "No interception modules; end-use check on delivery.",
        "message": "No objection under these conditions.",
    }
    r = await _post(de, f"{cid}/answer", final)
    assert r.status_code == 200, r.text
    assert (await _post(de, f"{cid}/answer", final)).status_code == 409  # answered once
    assert (await sync_once(fr, de, clock)).error is None
    mine = await _one(fr, "out")
    assert (mine["status"], mine["position"], mine["conditions"]) == (
        "answered",
        "conditional_no_objection",
        final["conditions"],
    )
    assert [(s["by"], s["step"]) for s in mine["thread"]] == [
        ("de-bafa", "interim"),
        ("de-bafa", "more_information"),
        ("de-bafa", "extension"),
        ("fr-sbdu", "information"),
        ("de-bafa", "final"),
    ]
    r = await _post(fr, f"{cid}/follow-up", {"step": "withdrawn", "message": "Too late."})
    assert r.status_code == 409


async def test_a_withdrawn_request_counts_as_not_asked(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    fr, de = pair
    notice_id = await _denied(de, fr, clock)
    screening = await _screened(fr, notice_id)
    cid = (await _consult(fr, screening, notice_id)).json()["consultation_id"]
    r = await fr.client.post(
        f"/api/v1/screenings/{screening['screening_id']}/determinations",
        json={"origin": "de-bafa", "notice_id": notice_id, "identical": True, "reasons": "r"},
        headers=fr.auth("officer"),
    )
    [duty] = r.json()["duties"]["duties"]
    assert duty["consultation"]["status"] == "awaiting_reply"
    r = await _post(fr, f"{cid}/follow-up", {"step": "withdrawn", "message": "Application gone."})
    assert r.json()["status"] == "withdrawn" and r.json()["overdue"] is False
    r = await fr.client.get(
        f"/api/v1/screenings/{screening['screening_id']}", headers=fr.auth("officer")
    )
    [duty] = r.json()["duties"]["duties"]
    assert duty["consultation"]["status"] == "missing" and duty["blocks_approval"]
    assert (await sync_once(de, fr, clock)).error is None
    theirs = await _one(de, "in")
    assert theirs["status"] == "withdrawn"
    r = await _post(de, f"{cid}/answer", {"position": "no_objection", "message": "m"})
    assert r.status_code == 409
    assert (
        await _post(fr, f"{cid}/follow-up", {"step": "information", "message": "m"})
    ).status_code == 409
    # only the requester may follow up, only the denier may answer
    assert (
        await _post(de, f"{cid}/follow-up", {"step": "information", "message": "m"})
    ).status_code == 404
    async with de.db.read() as session:  # nothing either side wrote was flagged
        flagged = await session.scalars(select(EntryRow).where(EntryRow.flagged.is_(True)))
        assert list(flagged) == []


async def test_an_answer_is_checked_whole(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    fr, de = pair
    notice_id = await _denied(de, fr, clock)
    screening = await _screened(fr, notice_id)
    cid = (await _consult(fr, screening, notice_id)).json()["consultation_id"]
    assert (await sync_once(de, fr, clock)).error is None
    bad = [
        {"message": "m"},  # final without a position
        {"step": "interim", "position": "no_objection", "message": "m"},
        {"position": "conditional_no_objection", "message": "m"},  # without conditions
        {"position": "no_objection", "conditions": "c", "message": "m"},
        {"step": "extension", "message": "m"},  # extensions have their own route
    ]
    for body in bad:
        r = await _post(de, f"{cid}/answer", body)
        assert r.status_code == 422, (body, r.text)
    r = await fr.client.post(
        "/api/v1/consultations",
        json={
            "screening_id": screening["screening_id"],
            "origin": "de-bafa",
            "notice_id": notice_id,
            "summary": "s",
            "message": "m",
            "regime": "NSG",  # not a regime of the notice
        },
        headers=fr.auth("officer"),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "regime"
