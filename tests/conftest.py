"""Fixtures shared by the whole suite.

Strategy: real parts, no mocks. `tests.postgres` starts a real PostgreSQL server once per
session (as the `postgres` user). Node fixtures below initialise a real node in a temporary
data directory (real SQLite file, real keys on disk, real migrations) and build the real app;
API tests talk to it through httpx's ASGITransport, and tests/system runs `denex serve`
processes. Time is injected: `clock` is a mutable fake clock the app reads.
"""

import pytest

pytest_plugins = ["tests.postgres", "tests.nodes", "tests.sync_peers"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that needs the PostgreSQL server, however many fixtures away, is marked
    `postgres`, so `-m "not postgres"` (as in `make test-fast`) leaves every one of them out."""
    for item in items:
        if "postgres_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
