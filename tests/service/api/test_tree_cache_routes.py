"""The proof routes keep one subtree cache per database: nodes in one process (as in these
tests) may hold logs of the same origin with different contents."""

import gc
from pathlib import Path

from service.api.routes import federation as routes
from service.storage.database import Database


async def test_each_database_has_its_own_subtree_cache(tmp_path: Path) -> None:
    first = Database(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}")
    second = Database(f"sqlite+aiosqlite:///{tmp_path / 'b.db'}")
    try:
        assert routes._subtree_cache(first) is routes._subtree_cache(first)
        assert routes._subtree_cache(first) is not routes._subtree_cache(second)
    finally:
        await first.dispose()
        await second.dispose()
    del first, second
    gc.collect()
    assert not [db for db in routes._subtree_caches if db.url.endswith(("a.db", "b.db"))]
