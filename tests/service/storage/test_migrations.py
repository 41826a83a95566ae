"""The Alembic history against a real SQLite file and a real PostgreSQL server.

upgrade/downgrade round trips, models == migrations (autogenerate finds nothing), and the
refusal of databases stamped by a newer denex.
"""

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

import service.storage.models  # noqa: F401  (registers the service tables on `metadata`)
from federation.storage.tables import metadata
from service.errors import SchemaError
from service.storage.database import Database
from service.storage.migrate import check_current, downgrade, upgrade

FUTURE_REVISION = "9999_from_a_newer_denex"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'denex.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """The engine `denex` migrates with: the writer engine of a `Database`."""
    db = Database(database_url)
    try:
        yield db.write_engine
    finally:
        await db.dispose()


def _tables(sync_conn: Any) -> set[str]:
    return set(inspect(sync_conn).get_table_names())


async def tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return await conn.run_sync(_tables)


def _diff(sync_conn: Any) -> list[Any]:
    context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def test_metadata_holds_the_service_tables() -> None:
    # Guards the tests below against passing vacuously on a half-empty MetaData.
    assert {"logs", "entries", "node", "tokens", "audit_events", "notices"} <= set(metadata.tables)


async def test_upgrade_downgrade_upgrade(engine: AsyncEngine) -> None:
    expected = set(metadata.tables)

    await upgrade(engine)
    assert await tables(engine) == expected | {"alembic_version"}

    await downgrade(engine, "base")
    assert await tables(engine) <= {"alembic_version"}

    await upgrade(engine, "head")
    assert await tables(engine) == expected | {"alembic_version"}
    await check_current(engine)


async def test_upgrade_is_idempotent(engine: AsyncEngine) -> None:
    await upgrade(engine)
    await upgrade(engine)
    await check_current(engine)


async def test_models_match_migrations(engine: AsyncEngine) -> None:
    await upgrade(engine)
    async with engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    assert diff == []


async def test_check_current_refuses_unmigrated_database(engine: AsyncEngine) -> None:
    with pytest.raises(SchemaError, match="not at head"):
        await check_current(engine)


async def test_check_current_refuses_database_downgraded_to_base(engine: AsyncEngine) -> None:
    await upgrade(engine)
    await downgrade(engine, "base")
    with pytest.raises(SchemaError, match="not at head"):
        await check_current(engine)


async def test_check_current_passes_at_head(engine: AsyncEngine) -> None:
    await upgrade(engine)
    await check_current(engine)


async def _stamp_future(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE alembic_version SET version_num = :rev"), {"rev": FUTURE_REVISION}
        )


async def test_newer_schema_is_refused(engine: AsyncEngine) -> None:
    await upgrade(engine)
    await _stamp_future(engine)

    with pytest.raises(SchemaError, match="newer") as raised:
        await upgrade(engine)
    assert FUTURE_REVISION in str(raised.value)

    with pytest.raises(SchemaError, match="newer"):
        await check_current(engine)

    with pytest.raises(SchemaError, match="newer"):
        await downgrade(engine, "base")

    # Refusing must not have touched the database.
    async with engine.connect() as conn:
        stamped = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    assert stamped == FUTURE_REVISION
    assert await tables(engine) == set(metadata.tables) | {"alembic_version"}


async def test_newer_schema_is_refused_on_a_database_with_only_a_stamp(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
            )
        )
        await conn.execute(
            text("INSERT INTO alembic_version (version_num) VALUES (:rev)"),
            {"rev": FUTURE_REVISION},
        )
    with pytest.raises(SchemaError, match="newer"):
        await upgrade(engine)
    with pytest.raises(SchemaError, match="newer"):
        await check_current(engine)
    assert await tables(engine) == {"alembic_version"}


async def test_0002_builds_the_tree_of_logs_stored_before_it(engine: AsyncEngine) -> None:
    from datetime import UTC, datetime

    from sqlalchemy.ext.asyncio import AsyncSession

    from federation.core import merkle
    from federation.storage import tree

    await upgrade(engine, "0001")
    leaves = [merkle.leaf(bytes([i])) for i in range(11)]
    now = datetime(2026, 11, 28, tzinfo=UTC)
    async with engine.begin() as conn:
        await conn.execute(
            text("INSERT INTO logs (origin, size, updated_at) VALUES ('de-bafa', 11, :t)"),
            {"t": now},
        )
        for seq, leaf_hash in enumerate(leaves):
            await conn.execute(
                text(
                    "INSERT INTO entries (origin, seq, type, issued_at, key_id, audience, envelope,"
                    " leaf_hash, flagged, stored_at) VALUES ('de-bafa', :s, 'notice.published', :t,"
                    " 'k', '[\"de-bafa\"]', :e, :h, false, :t)"
                ),
                {"s": seq, "t": now, "e": bytes([seq]), "h": leaf_hash},
            )
    await upgrade(engine)
    async with AsyncSession(engine) as session:
        assert await tree.root_at(session, "de-bafa", 11) == merkle.root_of(leaves)
        stored = await session.scalar(text("SELECT root FROM logs WHERE origin = 'de-bafa'"))
        assert stored == merkle.root_of(leaves)


