"""A notice is (origin, notice_id) (DESIGN §6): the same notice_id from two origins names two
notices, and no origin can hide or replace another's. In process, on SQLite and PostgreSQL:
the derived tables whatever order the two origins' entries arrive in (one batch, or one after
the other), amendments and revocations reaching only their own origin's notice, the API's
pair paths and the short paths for this node's own notices, the list cursor, evidence,
screening, and the re-derivation of a node upgraded after it met a reused id."""

from typing import Any

import pytest
from sqlalchemy import delete, select, update

from federation.core.entry import Draft
from federation.storage.log import append_own
from federation.storage.tables import EntryRow
from keys.canonical import canonical_bytes
from keys.ed25519 import KeyPair
from service.derivation import derive
from service.notices.body import notice_body
from service.notices.schema import NoticeInput
from service.runtime import upgrade_database
from service.storage import migrate
from service.storage.models import NoticeRow, NoticeVersionRow
from tests.nodes import FakeClock, LiveNode
from tests.service.notice_data import (
    application,
    insert_foreign_entry,
    insert_foreign_notice,
    notice,
)

NOTICES = "/api/v1/notices"
ROGUE, PARTNER = "aq-rogue", "fr-sbdu"


def _body(notice_id: str, *, version: int = 1, **overrides: Any) -> dict[str, Any]:
    return notice_body(
        NoticeInput.model_validate(notice(**overrides)),
        notice_id=notice_id,
        version=version,
        supersedes=version - 1 if version > 1 else None,
    )


def _revocation(notice_id: str) -> dict[str, str]:
    return {"notice_id": notice_id, "reason": "withdrawn", "revoked_on": "2026-11-28"}


async def _store(live: LiveNode, clock: FakeClock, origin: str, body: dict[str, Any]) -> int:
    """A `notice.published` of `origin` stored as sync stores it, not yet applied; its seq."""
    key, audience = KeyPair.generate(), tuple(sorted({"de-bafa", origin}))
    async with live.db.write() as session:
        [sealed] = await append_own(
            session,
            federation=live.node.identity.federation,
            origin=origin,
            drafts=[Draft("notice.published", canonical_bytes(body), audience, clock())],
            signer=lambda _type: key,
            checkpoint_key=key,
            now=clock(),
        )
    return sealed.seq


async def _notices(live: LiveNode, notice_id: str) -> dict[str, tuple[str, int, bool]]:
    """origin -> (reference, version, revoked) of every notice with that id."""
    async with live.db.read() as session:
        rows = await session.scalars(select(NoticeRow).where(NoticeRow.notice_id == notice_id))
        return {r.origin: (r.reference, r.version, r.revoked_seq is not None) for r in rows}


async def _flags(live: LiveNode) -> list[tuple[str, str | None]]:
    async with live.db.read() as session:
        found = await session.execute(
            select(EntryRow.origin, EntryRow.flag_reason)
            .where(EntryRow.flagged)
            .order_by(EntryRow.origin, EntryRow.seq)
        )
        return [(origin, reason) for origin, reason in found]


async def _publish(live: LiveNode, **overrides: Any) -> str:
    r = await live.client.post(NOTICES, json=notice(**overrides), headers=live.auth("officer"))
    assert r.status_code == 201, r.text
    return str(r.json()["notice_id"])


# --- derivation ------------------------------------------------------------------------------


@pytest.mark.parametrize("first", [ROGUE, PARTNER])
async def test_two_origins_publishing_one_id_make_two_notices_in_either_order(
    live: LiveNode, clock: FakeClock, first: str
) -> None:
    notice_id = "01a22304-5433-75ea-a131-2c7f58ea962a"
    second = PARTNER if first == ROGUE else ROGUE
    for origin in (first, second):  # one after the other (two batches)
        await insert_foreign_notice(
            live, clock, origin=origin, notice_id=notice_id, reference=origin
        )

    assert await _notices(live, notice_id) == {
        ROGUE: (ROGUE, 1, False),
        PARTNER: (PARTNER, 1, False),
    }
    assert await _flags(live) == []


