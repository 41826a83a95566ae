"""Derived notice state: applying notice entries to the notice tables, and rebuilding them.

The log is the single source of truth; these tables are an index over it. `apply_entries`
is reached only through `service.derivation.derive`, alike by publishing, bulk import, sync,
recovery, content fill-in and a full rebuild, a batch at a time with a handful of
statements per batch. A notice is `(origin, notice_id)` everywhere: an entry only
ever reads or changes its own origin's notice, so another origin that reuses a notice_id makes
a notice of its own and can neither hide nor change this one (DESIGN §6). An entry that
conflicts with what its origin already published (a reused notice_id, an out-of-order
version, an amendment or revocation of a notice its origin does not have, a body that is not
a notice) is flagged on the entry and otherwise ignored.
"""

from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from federation.core.entry import SealedEntry
from federation.storage.bulk import DriverRows, insert_rows
from federation.storage.tables import EntryRow
from service.notices.prepared import NOTICE_TYPES, DriverFresh, PreparedNotices, parse_body
from service.notices.rows import FreshRows, new_notice, notice_values, version_row
from service.storage.models import NoticeRow, NoticeVersionRow

CHUNK = 500
Key = tuple[str, str]  # (origin, notice_id): a notice


@dataclass(frozen=True)
class NoticeEntry:
    """What applying needs of an entry, whether just sealed or read back from the table."""

    origin: str
    seq: int
    type: str
    audience: list[str]
    body: bytes | None
    invalid_reason: str | None = None
    issued_at: datetime | None = None

    @classmethod
    def of(cls, entry: EntryRow | SealedEntry) -> "NoticeEntry":
        if isinstance(entry, EntryRow):
            return cls(
                entry.origin,
                entry.seq,
                entry.type,
                list(entry.audience),
                entry.content_body,
                entry.invalid_reason,
                entry.issued_at,
            )
        return cls(
            entry.origin,
            entry.seq,
            entry.type,
            list(entry.audience),
            entry.body,
            issued_at=entry.issued_at,
        )


def _reviewed(body: dict[str, Any], version: int, notice_id: str, seq: int) -> dict[str, Any]:
    """What a `notice.reviewed` entry changes: the review restarts the clock (valid_until
    becomes `next_review`). Raises _Skip for a review of another version, or dates out of
    order."""
    if body.get("version") != version or body.get("outcome") != "maintained":
        raise _Skip(f"review of {notice_id}: not a maintained review of version {version}")
    reviewed_on = date.fromisoformat(body["reviewed_on"])
    next_review = date.fromisoformat(body["next_review"])
    if next_review <= reviewed_on:
        raise _Skip(f"review of {notice_id}: next_review is not after reviewed_on")
    return {"valid_until": next_review, "reviewed_on": reviewed_on, "last_seq": seq}


def _text(value: Any, most: int) -> str | None:
    """A partner's optional short field as stored: text of at most `most` characters, or
    None (anything else is not ours to keep)."""
    return value if isinstance(value, str) and 0 < len(value) <= most else None


class _Skip(Exception):
    """This entry is flagged with the given reason and otherwise ignored."""


async def insert_fresh(session: AsyncSession, parts: Sequence[FreshRows | DriverFresh]) -> None:
    """Insert rows made by `fresh_rows` (a notice its origin already has fails the
    transaction)."""
    for rows in parts:
        await insert_rows(session, NoticeRow, rows.notices)
    for rows in parts:
        await insert_rows(session, NoticeVersionRow, rows.versions)