async def _insert_notice_with_terms(engine: AsyncEngine) -> None:
    """A notice row and its notice_terms rows as schema 0006 held them."""
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO notices (origin, notice_id, version, reference, decision, "
                "decided_on, valid_until, destination, regimes, audience, body, first_seq, "
                "last_seq) VALUES ('de-bafa', 'n-1', 1, 'R', 'refusal', '2026-01-01', "
                "'2031-01-01', 'RU', '[\"WA\"]', '[\"de-bafa\"]', '{}', 1, 1)"
            )
        )
        for kind, term in [
            ("control", "5A002.a"),
            ("control", "4A005"),
            ("party", "acme optics"),
            ("party", "акме"),
            ("regime", "WA"),
        ]:
            await conn.execute(
                text(
                    "INSERT INTO notice_terms (origin, notice_id, kind, term) "
                    "VALUES ('de-bafa', 'n-1', :kind, :term)"
                ),
                {"kind": kind, "term": term},
            )


async def test_0007_moves_terms_into_columns_and_back(engine: AsyncEngine) -> None:
    await upgrade(engine, "0006")
    await _insert_notice_with_terms(engine)

    await upgrade(engine, "0007")
    async with engine.connect() as conn:
        row = (
            await conn.execute(text("SELECT control_terms, party_terms, regime_terms FROM notices"))
        ).one()
    assert tuple(row) == ("\x1f4A005\x1f5A002.a\x1f", "\x1facme optics\x1fакме\x1f", "\x1fWA\x1f")
    assert "notice_terms" not in await tables(engine)

    await downgrade(engine, "0006")
    async with engine.connect() as conn:
        terms = set(
            tuple(row) for row in await conn.execute(text("SELECT kind, term FROM notice_terms"))
        )
    assert terms == {
        ("control", "5A002.a"),
        ("control", "4A005"),
        ("party", "acme optics"),
        ("party", "акме"),
        ("regime", "WA"),
    }


async def _insert_notice(engine: AsyncEngine, origin: str, notice_id: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO notices (origin, notice_id, version, reference, decision, "
                "decided_on, valid_until, destination, regimes, audience, body, first_seq, "
                "last_seq) VALUES (:o, :n, 1, 'R', 'refusal', '2026-01-01', '2031-01-01', 'RU', "
                "'[\"WA\"]', '[\"de-bafa\"]', '{}', 1, 1)"
            ),
            {"o": origin, "n": notice_id},
        )


async def _insert_consultation(engine: AsyncEngine, consultation_id: str, requester: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO consultations (consultation_id, requester, requested_seq, denier, "
                "notice_id, notice_version, reply_due, summary, message, requested_at) VALUES "
                "(:c, :r, 1, 'de-bafa', 'n-1', 1, '2026-12-28', 's', 'm', :t)"
            ),
            {"c": consultation_id, "r": requester, "t": datetime(2026, 11, 28, tzinfo=UTC)},
        )


async def _rows(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text(f"SELECT COUNT(*) FROM {table}")) or 0)


async def test_0008_lets_two_origins_use_one_notice_id_and_downgrades_only_without(
    engine: AsyncEngine,
) -> None:
    await upgrade(engine, "0007")
    await _insert_notice(engine, "de-bafa", "n-1")
    await _insert_consultation(engine, "c-1", "fr-sbdu")
    with pytest.raises(IntegrityError):  # 0007: one notice per notice_id, whatever its origin
        await _insert_notice(engine, "aq-rogue", "n-1")

    await upgrade(engine, "0008")
    await _insert_notice(engine, "aq-rogue", "n-1")
    await _insert_consultation(engine, "c-1", "aq-rogue")
    with pytest.raises(IntegrityError):  # still one notice per (origin, notice_id)
        await _insert_notice(engine, "aq-rogue", "n-1")

    # the older schema would hide one of them: refused, and nothing changes
    with pytest.raises(RuntimeError, match="notice_id n-1 is used by two origins"):
        await downgrade(engine, "0007")
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM notices WHERE origin = 'aq-rogue'"))
    with pytest.raises(RuntimeError, match="consultation_id c-1 is used by two requesters"):
        await downgrade(engine, "0007")
    async with engine.connect() as conn:
        assert await conn.scalar(text("SELECT version_num FROM alembic_version")) == "0008"
    assert (await _rows(engine, "notices"), await _rows(engine, "consultations")) == (1, 2)

    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM consultations WHERE requester = 'aq-rogue'"))
    await downgrade(engine, "0007")
    assert (await _rows(engine, "notices"), await _rows(engine, "consultations")) == (1, 1)
    with pytest.raises(IntegrityError):
        await _insert_notice(engine, "aq-rogue", "n-1")
    await upgrade(engine)
    await check_current(engine)