@pytest.mark.parametrize("first", [ROGUE, PARTNER])
async def test_two_origins_publishing_one_id_in_one_batch_make_two_notices(
    live: LiveNode, clock: FakeClock, first: str
) -> None:
    notice_id = "01a22304-5433-75ea-a131-2c7f58ea962b"
    second = PARTNER if first == ROGUE else ROGUE
    keys = [
        (origin, await _store(live, clock, origin, _body(notice_id, reference=origin)))
        for origin in (first, second)
    ]
    async with live.db.write() as session:
        entries = [await session.get(EntryRow, key) for key in keys]
        await derive(session, [e for e in entries if e is not None])

    assert await _notices(live, notice_id) == {
        ROGUE: (ROGUE, 1, False),
        PARTNER: (PARTNER, 1, False),
    }
    async with live.db.read() as session:
        versions = await session.execute(
            select(NoticeVersionRow.origin, NoticeVersionRow.kind).where(
                NoticeVersionRow.notice_id == notice_id
            )
        )
        assert sorted(versions) == [(ROGUE, "published"), (PARTNER, "published")]
    assert await _flags(live) == []


async def test_amendments_and_revocations_reach_only_their_own_origins_notice(
    live: LiveNode, clock: FakeClock
) -> None:
    notice_id = await _publish(live, reference="BAFA-OWN")
    # aq-rogue changes de-bafa's notice before it has one of that id: flagged, nothing changes
    reason = await insert_foreign_entry(
        live, clock, "notice.revoked", _revocation(notice_id), ROGUE, flagged=True
    )
    assert reason == f"notice.revoked of unknown notice {ROGUE}/{notice_id}"
    # then it publishes that id, amends and revokes it: all its own notice's
    await insert_foreign_notice(live, clock, origin=ROGUE, notice_id=notice_id, reference="AQ-1")
    amended = _body(notice_id, version=2, reference="AQ-2", destination="IR")
    await insert_foreign_entry(live, clock, "notice.amended", amended, ROGUE)
    await insert_foreign_entry(live, clock, "notice.revoked", _revocation(notice_id), ROGUE)

    assert await _notices(live, notice_id) == {
        "de-bafa": ("BAFA-OWN", 1, False),
        ROGUE: ("AQ-2", 2, True),
    }
    # de-bafa still amends its own notice by the short path
    r = await live.client.post(
        f"{NOTICES}/{notice_id}/amend",
        json=notice(reference="BAFA-OWN-2"),
        headers=live.auth("officer"),
    )
    assert r.status_code == 200, r.text
    assert (r.json()["origin"], r.json()["version"]) == ("de-bafa", 2)
    assert (await _notices(live, notice_id))[ROGUE] == ("AQ-2", 2, True)
    assert await _flags(live) == [(ROGUE, reason)]


async def test_a_second_publication_of_an_id_by_its_own_origin_is_flagged(
    live: LiveNode, clock: FakeClock
) -> None:
    notice_id = "01a22304-5433-75ea-a131-2c7f58ea962c"
    await insert_foreign_notice(live, clock, origin=ROGUE, notice_id=notice_id, reference="AQ-1")
    reason = await insert_foreign_entry(
        live, clock, "notice.published", _body(notice_id, reference="AQ-X"), ROGUE, flagged=True
    )
    assert reason == f"notice_id {notice_id} is already used by {ROGUE}"
    assert await _notices(live, notice_id) == {ROGUE: ("AQ-1", 1, False)}


# --- the API ---------------------------------------------------------------------------------


async def test_pair_paths_show_each_notice_and_the_short_path_only_this_nodes(
    live: LiveNode, clock: FakeClock
) -> None:
    own = await _publish(live, reference="BAFA-OWN")
    await insert_foreign_notice(live, clock, origin=ROGUE, notice_id=own, reference="AQ-SQUAT")
    partners = await insert_foreign_notice(live, clock, reference="SBDU-ONLY")
    officer = live.auth("officer")

    for origin, notice_id, reference in (
        ("de-bafa", own, "BAFA-OWN"),
        (ROGUE, own, "AQ-SQUAT"),
        (PARTNER, partners, "SBDU-ONLY"),
    ):
        r = await live.client.get(f"{NOTICES}/{origin}/{notice_id}", headers=officer)
        assert r.status_code == 200, r.text
        doc = r.json()
        assert (doc["origin"], doc["notice"]["reference"]) == (origin, reference)
        assert [v["kind"] for v in doc["versions"]] == ["published"]

    r = await live.client.get(f"{NOTICES}/{own}", headers=officer)
    assert (r.status_code, r.json()["origin"]) == (200, "de-bafa")
    r = await live.client.get(f"{NOTICES}/{partners}", headers=officer)
    assert r.status_code == 404, r.text  # a partner's notice is read by its origin and id
    assert f"{PARTNER}/{partners}" in r.json()["detail"]
    for path in (f"{NOTICES}/nl-cdiu/{own}", f"{NOTICES}/{PARTNER}/{own}"):
        assert (await live.client.get(path, headers=officer)).status_code == 404
    r = await live.client.get(f"{NOTICES}/Not_A_Node/{own}", headers=officer)
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"origin"}