class _Batch:
    """Applies a batch in memory, then writes it with a few bulk statements.

    Notices already stored are ORM rows (changed in place, flushed as updates); notices new
    in this batch are plain column dicts, bulk-inserted, and become rows only if asked."""

    def __init__(self, known: dict[Key, NoticeRow]) -> None:
        self.known = known
        self.new: dict[Key, dict[str, Any]] = {}
        self.versions: list[dict[str, Any]] = []
        self.flags: list[tuple[NoticeEntry, str]] = []

    def _current(self, key: Key) -> dict[str, Any] | NoticeRow | None:
        return self.new.get(key) or self.known.get(key)

    def apply(self, entry: NoticeEntry, body: dict[str, Any]) -> Key:
        """Apply one entry to its own origin's notice; return that notice's key. An entry
        never reads or changes another origin's notice. Raises _Skip."""
        notice_id = body["notice_id"]
        key = (entry.origin, str(notice_id))
        existing = self._current(key)
        first_known = entry.type == "notice.amended" and existing is None
        if entry.type == "notice.published" and existing is not None:
            if _Fields(existing)["version"] <= body["version"]:
                raise _Skip(f"notice_id {notice_id} is already used by {entry.origin}")
            # its content arrived after a later version's: history only
            kind, version = "published", body["version"]
        elif entry.type == "notice.published" or first_known:
            # an amendment can be the first version a node sees: one that joined the audience
            # later gets the full current version, never the earlier ones (DESIGN §6)
            self.new[key] = new_notice(entry.origin, entry.seq, entry.audience, body)
            self.new[key]["invalid_reason"] = entry.invalid_reason  # shown, never dropped
            kind = "amended" if first_known else "published"
            version = body["version"]
        else:
            if existing is None:  # another origin's notice of that id is not its to change
                raise _Skip(f"{entry.type} of unknown notice {entry.origin}/{notice_id}")
            current = _Fields(existing)
            if current["revoked_seq"] is not None:
                raise _Skip(f"{entry.type} of revoked notice {notice_id}")
            if entry.invalid_reason is not None:  # listed in the history, not applied
                kind = f"invalid {entry.type.removeprefix('notice.')}"
                version = current["version"]
            elif entry.type == "notice.amended":
                if body["version"] != current["version"] + 1 or (
                    body["supersedes"] != current["version"]
                ):
                    raise _Skip(f"amendment of {notice_id} out of order")
                current.update(notice_values(body, entry.audience, entry.seq))
                kind, version = "amended", body["version"]
            elif entry.type == "notice.reviewed":
                current.update(_reviewed(body, current["version"], notice_id, entry.seq))
                kind, version = "reviewed", current["version"]
            else:
                current.update(
                    {
                        "revoked_on": date.fromisoformat(body["revoked_on"]),
                        "revoked_reason": str(body["reason"]),
                        "revoked_code": _text(body.get("code"), 40),
                        "superseded_by": _text(body.get("superseded_by"), 36),
                        "revoked_seq": entry.seq,
                        "last_seq": entry.seq,
                    }
                )
                kind, version = "revoked", current["version"]
        self.versions.append(version_row(entry.origin, entry.seq, notice_id, version, kind))
        return key

    def row(self, key: Key) -> NoticeRow:
        """The notice as a row (new ones become detached ORM objects, built on demand)."""
        if key in self.new:
            return NoticeRow(**self.new[key])
        return self.known[key]

    async def write(self, session: AsyncSession) -> None:
        await insert_rows(session, NoticeRow, list(self.new.values()))
        await session.flush()
        await insert_rows(session, NoticeVersionRow, self.versions)
        for entry, reason in self.flags:
            await session.execute(
                update(EntryRow)
                .where(EntryRow.origin == entry.origin, EntryRow.seq == entry.seq)
                .values(flagged=True, flag_reason=reason)
            )


class _Fields:
    """Dict-style access to a notice whether it is a new column dict or a stored ORM row."""

    def __init__(self, target: dict[str, Any] | NoticeRow) -> None:
        self.target = target

    def __getitem__(self, name: str) -> Any:
        if isinstance(self.target, dict):
            return self.target[name]
        return getattr(self.target, name)

    def update(self, values: dict[str, Any]) -> None:
        if isinstance(self.target, dict):
            self.target.update(values)
        else:
            for name, value in values.items():
                setattr(self.target, name, value)


def _parse(entry: NoticeEntry) -> dict[str, Any]:
    body = parse_body(entry.body)
    if isinstance(body, str):
        raise _Skip(body)
    return body


class NoticeReplay:
    """Notices as derivation makes them, folded in memory from entries given in seq order
    (the same rules as `apply_entries`, no tables): what reproducing a screening replays a
    log up to a past size with. An entry derivation would flag is passed over."""

    def __init__(self) -> None:
        self._batch = _Batch({})

    def add(self, entry: NoticeEntry) -> None:
        if entry.type not in NOTICE_TYPES or entry.body is None:
            return
        try:
            self._batch.apply(entry, _parse(entry))
        except (_Skip, KeyError, TypeError, ValueError):
            pass  # flagged by derivation: it changes no notice
        self._batch.versions.clear()  # the history is not replayed, only the notices

    def active(self) -> list[tuple[dict[str, Any], date]]:
        """The body and valid_until (a review's next_review, or the body's) of every notice
        that stands (neither revoked nor invalid)."""
        return [
            (row["body"], row["valid_until"])
            for row in self._batch.new.values()
            if row["revoked_seq"] is None and row["invalid_reason"] is None
        ]


async def _known(session: AsyncSession, keys: set[Key]) -> dict[Key, NoticeRow]:
    """The stored notices among `keys`, by origin (a batch is mostly one origin's)."""
    by_origin: dict[str, list[str]] = defaultdict(list)
    for origin, notice_id in sorted(keys):
        by_origin[origin].append(notice_id)
    known: dict[Key, NoticeRow] = {}
    for origin, ids in by_origin.items():
        for start in range(0, len(ids), CHUNK):
            rows = await session.scalars(
                select(NoticeRow).where(
                    NoticeRow.origin == origin, NoticeRow.notice_id.in_(ids[start : start + CHUNK])
                )
            )
            known.update({(row.origin, row.notice_id): row for row in rows})
    return known


