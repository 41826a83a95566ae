"""Notice rows made ahead of storing, where the entries are (pure, light): a sync prepares
the rows of a verified page's notice entries in worker processes (`workers.pool`) while the
previous page is stored, and bulk import's workers build the rows of the notices they seal.
The storing process then only looks up and inserts (`service.notices.derived`). Imports no
database layer: what a worker loads for these jobs is this module, the row builders and the
table definitions.
"""

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy.engine import Dialect

from federation.storage.bulk import DriverRows, driver_rows
from service.notices.rows import FreshRows, new_notice, version_row
from service.storage.dialect import sqlite_dialect
from service.storage.models import NoticeRow, NoticeVersionRow

NOTICE_TYPES = ("notice.published", "notice.amended", "notice.revoked", "notice.reviewed")

# (seq, type, audience, body) of a verified notice entry: what a preparing worker is sent
Pending = tuple[int, str, tuple[str, ...], bytes]


@dataclass(frozen=True)
class DriverFresh:
    """`FreshRows` converted for the SQLite driver (where they were built)."""

    notices: DriverRows
    versions: DriverRows


def for_driver(rows: FreshRows, dialect: Dialect) -> DriverFresh:
    return DriverFresh(
        driver_rows(NoticeRow, rows.notices, dialect),
        driver_rows(NoticeVersionRow, rows.versions, dialect),
    )


def parse_body(raw: bytes | None) -> dict[str, Any] | str:
    """A notice entry's body as a dict naming its notice_id, or why it is not one."""
    try:
        body = orjson.loads(raw or b"")
    except ValueError:
        return "body is not JSON"
    if not isinstance(body, dict) or not isinstance(body.get("notice_id"), str):
        return "body is not a notice"
    return body


@dataclass(frozen=True)
class PreparedNotices:
    """What a sync's workers made of the notice entries of one chunk of a page
    (`prepare_notices`), so that the storing process only looks up and inserts: the notice id
    each body names, and for each `notice.published` the two rows it makes if its notice is
    new (converted for the SQLite driver when prepared for it)."""

    origin: str
    ids: dict[int, str]  # seq -> notice_id
    fresh: dict[int, tuple[Any, Any]]  # seq -> (notices row, notice_versions row)
    driver: bool


@lru_cache(maxsize=1)
def _sqlite() -> Dialect:
    return sqlite_dialect()


def prepare_notices(job: tuple[str, bool, list[Pending]]) -> PreparedNotices:
    """`PreparedNotices` of `(origin, driver, entries)`: verified notice entries of `origin`
    (pure; runs in a worker). Entries whose body is not a notice or fails the schema are left
    out: the storing process flags them as usual."""
    origin, driver, pending = job
    ids: dict[int, str] = {}
    seqs: list[int] = []
    fresh = FreshRows([], [])
    for seq, kind, audience, raw in pending:
        body = parse_body(raw)
        if isinstance(body, str):
            continue
        ids[seq] = body["notice_id"]
        if kind != "notice.published":
            continue
        try:
            row = new_notice(origin, seq, list(audience), body)
        except (KeyError, TypeError, ValueError):
            continue  # fails the schema: flagged by the storing process
        seqs.append(seq)
        fresh.notices.append(row)
        fresh.versions.append(version_row(origin, seq, body["notice_id"], row["version"]))
    rows: tuple[list[Any], list[Any]] = (fresh.notices, fresh.versions)
    if driver:
        converted = for_driver(fresh, _sqlite())
        rows = (converted.notices.values, converted.versions.values)
    return PreparedNotices(
        origin, ids, dict(zip(seqs, zip(*rows, strict=True), strict=True)), driver
    )
