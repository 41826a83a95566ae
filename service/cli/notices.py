"""`denex notice import` (JSON lines or CSV, signed in batches) and `denex notice export`."""

import json
import os
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.progress import Progress
from sqlalchemy.ext.asyncio import AsyncSession

from federation.core.entry import SealedEntry
from service import audit
from service.cli.common import CliError, DataDir, run, say, settings_for
from service.notices import importing, publishing, queries
from service.notices.import_workers import LineError, Setup, Workers
from service.notices.lifecycle import status
from service.runtime import open_node, tune_gc, utc_now
from service.settings import Settings

notice_app = typer.Typer(help="Bulk import and export of notices.", no_args_is_help=True)

BATCH = 1000
WORKERS_FROM = 2000  # notices in a file from which worker processes pay for their start


def _report_errors(file: Path, errors: list[LineError]) -> CliError:
    for err in errors[: importing.MAX_ERRORS]:
        say(f"{file}: {err}")
    more = len(errors) - importing.MAX_ERRORS
    return CliError(
        f"{file}: {len(errors)} error(s){f' ({more} not shown)' if more > 0 else ''}; "
        "nothing was imported"
    )


@dataclass(frozen=True)
class Imported:
    published: int
    skipped: int  # notices whose reference this node already held


async def _import(
    settings: Settings, file: Path, text: str, kind: str, batch: int, processes: int | None
) -> Imported:
    records, errors = importing.records(text, fmt=kind)
    if errors:
        raise _report_errors(file, errors)
    if not records:
        raise CliError(f"{file}: no notices found")
    if processes is None:  # starting workers costs about a second: only for big files
        processes = (os.cpu_count() or 1) if len(records) >= WORKERS_FROM else 0
    db, node = await open_node(settings, upgrade=False)
    try:
        await node.refresh_members(db.read)
        async with db.read() as session:
            signing = await node.current_signer(session)
        setup = Setup(
            context=publishing.notice_context(node),
            federation=node.identity.federation,
            signing_key=signing.raw_private(),
            dialect=db.dialect,
        )
        workers = Workers(setup, processes)
        try:
            prepared, errors = workers.prepare(records)
            errors = sorted([*errors, *importing.repeated(prepared)], key=lambda e: e.line)
            if errors:
                raise _report_errors(file, errors)
            del records
            prepared, held = await importing.not_held(db, node, prepared)
            tune_gc()

            with Progress(transient=True, console=None) as progress:
                task = progress.add_task("signing and storing", total=len(prepared))

                async def after_batch(
                    session: AsyncSession, sealed: list[SealedEntry], now: datetime
                ) -> None:
                    await audit.record(
                        session,
                        actor="cli:import",
                        action="notice.import",
                        target=str(file.name),
                        detail={"count": len(sealed), "first_seq": sealed[0].seq},
                        now=now,
                    )
                    progress.update(task, advance=len(sealed))

                outcome = await importing.publish_all(
                    db,
                    node,
                    workers,
                    prepared,
                    batch=batch,
                    clock=utc_now,
                    after_batch=after_batch,
                )
                return Imported(outcome.imported, held + outcome.skipped)
        finally:
            workers.close()
    finally:
        await db.dispose()


@notice_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="JSON lines (.jsonl) or CSV (.csv) file")],
    fmt: Annotated[
        Literal["auto", "jsonl", "csv"] | None, typer.Option("--format", help="auto by suffix")
    ] = "auto",
    batch: Annotated[int, typer.Option("--batch", min=1, max=10000)] = BATCH,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", min=0, max=64, help="worker processes (default: one per core; 0: none)"
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Validate every notice in FILE against this node, then publish them in signed batches.
    Nothing is written if any notice is invalid. Notices whose reference this node already
    holds are skipped, so the same file may be imported again (after a crash, say)."""
    settings = settings_for(data_dir)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {file}: {exc}") from exc
    kind = (
        fmt if fmt not in (None, "auto") else ("csv" if file.suffix.lower() == ".csv" else "jsonl")
    )
    done = run(_import(settings, file, text, kind, batch, workers))
    skipped = (
        f"; skipped {done.skipped} whose reference this node already holds (amend those instead)"
        if done.skipped
        else ""
    )
    say(f"imported {done.published} notices from {file}{skipped}")


@notice_app.command("export")
def export(
    origin: Annotated[str | None, typer.Option("--origin")] = None,
    state: Annotated[
        Literal["active", "review_overdue", "expired", "revoked", "invalidated"] | None,
        typer.Option("--status"),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Write notices as JSON lines on stdout (current version, origin and status). An admin act:
    recorded in the audit trail."""
    settings = settings_for(data_dir)

    async def _export() -> int:
        db, _node = await open_node(settings, upgrade=False)
        now, count, cursor = utc_now(), 0, None
        try:
            filters = queries.NoticeFilter(origin=origin, status=state)
            while True:
                async with db.read() as session:
                    rows, cursor = await queries.list_notices(
                        session,
                        filters,
                        today=now.date(),
                        rules=settings.rules,
                        cursor=cursor,
                        limit=500,
                    )
                for row in rows:
                    line = {
                        "origin": row.origin,
                        "status": status(
                            valid_until=row.valid_until,
                            revoked=row.revoked_seq is not None,
                            today=now.date(),
                            invalidated=row.invalid_reason is not None,
                            lasting=settings.rules.in_force_until_revoked(row.regimes),
                        ),
                        "notice": row.body,
                    }
                    sys.stdout.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
                count += len(rows)
                if cursor is None:
                    break
            async with db.write() as session:
                await audit.record(
                    session,
                    actor="cli:export",
                    action="notice.export",
                    target=origin,
                    detail={"count": count, "status": state},
                    now=now,
                )
        finally:
            await db.dispose()
        return count

    count = run(_export())
    say(f"exported {count} notices")
