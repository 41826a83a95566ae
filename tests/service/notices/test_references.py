"""A notice's `reference` is unique among its origin's own notices (decision 0025): publishing
or amending to a reference that another of this node's notices holds is a 409 naming it,
checked under the log's append lock, so concurrent publishers of one reference cannot both
win; partners' logs that repeat a reference are stored as they are.

Real node, real database (SQLite and PostgreSQL), the real app; only the clock is faked.
"""

import asyncio
import re
from typing import Any

import httpx
from sqlalchemy import func, select

from federation.core.entry import Draft
from federation.storage.log import append_own
from federation.storage.tables import EntryRow
from keys.canonical import canonical_bytes
from service.api.app import create_app
from service.api.state import AppState
from service.derivation import rebuild_all
from service.errors import DuplicateReference
from service.keyadmin import revoke as revoke_key
from service.metrics import Metrics
from service.node import ROOT_KEY_FILE, load_keypair
from service.notices import publishing
from service.notices.body import notice_body
from service.notices.schema import NoticeInput
from service.runtime import open_node
from service.storage.models import NoticeRow
from tests.nodes import FakeClock, LiveNode, node_url
from tests.service.notice_data import insert_foreign_notice, notice

NOTICES = "/api/v1/notices"


async def _post(live: LiveNode, body: dict[str, Any]) -> httpx.Response:
    return await live.client.post(NOTICES, json=body, headers=live.auth("officer"))


async def _publish(live: LiveNode, **overrides: Any) -> str:
    response = await _post(live, notice(**overrides))
    assert response.status_code == 201, response.text
    notice_id: str = response.json()["notice_id"]
    return notice_id


async def _counts(live: LiveNode) -> tuple[int, int]:
    async with live.db.read() as session:
        entries = await session.scalar(select(func.count()).select_from(EntryRow))
        notices = await session.scalar(select(func.count()).select_from(NoticeRow))
    return int(entries or 0), int(notices or 0)


def _names(response: httpx.Response, notice_id: str) -> None:
    """A 409 problem document naming `notice_id` and telling the officer to amend it."""
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"] == "/problems/reference-taken" and problem["notice_id"] == notice_id
    assert problem["errors"][0]["field"] == "reference"
    assert notice_id in problem["detail"] and "amend it instead" in problem["detail"], problem


async def test_a_reference_held_by_an_own_notice_is_409_naming_it(live: LiveNode) -> None:
    first = await _publish(live, reference="BAFA-2026-0500")
    before = await _counts(live)

    again = await _post(live, notice(reference="BAFA-2026-0500", destination="IR"))

    _names(again, first)
    assert "BAFA-2026-0500" in again.json()["detail"]
    assert await _counts(live) == before  # nothing written


async def test_concurrent_publishes_of_one_reference_one_wins(live: LiveNode) -> None:
    # Sent together they meet in one group commit: the first of the batch wins.
    responses = await asyncio.gather(
        *(_post(live, notice(reference="SAME-1", end_use=f"use {i}")) for i in range(6))
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201, 409, 409, 409, 409, 409]
    [winner] = [r.json()["notice_id"] for r in responses if r.status_code == 201]
    for response in responses:
        if response.status_code == 409:
            _names(response, winner)
    assert await _counts(live) == (2, 1)


async def test_two_workers_publishing_one_reference_one_wins(
    live: LiveNode, clock: FakeClock
) -> None:
    # A second worker of the same node: its own app, group-commit queue and connections on
    # the same database. Only the log's append lock orders the two.
    db, node = await open_node(live.settings, upgrade=False)
    other = httpx.AsyncClient(
        transport=httpx.ASGITransport(
            app=create_app(AppState(live.settings, db, node, clock, Metrics()))
        ),
        base_url=node_url("de-bafa"),
    )
    try:
        for round_ in range(3):
            reference = f"RACE-{round_}"
            responses = await asyncio.gather(
                _post(live, notice(reference=reference)),
                other.post(NOTICES, json=notice(reference=reference), headers=live.auth("officer")),
            )
            assert sorted(r.status_code for r in responses) == [201, 409], [
                r.text for r in responses
            ]
            [winner] = [r.json()["notice_id"] for r in responses if r.status_code == 201]
            _names(next(r for r in responses if r.status_code == 409), winner)
    finally:
        await other.aclose()
        await db.dispose()
    assert await _counts(live) == (4, 3)


async def test_a_batch_refuses_only_its_repeated_references(
    live: LiveNode, clock: FakeClock
) -> None:
    held = await _publish(live, reference="HELD")
    batch = [
        NoticeInput.model_validate(notice(reference=ref))
        for ref in ("NEW-A", "HELD", "NEW-B", "NEW-A")
    ]
    async with live.db.write() as session:
        outcomes = await publishing.publish_new(session, live.node, batch, now=clock())
    assert [type(o).__name__ for o in outcomes] == [
        "tuple",
        "DuplicateReference",
        "tuple",
        "DuplicateReference",
    ]
    assert isinstance(outcomes[1], DuplicateReference) and outcomes[1].notice_id == held
    first_a = outcomes[0]
    assert isinstance(first_a, tuple) and isinstance(outcomes[3], DuplicateReference)
    assert outcomes[3].notice_id == first_a[0].notice_id  # the earlier one of the batch
    assert [e.seq for _r, e in (first_a, outcomes[2])] == [2, 3]  # type: ignore[misc]
    assert await _counts(live) == (4, 3)


