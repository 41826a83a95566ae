"""Candidate retrieval: which indexed notices are worth scoring against an application.

Notices live in integer slots (a new slot per add, so every posting list stays sorted);
postings map a key to one slot (an int) or a sorted `array` of slots: identifier keys
(`i:LEI:...`), name lookup keys (`t:` tokens, run-together forms and CJK syllable pairs,
`p:` prefixes) and control-entry heads (`e:5A001`, `e:catch-all`). Destination and expiry
are per-slot columns. Adding, replacing and removing a notice touch only its own keys.
Retrieval visits a bounded number of postings and returns at most `limit` slots, ranked;
how alike a candidate is, is left to service.screening.scoring.
"""

import heapq
import math
import sys
from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from service.notices.control import overlaps
from service.screening.model import NoticeRecord
from service.screening.names import NameKeys, identifier_key, lookup_keys, party_keys

DF_CAP = 1_000  # a key in more notices than this is never expanded on its own
SCAN_CAP = 50_000  # a common-word-only name is filtered by destination up to this many notices
VISIT_BUDGET = 60_000  # posting entries visited per retrieval
MAX_CANDIDATES = 150  # notices scored per application
MIN_COVERAGE = 0.2  # share of a name's (idf-weighted) lookup keys a candidate must have
IDENTIFIER_BOOST = 10.0
DESTINATION_BOOST = 0.3
ITEM_BOOST = 0.2
MAX_KEYS_PER_NOTICE = 2_000
MAX_RANKED = 20_000  # candidates ranked in full (the rest are cut by their name weight first)

Posting = int | array  # type: ignore[type-arg]


@dataclass(frozen=True, slots=True)
class Query:
    """What an application is looked up by."""

    identifiers: frozenset[str]  # identifier keys
    names: tuple[frozenset[str], ...]  # the lookup keys of each distinct name
    destination: str
    entries: frozenset[str]  # control-entry heads


def entry_head(entry: str) -> str:
    return entry.split(".", 1)[0]


def notice_keys(record: NoticeRecord, names: NameKeys | None = None) -> set[str]:
    """Every posting key of a notice (bounded: a notice has at most 100 parties x 51 names)."""
    if names is None:
        names = party_keys(party.names for party in record.parties)
    keys: set[str] = set()
    for party, party_names in zip(record.parties, names, strict=True):
        keys.update(f"i:{identifier_key(s, v)}" for s, v in party.identifiers)
        for key in party_names:
            keys.update(lookup_keys(key))
    keys = set(sorted(keys)[:MAX_KEYS_PER_NOTICE])
    keys.update(f"e:{entry_head(i.control_entry)}" for i in record.items)
    return keys


def _iter(posting: Posting) -> Iterable[int]:
    return (posting,) if isinstance(posting, int) else posting


def _has(posting: Posting, slot: int) -> bool:
    if isinstance(posting, int):
        return posting == slot
    i = bisect_left(posting, slot)
    return i < len(posting) and posting[i] == slot


