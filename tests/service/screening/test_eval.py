"""The labelled evaluation set, screened as a whole: retrieval and scoring together.

Every notice of tests/data/screening_eval.jsonl goes into one Screener, so each application
is screened against all 300-odd notices, not only its own pair. A `consult` verdict is a true
positive when its notice is the application's labelled `consult` pair, or when both lines name
the same `entity`; anything else is a false positive.
"""

import collections
import datetime
import json
from pathlib import Path
from typing import Any

import pytest

from service.notices import control
from service.screening.engine import Screener
from service.screening.model import Application, application_record, notice_record

DATA = Path(__file__).parents[2] / "data" / "screening_eval.jsonl"
TODAY = datetime.date(2026, 6, 1)
ORIGIN = "denials.example/eval"


def _normalised(body: dict[str, Any]) -> dict[str, Any]:
    items = [dict(i, control_entry=control.normalise(i["control_entry"])) for i in body["items"]]
    return dict(body, items=items)


@pytest.fixture(scope="module")
def cases() -> list[dict[str, Any]]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def results(cases: list[dict[str, Any]]) -> dict[str, Any]:
    screener = Screener()
    owner = {}
    for case in cases:
        screener.add(notice_record(ORIGIN, _normalised(case["notice"])))
        owner[case["notice"]["notice_id"]] = case
    counts: collections.Counter[str] = collections.Counter()
    misses, false_positives = [], []
    for case in cases:
        app: Application = application_record(_normalised(case["application"]))
        matches = screener.screen(app, TODAY)
        own = next((m for m in matches if m.notice_id == case["notice"]["notice_id"]), None)
        own_verdict = own.verdict if own else "none"
        counts[f"{case['expected']}->{own_verdict}"] += 1
        if case["expected"] == "consult" and own_verdict != "consult":
            misses.append((case["id"], own.score if own else None))
        for m in matches:
            if m.verdict != "consult":
                continue
            other = owner[m.notice_id]
            same = other is case and case["expected"] == "consult"
            if same or (other is not case and other.get("entity") == case.get("entity")):
                counts["tp"] += 1
            else:
                counts["fp"] += 1
                false_positives.append((case["id"], other["id"], m.score))
    return {"counts": counts, "misses": misses, "fp": false_positives}


def test_the_set_is_large_and_balanced(cases: list[dict[str, Any]]) -> None:
    expected = collections.Counter(c["expected"] for c in cases)
    assert len(cases) >= 300
    assert expected["consult"] >= 120
    assert expected["review"] + expected["none"] >= 60
    assert len({c["id"] for c in cases}) == len(cases)
    assert len({c["notice"]["notice_id"] for c in cases}) == len(cases)


def test_recall_of_consult_pairs(cases: list[dict[str, Any]], results: dict[str, Any]) -> None:
    wanted = sum(1 for c in cases if c["expected"] == "consult")
    recall = (wanted - len(results["misses"])) / wanted
    assert recall >= 0.97, (recall, dict(results["counts"]), results["misses"])


def test_precision_of_consult_verdicts(results: dict[str, Any]) -> None:
    counts = results["counts"]
    precision = counts["tp"] / max(1, counts["tp"] + counts["fp"])
    assert precision >= 0.95, (precision, dict(counts), results["fp"])


def test_no_hard_negative_reaches_consult(
    cases: list[dict[str, Any]], results: dict[str, Any]
) -> None:
    counts = results["counts"]
    wrong = counts["review->consult"] + counts["none->consult"]
    assert wrong == 0, (dict(counts), [f for f in results["fp"] if f[0] == f[1]])
