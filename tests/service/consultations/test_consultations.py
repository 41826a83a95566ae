"""Screening, consultation and approval across two in-process nodes that sync (DESIGN §7):
de-bafa denies; fr-sbdu screens an application, consults de-bafa, which answers; fr-sbdu
approves anyway and files the approval notification. Every step is a signed entry that the
other node pulls and verifies; on SQLite and on PostgreSQL."""

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from federation.storage.tables import EntryRow
from service.derivation import rebuild_all
from tests.nodes import FakeClock, LiveNode
from tests.service.notice_data import (
    application,
    insert_foreign_entry,
    insert_foreign_notice,
    notice,
)
from tests.service.rules.profiles import profile_where, settings_with
from tests.sync_peers import sync_once, trio


async def _denied(de: LiveNode, fr: LiveNode, clock: FakeClock) -> str:
    r = await de.client.post("/api/v1/notices", json=notice(), headers=de.auth("officer"))
    assert r.status_code == 201, r.text
    assert (await sync_once(fr, de, clock)).error is None
    return str(r.json()["notice_id"])


async def _screened(fr: LiveNode, notice_id: str) -> dict[str, Any]:
    r = await fr.client.post("/api/v1/screenings", json=application(), headers=fr.auth("officer"))
    assert r.status_code == 201, r.text
    screening = r.json()
    [match] = [m for m in screening["matches"] if m["notice_id"] == notice_id]
    assert match["verdict"] == "consult" and match["origin"] == "de-bafa"
    return dict(screening)


async def _consult(
    fr: LiveNode, screening: dict[str, Any], notice_id: str, **fields: str
) -> httpx.Response:
    """fr's officer asks the denier about a match of `screening` (summary and message "s",
    "m" unless given)."""
    body = {
        "screening_id": screening["screening_id"],
        "notice_id": notice_id,
        "summary": "s",
        "message": "m",
        **fields,
    }
    return await fr.client.post("/api/v1/consultations", json=body, headers=fr.auth("officer"))