class NoticeIndex:
    """Notices by (origin, notice_id), with postings for retrieval."""

    def __init__(self) -> None:
        self._slots: dict[tuple[str, str], int] = {}
        self._records: list[NoticeRecord | None] = []
        self._names: list[NameKeys | None] = []  # per slot: its parties' name keys
        self._destination = array("H")
        self._until = array("i")  # in_force_until as a proleptic ordinal
        self._codes: dict[str, int] = {}
        self._postings: dict[str, Posting] = {}

    def __len__(self) -> int:
        return len(self._slots)

    def __contains__(self, key: object) -> bool:
        return key in self._slots

    def __iter__(self) -> Iterator[NoticeRecord]:
        return (r for r in self._records if r is not None)

    def get(self, origin: str, notice_id: str) -> NoticeRecord | None:
        slot = self._slots.get((origin, notice_id))
        return None if slot is None else self._records[slot]

    def record(self, slot: int) -> NoticeRecord | None:
        return self._records[slot]

    def names(self, slot: int) -> NameKeys | None:
        return self._names[slot]

    def slot(self, origin: str, notice_id: str) -> int | None:
        return self._slots.get((origin, notice_id))

    def df(self, key: str) -> int:
        """How many live notices a posting key has."""
        posting = self._postings.get(key)
        return 0 if posting is None else 1 if isinstance(posting, int) else len(posting)

    def _code(self, destination: str) -> int:
        return self._codes.setdefault(sys.intern(destination), len(self._codes) + 1)

    def add(self, record: NoticeRecord) -> None:
        """Add a notice, or replace the one with the same (origin, notice_id)."""
        self.remove(record.origin, record.notice_id)
        slot = len(self._records)
        names = party_keys(party.names for party in record.parties)
        self._records.append(record)
        self._names.append(names)
        self._destination.append(self._code(record.destination))
        self._until.append(record.in_force_until.toordinal())
        self._slots[(sys.intern(record.origin), record.notice_id)] = slot
        for key in notice_keys(record, names):
            posting = self._postings.get(key)
            if posting is None:
                self._postings[sys.intern(key)] = slot
            elif isinstance(posting, int):
                self._postings[key] = array("I", (posting, slot))
            else:
                posting.append(slot)

    def remove(self, origin: str, notice_id: str) -> None:
        """Forget a notice; nothing happens if it is not indexed."""
        slot = self._slots.pop((origin, notice_id), None)
        if slot is None:
            return
        record, names = self._records[slot], self._names[slot]
        self._records[slot] = self._names[slot] = None
        if record is None or names is None:
            return
        for key in notice_keys(record, names):
            posting = self._postings.get(key)
            if posting is None:
                continue
            if isinstance(posting, int):
                if posting == slot:
                    del self._postings[key]
                continue
            i = bisect_left(posting, slot)
            if i < len(posting) and posting[i] == slot:
                del posting[i]
            if len(posting) == 1:
                self._postings[key] = posting[0]

    def by_control_entry(self, entry: str) -> list[int]:
        """Slots of notices with an item that covers, or is covered by, `entry`."""
        posting = self._postings.get(f"e:{entry_head(entry)}")
        found = []
        for slot in _iter(posting) if posting is not None else ():
            record = self._records[slot]
            if record and any(overlaps(entry, i.control_entry) for i in record.items):
                found.append(slot)
        return found

    def candidates(self, query: Query, today: int, limit: int = MAX_CANDIDATES) -> list[int]:
        """At most `limit` live, unexpired slots, the most promising first (never a scan)."""
        weights: dict[int, float] = {}
        budget = VISIT_BUDGET
        for key in query.identifiers:
            posting = self._postings.get(f"i:{key}")
            for slot in _iter(posting) if posting is not None else ():
                weights[slot] = weights.get(slot, 0.0) + IDENTIFIER_BOOST
        code = self._codes.get(query.destination, 0)
        live = max(1, len(self._slots))
        names: dict[int, float] = {}
        for keys in query.names:
            if budget <= 0:
                break
            found = [(self.df(k), k) for k in keys]
            # keys no notice has cannot tell candidates apart: they are left out of the share
            total = sum(math.log(1 + live / df) for df, _ in found if df)
            hits: dict[int, float] = {}
            for df, key in sorted(found):
                if df == 0:
                    continue
                posting = self._postings[key]
                weight = math.log(1 + live / df)
                if df <= DF_CAP:
                    for slot in _iter(posting):
                        hits[slot] = hits.get(slot, 0.0) + weight
                    budget -= df
                elif hits and len(hits) <= DF_CAP:  # a common word adds to what was found
                    for slot in list(hits):
                        if _has(posting, slot):
                            hits[slot] += weight
                elif hits and df <= budget:  # many found already: walk the posting instead
                    for slot in _iter(posting):
                        if slot in hits:
                            hits[slot] += weight
                    budget -= df
                elif df <= min(SCAN_CAP, budget):  # only common words: same destination only
                    destination = self._destination
                    for slot in _iter(posting):
                        if destination[slot] == code:
                            hits[slot] = hits.get(slot, 0.0) + weight
                    budget -= df
            for slot, weight in hits.items():  # the share of this name's evidence found
                if weight >= MIN_COVERAGE * total and weight / total > names.get(slot, 0.0):
                    names[slot] = weight / total
        for slot, coverage in names.items():
            weights[slot] = weights.get(slot, 0.0) + coverage
        return self._rank(weights, query, code, today, limit)

    def _rank(
        self, weights: dict[int, float], query: Query, code: int, today: int, limit: int
    ) -> list[int]:
        entries = [p for p in (self._postings.get(f"e:{e}") for e in query.entries) if p]
        catch_all = self._postings.get("e:catch-all")
        if catch_all is not None:
            entries.append(catch_all)
        if len(weights) > MAX_RANKED:
            weights = {
                s: weights[s] for s in heapq.nlargest(MAX_RANKED, weights, key=lambda s: weights[s])
            }
        base: dict[int, float] = {}
        destination, until, records = self._destination, self._until, self._records
        for slot, weight in weights.items():
            if records[slot] is None or until[slot] < today:
                continue
            base[slot] = weight + DESTINATION_BOOST if destination[slot] == code else weight
        if len(base) > limit:  # only a slot within ITEM_BOOST of the cut can still make it
            cut = heapq.nlargest(limit, base.values())[-1] - ITEM_BOOST
            base = {slot: weight for slot, weight in base.items() if weight >= cut}
        ranked = {
            slot: weight + ITEM_BOOST if any(_has(p, slot) for p in entries) else weight
            for slot, weight in base.items()
        }
        # equal weights: the newest first (a higher slot was added or amended later)
        return heapq.nlargest(limit, ranked, key=lambda s: (ranked[s], s))
