"""Scoring one application against one notice: features, weights, caps and verdicts."""

from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.screening.model import (
    Application,
    ItemRecord,
    NoticeRecord,
    PartyRecord,
    Thresholds,
)
from service.screening.names import name_key
from service.screening.scoring import entry_relation, name_similarity, score

T = Thresholds()


def party(name: str, *aliases: str, role: str = "end_user", ids: Any = ()) -> PartyRecord:
    return PartyRecord(role, (name, *aliases), None, tuple(ids))


def notice(
    *parties: PartyRecord,
    entry: str = "5A001.j",
    destination: str = "RU",
    description: str = "IP network communications surveillance system",
    end_use: str = "monitoring of political opposition",
) -> NoticeRecord:
    return NoticeRecord(
        "de-bafa", "n-1", 2, "refusal", destination, date(2029, 1, 1),
        (ItemRecord(entry, description),), parties, end_use, date(2029, 1, 1),
    )  # fmt: skip


def app(
    *parties: PartyRecord,
    entry: str = "5A001.j",
    destination: str = "RU",
    description: str = "system for monitoring IP network communications traffic",
    end_use: str = "lawful interception",
) -> Application:
    return Application("APP-1", destination, (ItemRecord(entry, description),), parties, end_use)


@pytest.mark.parametrize(
    ("a", "b", "low", "high"),
    [
        ("ООО «Северный сигнал»", "Severny Signal LLC", 1.0, 1.0),
        ("Severnyi Signal", "Severnyi Sginal", 0.85, 0.99),
        ("SevernySignal", "Severny Signal", 0.95, 1.0),
        ("Severny Signal", "Severny Signal Systems", 0.85, 0.99),
        ("Severny Signal", "Severny Metallurg", 0.0, 0.6),
        ("Northern Star Trading", "Northern Light Trading", 0.0, 0.6),
        ("Positive Technologies", "Positive Systems", 0.6, 0.8),
        ("General Trading LLC", "General Trading FZE", 0.7, 0.75),
        ("Technology Solutions Ltd", "Advanced Technology Solutions Ltd", 0.5, 0.75),
        ("Al Noor General Trading", "Al Amal General Trading", 0.0, 0.5),
        ("", "Severny Signal", 0.0, 0.0),
    ],
)
def test_name_similarity(a: str, b: str, low: float, high: float) -> None:
    sim = name_similarity(name_key(a), name_key(b))
    assert low <= sim <= high
    assert sim == name_similarity(name_key(b), name_key(a))


@pytest.mark.parametrize(
    ("app_entry", "notice_entry", "relation"),
    [
        ("5A001.j", "5A001.j", "same"),
        ("5A001", "5A001.j", "covers"),
        ("5A001.j", "5A001", "covered_by"),
        ("5A001.j", "5A002", "none"),
        ("5A001.j", "5A001.f", "none"),
        ("catch-all", "5A001.j", "catch-all"),
        ("6A003.b", "catch-all", "catch-all"),
    ],
)
def test_entry_relations(app_entry: str, notice_entry: str, relation: str) -> None:
    assert entry_relation(app_entry, notice_entry) == relation


