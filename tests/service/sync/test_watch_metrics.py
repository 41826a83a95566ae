"""What `/metrics` says of a node, in-process (decision 0023; the same through real processes
in tests/system/test_watch.py): sync lag and quarantine as a lying peer's page and a clean
one leave them, seconds since each peer's last success, frozen partner logs, why appends
stopped, consultations overdue in and out, the screening engine's latency and the index
size. On SQLite and on PostgreSQL."""

import math
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import update

from federation.storage import quarantine
from federation.storage.tables import LogRow
from service.sync.own_log import CHECKING, DIFFERENT_COPY, STOP_KINDS, restored_reason
from tests.forgery import tamper_page
from tests.metrics_text import Scrape
from tests.nodes import FakeClock, LiveNode
from tests.service.notice_data import application, notice
from tests.sync_peers import sync_once, trio


async def scrape(live: LiveNode) -> Scrape:
    r = await live.client.get("/metrics")
    assert r.status_code == 200
    return Scrape(r.text)


async def publish(live: LiveNode, reference: str) -> str:
    r = await live.client.post(
        "/api/v1/notices", json=notice(reference=reference), headers=live.auth("officer")
    )
    assert r.status_code == 201, r.text
    return str(r.json()["notice_id"])


def forged(path: str, doc: Any) -> Any:
    if path.endswith("/entries"):
        tamper_page(doc, 0, "signature")
    return doc


