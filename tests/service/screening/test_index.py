"""Candidate retrieval: keys, hierarchy, replacement, removal, and its bounds."""

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from service.screening import index as index_module
from service.screening.index import NoticeIndex, Query, notice_keys
from service.screening.model import ItemRecord, NoticeRecord, PartyRecord
from service.screening.names import lookup_keys, name_key

TODAY = date(2026, 1, 1).toordinal()


def record(
    notice_id: str,
    name: str,
    entry: str = "5A001.j",
    destination: str = "RU",
    ids: tuple[tuple[str, str], ...] = (),
    until: date = date(2029, 1, 1),
    origin: str = "de-bafa",
    lasting: bool = False,
) -> NoticeRecord:
    return NoticeRecord(
        origin, notice_id, 1, "refusal", destination, until,
        (ItemRecord(entry, "thing"),), (PartyRecord("end_user", (name,), None, ids),), "",
        date.max if lasting else until,
    )  # fmt: skip


def query(*names: str, destination: str = "RU", ids: frozenset[str] = frozenset()) -> Query:
    return Query(
        identifiers=ids,
        names=tuple(frozenset(lookup_keys(name_key(n))) for n in names),
        destination=destination,
        entries=frozenset({"5A001"}),
    )


def ids_of(idx: NoticeIndex, slots: list[int]) -> set[str]:
    return {r.notice_id for s in slots if (r := idx.record(s)) is not None}


def test_add_replace_remove() -> None:
    idx = NoticeIndex()
    idx.add(record("n1", "Severny Signal"))
    idx.add(record("n2", "Kedrovaya Svyaz"))
    assert len(idx) == 2 and ("de-bafa", "n1") in idx
    idx.add(record("n1", "Baltiysky Radar"))  # replace: the old name is no longer found
    assert len(idx) == 2
    assert ids_of(idx, idx.candidates(query("Severny Signal"), TODAY)) == set()
    assert ids_of(idx, idx.candidates(query("Baltiysky Radar"), TODAY)) == {"n1"}
    idx.remove("de-bafa", "n1")
    idx.remove("de-bafa", "n1")  # absent: no error
    idx.remove("nobody", "n9")
    assert len(idx) == 1 and ("de-bafa", "n1") not in idx
    assert ids_of(idx, idx.candidates(query("Baltiysky Radar"), TODAY)) == set()


def test_same_notice_id_of_two_origins_are_two_notices() -> None:
    idx = NoticeIndex()
    idx.add(record("n1", "Severny Signal", origin="a"))
    idx.add(record("n1", "Severny Signal", origin="b"))
    assert len(idx) == 2
    assert len(idx.candidates(query("Severny Signal"), TODAY)) == 2


def test_found_by_transliteration_identifier_and_typo() -> None:
    idx = NoticeIndex()
    idx.add(record("n1", "ООО «Северный сигнал»"))
    idx.add(record("n2", "Renamed Firm", ids=(("LEI", "5299-00T8BM49AURSDO55"),)))
    idx.add(record("n3", "Intellimaxa Systems"))
    assert ids_of(idx, idx.candidates(query("Severnyi Signal LLC"), TODAY)) == {"n1"}
    lei = frozenset({"LEI:529900T8BM49AURSDO55"})
    assert ids_of(idx, idx.candidates(query("Someone Else", ids=lei), TODAY)) == {"n2"}
    assert ids_of(idx, idx.candidates(query("Intellimaxx"), TODAY)) == {"n3"}


def test_control_entry_hierarchy_both_ways() -> None:
    idx = NoticeIndex()
    idx.add(record("narrow", "A", entry="5A001.j"))
    idx.add(record("broad", "B", entry="5A001"))
    idx.add(record("other", "C", entry="5A002"))
    idx.add(record("sibling", "D", entry="5A001.f"))
    assert ids_of(idx, idx.by_control_entry("5A001")) == {"narrow", "broad", "sibling"}
    assert ids_of(idx, idx.by_control_entry("5A001.j.1")) == {"narrow", "broad"}
    assert ids_of(idx, idx.by_control_entry("5A002")) == {"other"}


def test_catch_all_notices_are_found_by_name_and_ranked_by_destination() -> None:
    idx = NoticeIndex()
    idx.add(record("elsewhere", "Severny Signal", entry="catch-all", destination="BY"))
    idx.add(record("here", "Severny Signal", entry="catch-all", destination="RU"))
    found = idx.candidates(query("Severny Signal"), TODAY)
    assert [r.notice_id for s in found if (r := idx.record(s))] == ["here", "elsewhere"]


def test_expired_notices_are_not_candidates() -> None:
    idx = NoticeIndex()
    idx.add(record("old", "Severny Signal", until=date(2025, 12, 31)))
    idx.add(record("last-day", "Severny Signal", until=date(2026, 1, 1)))
    # past its review date, but under a regime whose denials stay in force until revoked
    idx.add(record("overdue", "Severny Signal", until=date(2025, 12, 31), lasting=True))
    assert ids_of(idx, idx.candidates(query("Severny Signal"), TODAY)) == {"last-day", "overdue"}


def test_common_words_are_not_expanded_alone(monkeypatch: object) -> None:
    monkeypatch.setattr(index_module, "DF_CAP", 5)  # type: ignore[attr-defined]
    idx = NoticeIndex()
    for i in range(20):
        idx.add(record(f"g{i}", f"Trading Vendor{i:02d}x", destination="AE" if i % 2 else "RU"))
    idx.add(record("target", "Trading Kelmirova"))
    # a rare word is expanded; the common one only adds weight to what it found
    assert ids_of(idx, idx.candidates(query("Kelmirova Trading"), TODAY)) == {"target"}
    # a name of nothing but common words: only the application's destination is looked at
    found = ids_of(idx, idx.candidates(query("Trading"), TODAY))
    assert found and all(idx.get("de-bafa", n).destination == "RU" for n in found)  # type: ignore[union-attr]


def test_the_number_of_candidates_is_bounded() -> None:
    idx = NoticeIndex()
    for i in range(50):
        idx.add(record(f"n{i}", "Severny Signal"))
    assert len(idx.candidates(query("Severny Signal"), TODAY, limit=7)) == 7


NAMES = ["Severny Signal", "Severny Metallurg", "Kedrovaya Svyaz", "Baltiysky Radar", "Signal Plus"]
OPS = st.lists(
    st.tuples(
        st.booleans(), st.integers(0, 7), st.sampled_from(NAMES), st.sampled_from(["RU", "BY"])
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(OPS, st.sampled_from(NAMES))
def test_index_agrees_with_a_brute_force_reference(
    ops: list[tuple[bool, int, str, str]], probe: str
) -> None:
    idx = NoticeIndex()
    reference: dict[str, NoticeRecord] = {}
    for is_add, n, name, destination in ops:
        notice_id = f"n{n}"
        if is_add:
            reference[notice_id] = record(notice_id, name, destination=destination)
            idx.add(reference[notice_id])
        else:
            reference.pop(notice_id, None)
            idx.remove("de-bafa", notice_id)
    assert len(idx) == len(reference)
    q = query(probe)
    keys = set().union(*q.names)
    expected = {i for i, r in reference.items() if keys & notice_keys(r)}
    assert ids_of(idx, idx.candidates(q, TODAY, limit=1000)) == expected
    for r in reference.values():
        assert idx.get(r.origin, r.notice_id) == r
    if not reference:  # every posting was cleaned up
        assert idx._postings == {}
