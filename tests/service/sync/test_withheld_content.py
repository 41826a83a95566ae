"""Content withheld by a relay is found wherever it sits in the log (DESIGN §4): behind
thousands of entries this node may not see, it is still asked for, filled, and counted in
the `withheld` alert until it arrives."""

from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import func, select

from federation.core.entry import Draft
from federation.storage.content import missing_content, overdue_content
from federation.storage.log import append_own
from federation.storage.tables import EntryRow
from keys.canonical import canonical_bytes
from tests.nodes import FakeClock, LiveNode
from tests.service.notice_data import notice
from tests.sync_peers import sync_once, trio

HIDDEN = 4_001  # entries nl may not see, more than the first 4,000 header-only rows
WITHHELD = 1_001  # entries for nl that fr, outside their audience, relays without content


def _drafts(count: int, audience: tuple[str, ...], clock: FakeClock, prefix: str) -> list[Draft]:
    return [
        Draft(
            "notice.published",
            canonical_bytes(
                {
                    **notice(reference=f"{prefix}-{n}"),
                    "notice_id": f"0193b7c4-0000-7000-8000-{prefix}{n:08d}",
                    "version": 1,
                    "valid_until": "2029-11-20",
                    "supersedes": None,
                }
            ),
            audience,
            clock(),
        )
        for n in range(count)
    ]


async def test_withheld_content_behind_many_unseen_entries_is_fetched_and_alerted(
    make_node: Callable[..., Awaitable[LiveNode]], clock: FakeClock
) -> None:
    de, fr, nl = await trio(make_node)
    signing = de.node.signing
    async with de.db.write() as session:
        for drafts in (
            _drafts(HIDDEN, ("de-bafa", "fr-sbdu"), clock, "0000"),
            _drafts(WITHHELD, ("de-bafa", "nl-cdiu"), clock, "1111"),
        ):
            await append_own(
                session,
                federation=de.node.identity.federation,
                origin="de-bafa",
                drafts=drafts,
                signer=lambda _type: signing,
                checkpoint_key=signing,
                now=clock(),
            )
    size = 1 + HIDDEN + WITHHELD
    assert (await sync_once(fr, de, clock)).fetched == size
    relayed = await sync_once(nl, fr, clock)  # all of de's log header-only, but seq 0
    assert [o.after for o in relayed.origins if o.origin == "de-bafa"] == [size]
    async with nl.db.read() as session:
        lacking = await session.scalar(
            select(func.count()).where(
                EntryRow.origin == "de-bafa", EntryRow.content_body.is_(None)
            )
        )
        first = await missing_content(session, "de-bafa", "nl-cdiu", limit=3)
    assert lacking == HIDDEN + WITHHELD
    assert [row.seq for row in first] == [1 + HIDDEN, 2 + HIDDEN, 3 + HIDDEN]

    clock.advance(hours=2)  # DENEX_CONTENT_DEADLINE defaults to 1 h
    r = await nl.client.get("/api/v1/peers", headers=nl.auth("admin"))
    [de_status] = [p["status"] for p in r.json()["items"] if p["node_id"] == "de-bafa"]
    assert (
        f"withheld: {WITHHELD} entries of de-bafa that this node may see still lack their "
        f"content (first seq {1 + HIDDEN})"
    ) in de_status["alerts"]

    filled = 0
    for _round in range(2):  # at most 1,000 entries a round
        filled += sum(o.filled for o in (await sync_once(nl, de, clock)).origins)
    assert filled == WITHHELD
    async with nl.db.read() as session:
        assert await missing_content(session, "de-bafa", "nl-cdiu") == []
    r = await nl.client.get("/api/v1/peers", headers=nl.auth("admin"))
    [de_status] = [p["status"] for p in r.json()["items"] if p["node_id"] == "de-bafa"]
    assert not any(a.startswith("withheld") for a in de_status["alerts"])


async def test_the_header_only_rows_are_read_page_by_page_on_every_backend(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    """fr holds de's entries for it-uama without content (fr is outside their audience):
    read as it-uama would, a page of two rows at a time across entries for others."""
    fr, de = pair
    signing = de.node.signing
    audiences = [("de-bafa", "fr-sbdu")] * 3 + [("de-bafa", "it-uama")] * 2
    audiences += [("de-bafa", "nl-cdiu")] * 3 + [("de-bafa", "it-uama", "nl-cdiu")]
    async with de.db.write() as session:
        for n, audience in enumerate(audiences):
            await append_own(
                session,
                federation=de.node.identity.federation,
                origin="de-bafa",
                drafts=_drafts(1, audience, clock, f"{n:04d}"),
                signer=lambda _type: signing,
                checkpoint_key=signing,
                now=clock(),
            )
    assert (await sync_once(fr, de, clock)).fetched == 1 + len(audiences)
    for_it = [1 + n for n, audience in enumerate(audiences) if "it-uama" in audience]
    async with fr.db.read() as session:
        for batch in (1, 2, 1000):
            found = await missing_content(session, "de-bafa", "it-uama", batch=batch)
            assert [row.seq for row in found] == for_it, batch
            few = await missing_content(session, "de-bafa", "it-uama", limit=2, batch=batch)
            assert [row.seq for row in few] == for_it[:2], batch
            assert await overdue_content(
                session, "de-bafa", "it-uama", stored_before=clock() + timedelta(seconds=1),
                batch=batch,
            ) == (len(for_it), for_it[0])  # fmt: skip
        assert await overdue_content(
            session, "de-bafa", "it-uama", stored_before=clock()
        ) == (0, None)  # fmt: skip
        assert await missing_content(session, "de-bafa", "fr-sbdu") == []