async def test_the_list_pages_through_notices_sharing_an_id_once_each(
    live: LiveNode, clock: FakeClock
) -> None:
    own = await _publish(live)
    for origin in (ROGUE, PARTNER, "nl-cdiu"):
        await insert_foreign_notice(live, clock, origin=origin, notice_id=own)
    other = await insert_foreign_notice(live, clock)
    seen: list[tuple[str, str]] = []
    cursor = None
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        r = await live.client.get(NOTICES, params=params, headers=live.auth("auditor"))
        assert r.status_code == 200, r.text
        seen += [(n["notice_id"], n["origin"]) for n in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    expected = [(own, o) for o in (ROGUE, "de-bafa", PARTNER, "nl-cdiu")] + [(other, PARTNER)]
    assert seen == sorted(expected)
    r = await live.client.get(NOTICES, params={"origin": ROGUE}, headers=live.auth("auditor"))
    assert [(n["origin"], n["notice_id"]) for n in r.json()["items"]] == [(ROGUE, own)]


async def test_evidence_by_pair_and_short_path(live: LiveNode, clock: FakeClock) -> None:
    own = await _publish(live)
    await insert_foreign_notice(live, clock, origin=ROGUE, notice_id=own, reference="AQ-SQUAT")
    partners = await insert_foreign_notice(live, clock)
    auditor = live.auth("auditor")

    short = await live.client.get(f"/api/v1/evidence/{own}", headers=auditor)
    pair = await live.client.get(f"/api/v1/evidence/de-bafa/{own}", headers=auditor)
    assert short.status_code == pair.status_code == 200, pair.text
    assert short.content == pair.content
    assert pair.json()["origin"] == "de-bafa"
    # a notice of an origin outside the roster: its card is not known here
    r = await live.client.get(f"/api/v1/evidence/{ROGUE}/{own}", headers=auditor)
    assert r.status_code == 409, r.text
    r = await live.client.get(f"/api/v1/evidence/{partners}", headers=auditor)
    assert r.status_code == 404, r.text


# --- screening -------------------------------------------------------------------------------


async def test_screening_matches_each_notice_of_a_shared_id_on_its_own(
    live: LiveNode, clock: FakeClock
) -> None:
    notice_id = "01a22304-5433-75ea-a131-2c7f58ea962d"
    for origin in (ROGUE, PARTNER):
        await insert_foreign_notice(live, clock, origin=origin, notice_id=notice_id)
    officer = live.auth("officer")
    r = await live.client.post("/api/v1/screenings", json=application(), headers=officer)
    assert r.status_code == 201, r.text
    screening = r.json()
    found = {
        (m["origin"], m["verdict"]) for m in screening["matches"] if m["notice_id"] == notice_id
    }
    assert found == {(ROGUE, "consult"), (PARTNER, "consult")}

    # one origin revokes its notice: only that match is withdrawn from the open screening
    await insert_foreign_entry(live, clock, "notice.revoked", _revocation(notice_id), ROGUE)
    r = await live.client.get(f"/api/v1/screenings/{screening['screening_id']}", headers=officer)
    verdicts = {
        m["origin"]: m["verdict"] for m in r.json()["matches"] if m["notice_id"] == notice_id
    }
    assert verdicts == {ROGUE: "withdrawn", PARTNER: "consult"}


# --- upgrading a node that met a reused id before 0008 ----------------------------------------


async def test_upgrading_past_0008_rederives_a_notice_that_a_reused_id_hid(
    live: LiveNode, clock: FakeClock
) -> None:
    notice_id = await _publish(live, reference="BAFA-OWN")
    await insert_foreign_notice(live, clock, origin=ROGUE, notice_id=notice_id, reference="AQ")
    async with live.db.write() as session:  # as the first version left it: the squatter won
        await session.execute(delete(NoticeVersionRow).where(NoticeVersionRow.origin == "de-bafa"))
        await session.execute(delete(NoticeRow).where(NoticeRow.origin == "de-bafa"))
        await session.execute(
            update(EntryRow)
            .where(EntryRow.origin == "de-bafa", EntryRow.type == "notice.published")
            .values(flagged=True, flag_reason=f"notice_id {notice_id} is already used")
        )
    await migrate.downgrade(live.db.write_engine, "0007")

    await upgrade_database(live.db)

    await migrate.check_current(live.db.engine)
    assert await _notices(live, notice_id) == {
        "de-bafa": ("BAFA-OWN", 1, False),
        ROGUE: ("AQ", 1, False),
    }
    assert await _flags(live) == []