def _insertable(
    parsed: Sequence[tuple[NoticeEntry, Any, str | None]],
    ready: dict[tuple[str, int], PreparedNotices],
    named: dict[tuple[str, int], Key],
    known: dict[Key, NoticeRow],
) -> dict[tuple[str, int], tuple[Any, Any]]:
    """The prepared rows that can be inserted as they are: publications of a notice (origin
    and id) that is not stored and that no other entry of the batch names (nothing to order
    or check)."""
    uses = Counter(named.values())
    fast = {}
    for entry, _body, _problem in parsed:
        key = (entry.origin, entry.seq)
        source = ready.get(key)
        if (
            source is not None
            and entry.seq in source.fresh
            and entry.type == "notice.published"
            and entry.invalid_reason is None
            and uses[named[key]] == 1
            and named[key] not in known
        ):
            fast[key] = source.fresh[entry.seq]
    return fast


async def apply_entries(
    session: AsyncSession,
    entries: Sequence[NoticeEntry],
    *,
    rows: bool = True,
    prepared: Sequence[PreparedNotices] = (),
) -> list[tuple[NoticeEntry, NoticeRow | None, str | None]]:
    """Apply notice entries (others are passed over) in order; for each notice entry return
    the affected notice (None when `rows` is false: bulk callers that only count), or None
    and the reason it was flagged. With `prepared` (a sync's verify workers), a publication
    of a new notice named by no other entry of the batch is inserted as prepared; the rest
    are applied one by one as usual, with the body parsed here."""
    ready = {(p.origin, seq): p for p in prepared for seq in p.ids}
    named: dict[tuple[str, int], Key] = {}
    parsed: list[tuple[NoticeEntry, dict[str, Any] | None, str | None]] = []
    for entry in entries:
        if entry.type not in NOTICE_TYPES or entry.body is None:
            continue
        key = (entry.origin, entry.seq)
        if key in ready:
            named[key] = (entry.origin, ready[key].ids[entry.seq])
            parsed.append((entry, None, None))  # parsed here only if it is applied here
            continue
        try:
            content = _parse(entry)
        except _Skip as skip:
            parsed.append((entry, None, str(skip)))
        else:
            named[key] = (entry.origin, content["notice_id"])
            parsed.append((entry, content, None))
    batch = _Batch(await _known(session, set(named.values())))
    fast = {} if rows else _insertable(parsed, ready, named, batch.known)
    changed: list[tuple[NoticeEntry, Key | None, str | None]] = []
    for entry, body, problem in parsed:
        key = (entry.origin, entry.seq)
        if key in fast:
            changed.append((entry, named[key], None))
            continue
        if body is None and problem is None:
            try:
                body = _parse(entry)
            except _Skip as skip:
                problem = str(skip)
        notice: Key | None = None
        if body is not None:
            try:
                notice = batch.apply(entry, body)
            except _Skip as skip:
                problem = str(skip)
            except KeyError as exc:
                problem = f"body fails the notice schema: it has no {exc.args[0]}"
            except (TypeError, ValueError) as exc:
                problem = f"body fails the notice schema: {exc}"
        if problem is not None:
            batch.flags.append((entry, problem))
        changed.append((entry, notice, problem))
    await batch.write(session)
    if fast:
        driver = next(iter(ready.values())).driver  # one sync prepares all alike
        notices, versions = [n for n, _ in fast.values()], [v for _, v in fast.values()]
        await insert_rows(session, NoticeRow, DriverRows("notices", notices) if driver else notices)
        await insert_rows(
            session,
            NoticeVersionRow,
            DriverRows("notice_versions", versions) if driver else versions,
        )
    made: dict[Key, NoticeRow] = {}

    def row(notice: Key | None) -> NoticeRow | None:
        if notice is None or not rows:
            return None
        if notice not in made:
            made[notice] = batch.row(notice)
        return made[notice]

    return [(entry, row(notice), problem) for entry, notice, problem in changed]


async def clear_notices(session: AsyncSession) -> None:
    """Drop every notice table and the flags of notice entries (a rebuild starts here:
    `service.derivation.rebuild_all`)."""
    await session.execute(delete(NoticeVersionRow))
    await session.execute(delete(NoticeRow))
    await session.execute(
        update(EntryRow)
        .where(EntryRow.type.in_(NOTICE_TYPES))
        .values(flagged=False, flag_reason=None)
    )
    await session.flush()
    session.expunge_all()


async def stored_entries(
    session: AsyncSession, types: Sequence[str], *, batch: int = 1000
) -> AsyncIterator[list[EntryRow]]:
    """Stored entries of `types`, every origin, in (origin, seq) order, a batch at a time
    (what a rebuild of derived tables replays)."""
    after: tuple[str, int] = ("", -1)
    while rows := list(
        await session.scalars(
            select(EntryRow)
            .where(EntryRow.type.in_(types), tuple_(EntryRow.origin, EntryRow.seq) > tuple_(*after))
            .order_by(EntryRow.origin, EntryRow.seq)
            .limit(batch)
        )
    ):
        yield rows
        after = (rows[-1].origin, rows[-1].seq)
