"""One column type for every stored time (federation.storage.tables.UtcDateTime): written in UTC,
read back aware on SQLite and PostgreSQL alike, a naive time refused before it is stored."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, select, text
from sqlalchemy.exc import StatementError

from federation.storage.tables import LogRow, UtcDateTime, stored_moment
from service.storage.database import Database
from tests.service.storage.test_database import database_url, db  # noqa: F401 (fixtures)

PARIS_WINTER = timezone(timedelta(hours=1))


async def test_a_time_comes_back_aware_in_utc_whatever_offset_it_was_written_with(
    db: Database,  # noqa: F811
) -> None:
    written = datetime(2026, 12, 5, 10, 30, 15, 250_000, tzinfo=PARIS_WINTER)
    async with db.write() as session:
        session.add(LogRow(origin="de-bafa", size=0, updated_at=written, fresh_at=None))
    async with db.read() as session:
        row = (await session.execute(select(LogRow.updated_at, LogRow.fresh_at))).one()
    assert row.updated_at == written  # the same moment...
    assert row.updated_at.utcoffset() == timedelta(0)  # ...told in UTC
    assert row.updated_at.hour == 9
    assert row.fresh_at is None


async def test_a_naive_time_is_refused_and_nothing_is_written(db: Database) -> None:  # noqa: F811
    with pytest.raises(StatementError, match="timezone-aware"):
        async with db.write() as session:
            session.add(LogRow(origin="de-bafa", size=0, updated_at=datetime(2026, 12, 5, 10)))
    async with db.read() as session:
        assert (await session.execute(select(LogRow))).first() is None


async def test_times_compare_in_sql_as_moments(db: Database) -> None:  # noqa: F811
    """A bound parameter of the type is converted like a column value, so SQL comparisons of
    stored times against a time with another offset are right."""
    stored = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    async with db.write() as session:
        session.add(LogRow(origin="de-bafa", size=0, updated_at=stored))
    later = text("SELECT origin FROM logs WHERE updated_at < :moment").bindparams(
        bindparam("moment", type_=UtcDateTime())
    )
    async with db.read() as session:
        # 09:30 UTC, written as 10:30 at +01:00: after the stored 09:00 UTC
        after = datetime(2026, 12, 5, 10, 30, tzinfo=PARIS_WINTER)
        assert (await session.execute(later, {"moment": after})).scalars().all() == ["de-bafa"]
        # 08:30 UTC, written as 09:30 at +01:00: before it (text order would say after)
        before = datetime(2026, 12, 5, 9, 30, tzinfo=PARIS_WINTER)
        assert (await session.execute(later, {"moment": before})).scalars().all() == []


@pytest.mark.parametrize(
    "value",
    [
        "2026-12-05 09:00:00.000000",  # SQLite's text, as a query that skips the types gets it
        "2026-12-05T10:00:00+01:00",
        datetime(2026, 12, 5, 9, 0),
        datetime(2026, 12, 5, 10, 0, tzinfo=PARIS_WINTER),
    ],
)
def test_a_stored_moment_in_any_shape_a_driver_gives_is_aware_utc(value: str | datetime) -> None:
    moment = stored_moment(value)
    assert moment == datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    assert moment.tzinfo is UTC