async def test_an_amendment_keeps_or_frees_its_reference_but_takes_no_other(
    live: LiveNode,
) -> None:
    a = await _publish(live, reference="A-1")
    b = await _publish(live, reference="B-1")
    officer = live.auth("officer")

    kept = await live.client.post(
        f"{NOTICES}/{a}/amend", json=notice(reference="A-1", destination="IR"), headers=officer
    )
    assert kept.status_code == 200, kept.text

    taken = await live.client.post(
        f"{NOTICES}/{a}/amend", json=notice(reference="B-1"), headers=officer
    )
    _names(taken, b)
    assert (await live.client.get(f"{NOTICES}/{a}", headers=officer)).json()["version"] == 2

    moved = await live.client.post(
        f"{NOTICES}/{a}/amend", json=notice(reference="A-2"), headers=officer
    )
    assert moved.status_code == 200, moved.text
    # A-1 is free again: a notice holds only the reference of its current version
    freed = await _publish(live, reference="A-1")
    assert freed not in (a, b)
    _names(await _post(live, notice(reference="A-2")), a)


async def test_a_revoked_notice_keeps_its_reference(live: LiveNode) -> None:
    notice_id = await _publish(live, reference="REV-1")
    revoked = await live.client.post(
        f"{NOTICES}/{notice_id}/revoke",
        json={"reason": "refusal overturned on appeal"},
        headers=live.auth("officer"),
    )
    assert revoked.status_code == 200, revoked.text

    again = await _post(live, notice(reference="REV-1"))

    assert again.status_code == 409, again.text
    detail = again.json()["detail"]
    assert notice_id in detail and "revoked" in detail and "another reference" in detail
    assert "amend it instead" not in detail  # a revoked notice cannot be amended


async def test_an_invalidated_publication_frees_its_reference(live: LiveNode) -> None:
    # After a key compromise the origin publishes its invalidated notices again, as they were.
    kept = await _publish(live, reference="KEY-0")
    lost = await _publish(live, reference="KEY-1")
    root = load_keypair(live.settings, live.settings.keys_dir / ROOT_KEY_FILE)
    async with live.db.write() as session:
        await revoke_key(
            session,
            live.settings,
            root,
            revoked_key=live.node.signing.key_id,
            valid_below=2,
            reason="key copied",
            now=live.state.clock(),
        )
    again = await _publish(live, reference="KEY-1")
    assert again != lost
    _names(await _post(live, notice(reference="KEY-0")), kept)


async def test_partners_may_repeat_a_reference_and_ours_may_equal_theirs(
    live: LiveNode, clock: FakeClock
) -> None:
    # The rule binds an origin when it publishes; another origin's log that repeats a
    # reference (an older node, say) is stored whole and never refused or flagged.
    first = await insert_foreign_notice(live, clock, reference="SBDU-7")
    second = await insert_foreign_notice(live, clock, reference="SBDU-7", destination="IR")
    assert first != second
    own = await _publish(live, reference="SBDU-7")  # references are per origin
    async with live.db.read() as session:
        rows = list(await session.scalars(select(NoticeRow).where(NoticeRow.reference == "SBDU-7")))
        flagged = await session.scalar(
            select(func.count()).select_from(EntryRow).where(EntryRow.flagged.is_(True))
        )
    assert sorted((r.origin, r.notice_id) for r in rows) == sorted(
        [("fr-sbdu", first), ("fr-sbdu", second), ("de-bafa", own)]
    )
    assert flagged == 0


async def test_an_own_log_repeating_a_reference_rebuilds_and_names_the_first(
    live: LiveNode, clock: FakeClock
) -> None:
    # A log written before the rule (issue 12: an import run twice) repeats references. Its
    # derived tables still rebuild (no unique index to fail), and the reference stays taken.
    ident = live.node.identity
    bodies = [
        notice_body(
            NoticeInput.model_validate(notice(reference="OLD-1")),
            notice_id=notice_id,
            version=1,
            supersedes=None,
        )
        for notice_id in (
            "01900000-0000-7000-8000-000000000001",
            "01900000-0000-7000-8000-000000000002",
        )
    ]
    async with live.db.write() as session:
        sealed = await append_own(
            session,
            federation=ident.federation,
            origin=ident.node_id,
            drafts=[
                Draft("notice.published", canonical_bytes(b), ("de-bafa",), clock()) for b in bodies
            ],
            signer=lambda _type: live.node.signing,
            checkpoint_key=live.node.signing,
            now=clock(),
        )
        assert len(sealed) == 2
        assert await rebuild_all(session) == 2
    response = await _post(live, notice(reference="OLD-1"))
    _names(response, "01900000-0000-7000-8000-000000000001")
    assert re.search(r"held by notice 01900000-0000-7000-8000-000000000001\b", response.text)
