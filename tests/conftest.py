"""Fixtures shared by the whole suite.

Strategy: real parts, no mocks. `tests.postgres` starts a real PostgreSQL server once per
session (as the `postgres` user). Node fixtures below initialise a real node in a temporary
data directory (real SQLite file, real keys on disk, real migrations) and build the real app;
API tests talk to it through httpx's ASGITransport, and tests/system runs `denex serve`
processes. Time is injected: `clock` is a mutable fake clock the app reads.
"""

pytest_plugins = ["tests.postgres", "tests.nodes", "tests.sync_peers"]