async def test_a_forged_page_shows_as_lag_and_quarantine_until_a_clean_sync(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    fr, de = pair
    never = await scrape(fr)
    assert never.value("denex_peer_last_success_age_seconds", peer="de-bafa") == math.inf
    assert never.labelled("denex_sync_lag_entries", "origin") == {}  # no peer listed anything

    assert (await sync_once(fr, de, clock)).error is None
    synced = await scrape(fr)
    assert synced.value("denex_sync_lag_entries", origin="de-bafa") == 0
    assert synced.value("denex_peer_last_success_age_seconds", peer="de-bafa") == 0
    assert synced.value("denex_quarantine_stored", peer="de-bafa") == 0

    for n in range(3):
        await publish(de, f"WATCH-LAG-{n}")
    clock.advance(seconds=30)
    report = await sync_once(fr, de, clock, rewrite=forged)
    assert report.origins[0].error is not None
    lying = await scrape(fr)
    assert lying.value("denex_sync_lag_entries", origin="de-bafa") == 3
    assert lying.value("denex_log_entries", origin="de-bafa") == 1
    assert lying.value("denex_quarantine_stored", peer="de-bafa") == 1
    assert lying.value("denex_quarantine_dropped_total", peer="de-bafa") == 0
    assert lying.value("denex_quarantine_newest_age_seconds", peer="de-bafa") == 0
    assert lying.value("denex_peer_last_success_age_seconds", peer="de-bafa") == 30

    clock.advance(seconds=10)  # within the quarantine's minute: only counted
    await sync_once(fr, de, clock, rewrite=forged)
    again = await scrape(fr)
    assert again.value("denex_quarantine_stored", peer="de-bafa") == 1
    assert again.value("denex_quarantine_dropped_total", peer="de-bafa") == 1

    clock.advance(seconds=5)
    assert (await sync_once(fr, de, clock)).error is None
    clean = await scrape(fr)
    assert clean.value("denex_sync_lag_entries", origin="de-bafa") == 0
    assert clean.value("denex_peer_last_success_age_seconds", peer="de-bafa") == 0
    assert clean.value("denex_quarantine_newest_age_seconds", peer="de-bafa") == 15
    held = (await scrape(de)).value("denex_log_entries", origin="de-bafa")
    assert held == 4 and clean.value("denex_log_entries", origin="de-bafa") == held
    assert clean.value("denex_log_frozen", origin="de-bafa") == 0


async def test_lag_counts_from_the_peer_that_listed_the_most(
    make_node: Callable[..., Awaitable[LiveNode]], clock: FakeClock
) -> None:
    """nl-cdiu holds an old copy of de-bafa's log and de-bafa a longer one that fr-sbdu could
    not verify: fr's lag is what de-bafa listed beyond its copy, not what nl-cdiu did."""
    de, fr, nl = await trio(make_node)
    assert (await sync_once(nl, de, clock)).error is None
    assert (await sync_once(fr, de, clock)).error is None
    for n in range(3):
        await publish(de, f"WATCH-BEST-{n}")
    assert (await sync_once(fr, nl, clock)).error is None
    assert (await scrape(fr)).value("denex_sync_lag_entries", origin="de-bafa") == 0
    assert (await sync_once(fr, de, clock, rewrite=forged)).origins[0].error is not None
    assert (await sync_once(fr, nl, clock)).error is None
    assert (await scrape(fr)).value("denex_sync_lag_entries", origin="de-bafa") == 3


@pytest.mark.parametrize(
    ("reason", "kind"),
    [
        (CHECKING, "checking"),
        (restored_reason("de-bafa", 9, 3), "restored"),
        (f"de-bafa {DIFFERENT_COPY}: checkpoint of size 3 has another root", "different_copy"),
        ("two checkpoints of size 3 signed by its key disagree", "equivocation"),
    ],
)
async def test_appends_stopped_says_why_in_a_fixed_set_of_reasons(
    live: LiveNode, reason: str, kind: str
) -> None:
    me = live.node.identity.node_id
    appending = await scrape(live)
    assert appending.labelled("denex_appends_stopped", "reason") == dict.fromkeys(STOP_KINDS, 0)
    async with live.db.write() as session:
        await session.execute(
            update(LogRow).where(LogRow.origin == me).values(frozen_reason=reason)
        )
    stopped = await scrape(live)
    assert stopped.labelled("denex_appends_stopped", "reason") == {
        k: int(k == kind) for k in STOP_KINDS
    }
    assert (await live.client.get("/readyz")).status_code == 503


async def test_a_partner_log_frozen_on_equivocation_shows(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    fr, de = pair
    assert (await sync_once(fr, de, clock)).error is None
    assert (await scrape(fr)).value("denex_log_frozen", origin="de-bafa") == 0
    async with fr.db.write() as session:
        await quarantine.freeze(
            session,
            origin="de-bafa",
            reason="equivocation: two checkpoints of size 1",
            first="first note",
            second="second note",
            kind="checkpoints",
            via="de-bafa",
            now=clock(),
        )
    frozen = await scrape(fr)
    assert frozen.value("denex_log_frozen", origin="de-bafa") == 1
    assert frozen.labelled("denex_appends_stopped", "reason") == dict.fromkeys(STOP_KINDS, 0)


async def test_consultations_overdue_are_counted_in_and_out(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock
) -> None:
    fr, de = pair
    notice_id = await publish(de, "WATCH-CONSULT-1")
    assert (await sync_once(fr, de, clock)).error is None
    r = await fr.client.post("/api/v1/screenings", json=application(), headers=fr.auth("officer"))
    assert r.status_code == 201, r.text
    body = {
        "screening_id": r.json()["screening_id"],
        "notice_id": notice_id,
        "summary": "s",
        "message": "m",
        "reply_due": "2026-12-05",
    }
    r = await fr.client.post("/api/v1/consultations", json=body, headers=fr.auth("officer"))
    assert r.status_code == 201, r.text
    consultation_id = r.json()["consultation_id"]
    assert (await sync_once(de, fr, clock)).error is None
    for node in (fr, de):
        assert (await scrape(node)).labelled("denex_consultations_overdue", "direction") == {
            "in": 0,
            "out": 0,
        }

    clock.advance(days=8)
    assert (await scrape(fr)).labelled("denex_consultations_overdue", "direction") == {
        "in": 0,
        "out": 1,
    }
    assert (await scrape(de)).labelled("denex_consultations_overdue", "direction") == {
        "in": 1,
        "out": 0,
    }

    r = await de.client.post(
        f"/api/v1/consultations/{consultation_id}/answer",
        json={"position": "no_objection", "message": "late, but no objection"},
        headers=de.auth("officer"),
    )
    assert r.status_code == 200, r.text
    assert (await sync_once(fr, de, clock)).error is None
    for node in (fr, de):
        assert (await scrape(node)).labelled("denex_consultations_overdue", "direction") == {
            "in": 0,
            "out": 0,
        }


async def test_each_screening_is_timed_and_the_index_size_shown(live: LiveNode) -> None:
    for n in range(3):
        await publish(live, f"WATCH-INDEX-{n}")
    before = await scrape(live)
    assert before.value("denex_screening_duration_seconds_count") == 0
    for _ in range(2):
        r = await live.client.post(
            "/api/v1/screenings", json=application(), headers=live.auth("officer")
        )
        assert r.status_code == 201, r.text
    after = await scrape(live)
    assert after.value("denex_screening_duration_seconds_count") == 2
    total = after.value("denex_screening_duration_seconds_sum")
    assert total is not None and 0 < total < 10
    assert after.value("denex_screening_index_notices") == 3
