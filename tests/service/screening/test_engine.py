"""The public Screener: add, replace, remove, screen, score_one, ordering and bounded work."""

import time
from datetime import date

import pytest

from service.screening.engine import Screener
from service.screening.model import (
    ALGORITHM,
    Application,
    ItemRecord,
    NoticeRecord,
    PartyRecord,
    application_record,
    notice_record,
)

TODAY = date(2026, 1, 1)


def body(notice_id: str, name: str, version: int = 1, **extra: object) -> dict[str, object]:
    return {
        "notice_id": notice_id, "version": version, "decision": "refusal", "destination": "RU",
        "valid_until": "2029-01-01",
        "items": [{"control_entry": "5A001.j", "description": "IP network surveillance system"}],
        "parties": [{"role": "end_user", "name": name, "aliases": []}],
        "end_use": "monitoring of opposition", **extra,
    }  # fmt: skip


def application(name: str, **extra: object) -> Application:
    return application_record(
        {
            "reference": "A-1",
            "destination": "RU",
            "end_use": "",
            "items": [{"control_entry": "5A001", "description": "network monitoring system"}],
            "parties": [{"role": "end_user", "name": name}],
            **extra,
        }
    )


@pytest.fixture
def screener() -> Screener:
    s = Screener()
    s.add(notice_record("b-node", body("n2", "Severny Signal LLC")))
    s.add(notice_record("a-node", body("n1", "ООО «Северный сигнал»")))
    s.add(notice_record("a-node", body("n3", "Kedrovaya Svyaz")))
    return s


def test_screen_finds_every_spelling_sorted(screener: Screener) -> None:
    matches = screener.screen(application("Severnyi Signal"), TODAY)
    assert [(m.origin, m.notice_id) for m in matches] == [("a-node", "n1"), ("b-node", "n2")]
    assert matches[0].score == matches[1].score and matches[0].verdict == "consult"
    assert ALGORITHM.startswith("denex-screen/")


def test_replace_and_remove(screener: Screener) -> None:
    assert len(screener) == 3 and ("a-node", "n1") in screener
    screener.add(notice_record("a-node", body("n1", "Baltiysky Radar", version=2)))
    assert len(screener) == 3
    assert [m.notice_id for m in screener.screen(application("Severnyi Signal"), TODAY)] == ["n2"]
    match = screener.score_one(application("Baltiysky Radar"), "a-node", "n1", TODAY)
    assert match is not None and match.version == 2
    screener.remove("a-node", "n1")
    screener.remove("a-node", "n1")
    assert ("a-node", "n1") not in screener and len(screener) == 2
    assert screener.score_one(application("Baltiysky Radar"), "a-node", "n1", TODAY) is None


def test_one_notice_id_from_two_origins_is_two_notices(screener: Screener) -> None:
    """A notice is (origin, notice_id): b-node's n1 neither replaces a-node's n1 nor goes
    when a-node's is removed."""
    screener.add(notice_record("b-node", body("n1", "Severny Signal OOO")))
    assert len(screener) == 4
    matches = screener.screen(application("Severnyi Signal"), TODAY)
    assert [(m.origin, m.notice_id) for m in matches] == [
        ("a-node", "n1"),
        ("b-node", "n1"),
        ("b-node", "n2"),
    ]
    screener.remove("a-node", "n1")
    assert ("b-node", "n1") in screener
    found = screener.score_one(application("Severnyi Signal"), "b-node", "n1", TODAY)
    assert found is not None and found.origin == "b-node"


def test_expired_notices_never_match() -> None:
    s = Screener()
    s.add(notice_record("o", body("old", "Severny Signal", valid_until="2025-12-31")))
    s.add(notice_record("o", body("today", "Severny Signal", valid_until="2026-01-01")))
    assert [m.notice_id for m in s.screen(application("Severny Signal"), TODAY)] == ["today"]
    assert s.score_one(application("Severny Signal"), "o", "old", TODAY) is None
    assert s.score_one(application("Severny Signal"), "o", "today", TODAY) is not None


def test_scores_order_matches() -> None:
    s = Screener()
    s.add(notice_record("o", body("exact", "Severny Signal")))
    s.add(notice_record("o", body("typo", "Severny Sginal Systems")))
    matches = s.screen(application("Severny Signal"), TODAY)
    assert [m.notice_id for m in matches] == ["exact", "typo"]
    assert matches[0].score > matches[1].score


def _worst_application() -> Application:
    scripts = [
        "Северный сигнал",
        "الصقر الذهبي",
        "Ελληνική Τεχνολογία",
        "אורות מערכות",
        "北京华信通达科技",
        "General Trading",
    ]
    parties = tuple(
        PartyRecord(
            "consignee",
            (
                f"{scripts[p % len(scripts)]} {p}",
                *(f"Alias {p} {a} Trading" for a in range(49)),
                "",
            ),
            None,
            tuple(("LEI", f"{p:020d}") for _ in range(3)),
        )
        for p in range(100)
    )
    items = tuple(ItemRecord("5A001", "word " * 2000) for _ in range(100))
    return Application("A", "RU", items, parties, "end use " * 1250)


def test_adversarial_applications_are_bounded() -> None:
    s = Screener()
    for i in range(300):
        s.add(notice_record("o", body(f"n{i}", f"Alias {i % 100} {i % 49} Trading")))
    s.add(NoticeRecord("o", "big", 1, "refusal", "RU", date(2029, 1, 1),
                       tuple(ItemRecord("5A001.j", "x" * 10_000) for _ in range(100)),
                       _worst_application().parties, "y" * 10_000, date(2029, 1, 1)))  # fmt: skip
    app = _worst_application()
    s.screen(app, TODAY)  # warm the name caches once
    start = time.perf_counter()
    matches = s.screen(app, TODAY)
    elapsed = time.perf_counter() - start
    assert matches and all(0 <= m.score <= 1 for m in matches)
    assert elapsed < 2.0, elapsed  # generous for CI; the benchmark measures the real figure
