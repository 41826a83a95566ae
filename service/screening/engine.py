"""The screening engine: an in-memory index of active notices, and `screen` over it.

Holds records only (no database, no clock: `today` is passed in). Keeping it in step with
the stored notices is left to service.screening.live; candidate retrieval to
service.screening.index; the score and its explanation to service.screening.scoring.
"""

import datetime

from service.screening.index import NoticeIndex, Query, entry_head
from service.screening.model import Application, Match, NoticeRecord, Thresholds
from service.screening.scoring import PreparedApplication, prepare, score_prepared

DEFAULT_THRESHOLDS = Thresholds()


def query_of(prep: PreparedApplication) -> Query:
    """The index query of a prepared application (each distinct name looked up once)."""
    names = {n.keys for n in prep.names}
    return Query(
        identifiers=frozenset(prep.by_identifier),
        names=tuple(sorted(names, key=sorted)),
        destination=prep.app.destination,
        entries=frozenset(entry_head(i.control_entry) for i in prep.app.items),
    )


def _order(match: Match) -> tuple[float, str, str]:
    return (-match.score, match.origin, match.notice_id)


class Screener:
    """Every indexed notice that may be the essentially identical transaction of an application."""

    def __init__(self, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> None:
        self._thresholds = thresholds
        self._index = NoticeIndex()

    def add(self, record: NoticeRecord) -> None:
        """Add a notice, or replace the indexed one with the same (origin, notice_id)."""
        self._index.add(record)

    def remove(self, origin: str, notice_id: str) -> None:
        """Forget a notice (revoked, say); no error if it is not indexed."""
        self._index.remove(origin, notice_id)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, key: tuple[str, str]) -> bool:
        return key in self._index

    def screen(self, app: Application, today: datetime.date) -> list[Match]:
        """The matches of an application, best first (then by origin and notice_id); notices
        no longer in force on `today` (in_force_until before it) are never matched."""
        prep = prepare(app)
        matches = []
        for slot in self._index.candidates(query_of(prep), today.toordinal()):
            record, names = self._index.record(slot), self._index.names(slot)
            if record is not None and (
                match := score_prepared(prep, record, self._thresholds, names)
            ):
                matches.append(match)
        return sorted(matches, key=_order)

    def score_one(
        self, app: Application, origin: str, notice_id: str, today: datetime.date
    ) -> Match | None:
        """Re-evaluate one indexed notice (when it changed under an open screening)."""
        slot = self._index.slot(origin, notice_id)
        record = None if slot is None else self._index.record(slot)
        if slot is None or record is None or record.in_force_until < today:
            return None
        return score_prepared(prepare(app), record, self._thresholds, self._index.names(slot))