async def test_consult_answer_and_approve_across_two_nodes(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    fr, de = pair
    notice_id = await _denied(de, fr, clock)
    screening = await _screened(fr, notice_id)
    assert screening["snapshot"]["de-bafa"]["size"] >= 2
    assert screening["algorithm"].startswith("denex-screen/")

    r = await _consult(
        fr,
        screening,
        notice_id,
        summary="IP monitoring centre for Severny Signal, Belarus",
        message="We intend to approve; please tell us your position.",
    )
    assert r.status_code == 201, r.text
    asked = r.json()
    assert asked["direction"] == "out" and asked["denier"] == "de-bafa"
    assert asked["reply_due"] == "2026-12-28"  # 30 days by default
    async with fr.db.read() as session:
        entry = await session.get(EntryRow, ("fr-sbdu", asked["requested_seq"]))
        assert entry is not None
        assert entry.type == "consultation.requested"
        assert list(entry.audience) == ["de-bafa", "fr-sbdu"]

    assert (await sync_once(de, fr, clock)).error is None
    r = await de.client.get("/api/v1/consultations?direction=in", headers=de.auth("officer"))
    [received] = r.json()["items"]
    assert received["consultation_id"] == asked["consultation_id"]
    assert received["screening_id"] is None  # the application stays at fr-sbdu
    assert received["summary"].startswith("IP monitoring centre")

    r = await de.client.post(
        f"/api/v1/consultations/{asked['consultation_id']}/answer",
        json={"position": "maintains_objection", "message": "The end user is unchanged."},
        headers=de.auth("officer"),
    )
    assert r.status_code == 200, r.text
    assert (await sync_once(fr, de, clock)).error is None
    r = await fr.client.get("/api/v1/consultations?direction=out", headers=fr.auth("officer"))
    [answered] = r.json()["items"]
    assert answered["position"] == "maintains_objection"
    assert answered["screening_id"] == screening["screening_id"]

    r = await fr.client.post(
        f"/api/v1/screenings/{screening['screening_id']}/determinations",
        json={
            "origin": "de-bafa",
            "notice_id": notice_id,
            "identical": True,
            "reasons": "Same end user and item class; de-bafa's objection considered.",
        },
        headers=fr.auth("officer"),
    )
    assert r.status_code == 200, r.text
    [duty] = r.json()["duties"]["duties"]  # the EU's consultation is asked and answered
    assert duty["consultation"]["status"] == "answered" and not duty["blocks_approval"]
    r = await fr.client.post(
        f"/api/v1/screenings/{screening['screening_id']}/close",
        json={"outcome": "approved", "licence_ref": "SBDU-LIC-77", "decided_on": "2026-11-28"},
        headers=fr.auth("officer"),
    )
    assert r.status_code == 200, r.text
    r = await fr.client.get("/api/v1/approvals", headers=fr.auth("officer"))
    [due] = r.json()["due"]  # Wassenaar: the approval notice is due within 60 days
    assert (due["notice_id"], due["due_by"]) == (notice_id, "2027-01-27")

    r = await fr.client.post(
        "/api/v1/approvals",
        json={
            "notice_id": notice_id,
            "consultation_id": asked["consultation_id"],
            "licence_ref": "SBDU-LIC-77",
            "decided_on": "2026-11-28",
            "explanation": "Different end use, verified on site.",
        },
        headers=fr.auth("officer"),
    )
    assert r.status_code == 201, r.text
    r = await fr.client.get("/api/v1/approvals", headers=fr.auth("officer"))
    assert r.json()["due"] == []
    assert (await sync_once(de, fr, clock)).error is None
    r = await de.client.get("/api/v1/approvals", headers=de.auth("officer"))
    [approval] = r.json()["items"]
    assert approval["origin"] == "fr-sbdu" and approval["denier"] == "de-bafa"
    async with de.db.read() as session:  # nothing in either log was flagged
        flagged = await session.scalars(select(EntryRow).where(EntryRow.flagged.is_(True)))
        assert list(flagged) == []


async def test_overdue_consultations_are_listed(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    fr, de = pair
    notice_id = await _denied(de, fr, clock)
    screening = await _screened(fr, notice_id)
    r = await _consult(fr, screening, notice_id, reply_due="2026-12-05")
    assert r.status_code == 201, r.text
    url = "/api/v1/consultations?direction=out&overdue=true"
    assert (await fr.client.get(url, headers=fr.auth("officer"))).json()["items"] == []
    clock.advance(days=8)
    [late] = (await fr.client.get(url, headers=fr.auth("officer"))).json()["items"]
    assert late["overdue"] is True


async def test_only_the_denier_answers_and_only_partners_notices_are_consulted(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    fr, de = pair
    notice_id = await _denied(de, fr, clock)
    screening = await _screened(fr, notice_id)
    body = {
        "screening_id": screening["screening_id"],
        "notice_id": notice_id,
        "summary": "s",
        "message": "m",
    }
    r = await fr.client.post("/api/v1/consultations", json=body, headers=fr.auth("officer"))
    consultation_id = r.json()["consultation_id"]
    r = await fr.client.post(  # fr-sbdu asked; it may not answer its own question
        f"/api/v1/consultations/{consultation_id}/answer",
        json={"position": "no_objection", "message": "m"},
        headers=fr.auth("officer"),
    )
    assert r.status_code == 403, r.text
    r = await de.client.post(  # de-bafa has not pulled the request yet
        f"/api/v1/consultations/{consultation_id}/answer",
        json={"position": "no_objection", "message": "m"},
        headers=de.auth("officer"),
    )
    assert r.status_code == 404, r.text
    own = await de.client.post("/api/v1/screenings", json=application(), headers=de.auth("officer"))
    r = await de.client.post(  # its own notice: nobody to consult
        "/api/v1/consultations",
        json={**body, "screening_id": own.json()["screening_id"]},
        headers=de.auth("officer"),
    )
    assert r.status_code == 409, r.text
    r = await fr.client.post(
        "/api/v1/consultations",
        json={**body, "reply_due": "2026-11-01", "bogus": 1},
        headers=fr.auth("officer"),
    )
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} >= {"bogus"}
    r = await fr.client.post(
        "/api/v1/consultations",
        json={**body, "reply_due": "2026-11-01"},
        headers=fr.auth("officer"),
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "reply_due"
    async with fr.db.read() as session:  # the refused requests wrote nothing
        kinds = list(
            await session.scalars(
                select(EntryRow.type).where(
                    EntryRow.origin == "fr-sbdu", EntryRow.type.like("consultation%")
                )
            )
        )
    assert kinds == ["consultation.requested"]


@pytest.mark.parametrize(("rule", "nl_sees_it"), [("members", True), ("denier", False)])
async def test_approval_reaches_the_regime_members_or_the_denier_only(
    make_node: Callable[..., Awaitable[LiveNode]], clock: FakeClock, rule: str, nl_sees_it: bool
) -> None:
    """The rule profile's approval audience: Wassenaar's and the EU's (built in) tell every
    member of the notice's audience (nl-cdiu too); `denier` under each of the notice's
    regimes tells de-bafa alone (nl-cdiu gets the signed header only, never the content)."""
    de, fr, nl = await trio(make_node)
    audience = {"approval_notification": {"audience": rule}}
    profile = profile_where(WA=audience, EU=audience)
    fr.state.settings = settings_with(fr.state.settings, profile)
    notice_id = await _denied(de, fr, clock)
    r = await fr.client.post(
        "/api/v1/approvals",
        json={
            "notice_id": notice_id,
            "licence_ref": "SBDU-LIC-9",
            "decided_on": "2026-11-28",
            "explanation": "Approved after a site visit.",
        },
        headers=fr.auth("officer"),
    )
    assert r.status_code == 201, r.text
    assert (await sync_once(nl, fr, clock)).error is None
    r = await nl.client.get("/api/v1/approvals", headers=nl.auth("officer"))
    assert bool(r.json()["items"]) is nl_sees_it
    async with nl.db.read() as session:  # the entry itself reached nl-cdiu either way
        entry = await session.get(EntryRow, ("fr-sbdu", 1))
        assert entry is not None and entry.type == "approval.notified"
        assert (entry.content_body is not None) is nl_sees_it
        expected = ["de-bafa", "fr-sbdu", "nl-cdiu"] if nl_sees_it else ["de-bafa", "fr-sbdu"]
        assert list(entry.audience) == expected


async def test_a_rebuild_from_the_entries_restores_consultations_and_approvals(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    """Derived tables are an index over the log (a key revocation rebuilds them): the answer
    (in de-bafa's log, which sorts before fr-sbdu's request) and the local link to the
    screening come back."""
    fr, de = pair
    notice_id = await _denied(de, fr, clock)
    screening = await _screened(fr, notice_id)
    r = await _consult(fr, screening, notice_id)
    consultation_id = r.json()["consultation_id"]
    assert (await sync_once(de, fr, clock)).error is None
    r = await de.client.post(
        f"/api/v1/consultations/{consultation_id}/answer",
        json={"position": "revoking_notice", "message": "m"},
        headers=de.auth("officer"),
    )
    assert r.status_code == 200, r.text
    assert (await sync_once(fr, de, clock)).error is None
    url = "/api/v1/consultations?direction=out"
    before = (await fr.client.get(url, headers=fr.auth("officer"))).json()["items"]
    async with fr.db.write() as session:
        await rebuild_all(session)
    after = (await fr.client.get(url, headers=fr.auth("officer"))).json()["items"]
    assert after == before
    assert after[0]["position"] == "revoking_notice"
    assert after[0]["screening_id"] == screening["screening_id"]


# --- a notice is (origin, notice_id); a consultation (consultation_id, requester) -------------

ROGUE = "aq-rogue"


async def test_consultations_and_approvals_name_the_notice_by_origin_and_id(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    """aq-rogue reused de-bafa's notice_id for a notice of its own (stored at fr-sbdu as sync
    would): fr-sbdu's screening matches both, a request by id alone is ambiguous (422 naming
    `origin`), and the request and approval by (origin, notice_id) reach de-bafa about its
    own notice; the approval's body names its denier, since its audience may hold others
    that used the id."""
    fr, de = pair
    notice_id = await _denied(de, fr, clock)
    await insert_foreign_notice(fr, clock, origin=ROGUE, notice_id=notice_id)
    r = await fr.client.post("/api/v1/screenings", json=application(), headers=fr.auth("officer"))
    screening = r.json()
    matched = {m["origin"] for m in screening["matches"] if m["notice_id"] == notice_id}
    assert matched == {"de-bafa", ROGUE}

    r = await _consult(fr, screening, notice_id)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["origin"]
    r = await _consult(fr, screening, notice_id, origin="de-bafa")
    assert r.status_code == 201, r.text
    asked = r.json()
    assert (asked["denier"], asked["notice_id"]) == ("de-bafa", notice_id)

    approval = {
        "notice_id": notice_id,
        "consultation_id": asked["consultation_id"],
        "licence_ref": "SBDU-LIC-1",
        "decided_on": "2026-11-28",
        "explanation": "Different end use.",
    }
    r = await fr.client.post("/api/v1/approvals", json=approval, headers=fr.auth("officer"))
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["origin"]
    r = await fr.client.post(
        "/api/v1/approvals", json={**approval, "origin": ROGUE}, headers=fr.auth("officer")
    )
    assert r.status_code == 409, r.text  # the consultation was about de-bafa's notice
    r = await fr.client.post(
        "/api/v1/approvals", json={**approval, "origin": "de-bafa"}, headers=fr.auth("officer")
    )
    assert r.status_code == 201, r.text
    assert r.json()["denier"] == "de-bafa"
    async with fr.db.read() as session:
        entry = await session.get(EntryRow, ("fr-sbdu", r.json()["seq"]))
        assert entry is not None and entry.content_body is not None
        assert json.loads(entry.content_body)["denier"] == "de-bafa"

    assert (await sync_once(de, fr, clock)).error is None
    [received] = (
        await de.client.get("/api/v1/consultations?direction=in", headers=de.auth("officer"))
    ).json()["items"]
    assert (received["denier"], received["notice_id"]) == ("de-bafa", notice_id)
    [notified] = (await de.client.get("/api/v1/approvals", headers=de.auth("officer"))).json()[
        "items"
    ]
    assert (notified["denier"], notified["notice_id"]) == ("de-bafa", notice_id)


async def test_a_consultation_id_reused_by_another_requester_neither_replaces_nor_answers(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    """aq-rogue files a consultation with the id of fr-sbdu's, to de-bafa: de-bafa holds two
    consultations, before and after a rebuild (which applies aq-rogue's first); answering
    names the requester, and the answer reaches fr-sbdu's consultation only."""
    fr, de = pair
    notice_id = await _denied(de, fr, clock)
    screening = await _screened(fr, notice_id)
    asked = (await _consult(fr, screening, notice_id, summary="from fr")).json()
    assert (await sync_once(de, fr, clock)).error is None
    reused = {
        "consultation_id": asked["consultation_id"],
        "notice_id": notice_id,
        "notice_version": 1,
        "reply_due": "2026-12-01",
        "summary": "from aq-rogue",
        "message": "m",
    }
    await insert_foreign_entry(de, clock, "consultation.requested", reused, ROGUE)

    async def received() -> list[tuple[str, str]]:
        r = await de.client.get("/api/v1/consultations?direction=in", headers=de.auth("officer"))
        return [(c["requester"], c["summary"]) for c in r.json()["items"]]

    assert await received() == [(ROGUE, "from aq-rogue"), ("fr-sbdu", "from fr")]
    async with de.db.write() as session:
        await rebuild_all(session)
    assert await received() == [(ROGUE, "from aq-rogue"), ("fr-sbdu", "from fr")]

    url = f"/api/v1/consultations/{asked['consultation_id']}/answer"
    answer = {"position": "maintains_objection", "message": "unchanged"}
    r = await de.client.post(url, json=answer, headers=de.auth("officer"))
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["requester"]
    r = await de.client.post(
        url, json={**answer, "requester": "fr-sbdu"}, headers=de.auth("officer")
    )
    assert r.status_code == 200, r.text
    assert (r.json()["requester"], r.json()["position"]) == ("fr-sbdu", "maintains_objection")
    assert (await sync_once(fr, de, clock)).error is None
    [answered] = (
        await fr.client.get("/api/v1/consultations?direction=out", headers=fr.auth("officer"))
    ).json()["items"]
    assert answered["position"] == "maintains_objection"


async def test_an_approval_without_a_denier_is_flagged_when_two_origins_hold_its_notice_id(
    live: LiveNode, clock: FakeClock
) -> None:
    """An approval filed before approvals named their denier: its audience holds two notices
    of its notice_id, so whose it is cannot be told; flagged, not guessed."""
    notice_id = await insert_foreign_notice(live, clock)
    await insert_foreign_notice(live, clock, origin=ROGUE, notice_id=notice_id)
    old_style = {
        "notice_id": notice_id,
        "consultation_id": None,
        "licence_ref": "NL-LIC-1",
        "decided_on": "2026-11-28",
        "explanation": "e",
    }
    told = (ROGUE, "de-bafa", "fr-sbdu")  # nl-cdiu's approval, to every member
    reason = await insert_foreign_entry(
        live, clock, "approval.notified", old_style, "nl-cdiu", flagged=True, audience=told
    )
    assert reason == (
        f"approval of notice {notice_id} names no denier, and {ROGUE}, fr-sbdu each hold a "
        "notice of that id"
    )
    named = {**old_style, "denier": "fr-sbdu"}
    await insert_foreign_entry(live, clock, "approval.notified", named, "nl-cdiu", audience=told)
    r = await live.client.get("/api/v1/approvals", headers=live.auth("officer"))
    assert [(a["denier"], a["notice_id"]) for a in r.json()["items"]] == [("fr-sbdu", notice_id)]