LEI = ("LEI", "529900T8BM49AURSDO55")
CASES = [
    # (why, application, notice, verdict)
    ("same firm in another script", app(party("Severnyi Signal LLC")),
     notice(party("ООО «Северный сигнал»")), "consult"),
    ("broader entry covers the denied sub-item", app(party("Severny Signal"), entry="5A001"),
     notice(party("Severny Signal OOO")), "consult"),
    ("different item: a different transaction", app(party("Severny Signal"), entry="5A002",
     description="encryption module"), notice(party("Severny Signal")), "review"),
    ("different destination, no identifier", app(party("Severny Signal"), destination="KZ"),
     notice(party("Severny Signal")), "review"),
    ("different destination, same LEI", app(party("Other Name", ids=[LEI]), destination="KZ"),
     notice(party("Severny Signal", ids=[("lei", "5299 00T8 BM49 AURS DO55")])), "consult"),
    ("same LEI, renamed firm", app(party("Memento Labs", ids=[LEI])),
     notice(party("Hacking Team S.r.l.", ids=[LEI])), "consult"),
    ("alias is the application's name", app(party("Memento Labs SRL")),
     notice(party("Hacking Team S.r.l.", "Memento Labs")), "consult"),
    ("similar names, different LEIs", app(party("Severny Signal", ids=[LEI])),
     notice(party("Severny Signal", ids=[("LEI", "5493001KJTIIGC8Y1R12")])), "review"),
    ("generic name alone", app(party("General Trading LLC")),
     notice(party("General Trading FZE")), "review"),
    ("different firm sharing one word", app(party("Severny Metallurg")),
     notice(party("Severny Signal")), None),
    ("catch-all: same end user and destination", app(party("Severny Signal"), entry="catch-all",
     description="facial recognition cameras"), notice(party("Severny Signal"), entry="catch-all",
     description="facial recognition camera system"), "consult"),
    ("catch-all: another end user", app(party("Kedrovaya Svyaz"), entry="catch-all"),
     notice(party("Severny Signal"), entry="catch-all"), None),
    ("consignee here, end user there", app(party("Unknown Buyer"), party("Severny Signal",
     role="consignee")), notice(party("Severny Signal")), "consult"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("why", "application", "record", "verdict"), CASES, ids=[c[0] for c in CASES]
)
def test_verdicts(why: str, application: Application, record: NoticeRecord, verdict: str) -> None:
    match = score(application, record, T)
    assert (match.verdict if match else None) == verdict, (why, match)
    if match:
        assert T.review <= match.score <= 1.0


def test_features_explain_the_score() -> None:
    match = score(
        app(party("Severnyi Signal LLC"), entry="5A001"),
        notice(party("X", "ООО «Северный сигнал»")),
        T,
    )
    assert match is not None and match.version == 2 and match.origin == "de-bafa"
    f = match.features
    assert f["destination"] == {"application": "RU", "notice": "RU", "match": True}
    assert f["items"]["relation"] == "covers"
    assert f["items"]["application_entry"] == "5A001" and f["items"]["notice_entry"] == "5A001.j"
    assert 0 < f["items"]["description_similarity"] <= 1
    top = f["parties"][0]
    assert top["via"] == "alias" and top["notice_name"] == "ООО «Северный сигнал»"
    assert top["application_name"] == "Severnyi Signal LLC"
    assert (top["application_role"], top["notice_role"]) == ("end_user", "end_user")
    assert top["similarity"] == 1.0
    assert set(f["end_use"]) == {"similarity"}
    assert f["capped"] is None
    parts = f["weights"]
    expected = (
        parts["parties"] * top["strength"]
        + parts["items"] * f["items"]["score"]
        + parts["destination"]
        + parts["end_use"] * f["end_use"]["similarity"]
    )
    assert match.score == pytest.approx(expected, abs=1e-3)


def test_identifier_match_is_reported() -> None:
    match = score(app(party("A", ids=[LEI])), notice(party("B", ids=[LEI])), T)
    assert match is not None
    assert match.features["parties"][0]["via"] == "identifier"
    assert match.features["parties"][0]["identifier"] == "LEI:529900T8BM49AURSDO55"


def test_the_destination_cap_is_explained() -> None:
    match = score(
        app(party("Severny Signal"), destination="KZ", end_use=""),
        notice(party("Severny Signal"), end_use=""),
        T,
    )
    assert match is not None and match.score < T.consult
    assert match.features["capped"] is None or "destination" in match.features["capped"]


def test_thresholds_are_parameters() -> None:
    strict = Thresholds(consult=0.99, review=0.98)
    assert score(app(party("Severny Signal")), notice(party("Severny Signal")), strict) is None


_TEXT = st.text(max_size=60)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(_TEXT, min_size=1, max_size=4),
    st.lists(_TEXT, min_size=1, max_size=4),
    st.text(max_size=300),
)
def test_score_never_raises_and_stays_in_range(a: list[str], b: list[str], text: str) -> None:
    match = score(app(party(*a), description=text), notice(party(*b), end_use=text), T)
    assert match is None or 0.0 <= match.score <= 1.0
