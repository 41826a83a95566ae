"""`denex notice import` (JSON lines or CSV, signed in batches) and `denex notice export`."""

import json
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.progress import Progress

from service import audit
from service.cli.common import CliError, DataDir, run, say, settings_for
from service.notices import importing, publishing, queries
from service.notices.lifecycle import status
from service.runtime import open_node, utc_now

notice_app = typer.Typer(help="Bulk import and export of notices.", no_args_is_help=True)

BATCH = 1000


@notice_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="JSON lines (.jsonl) or CSV (.csv) file")],
    fmt: Annotated[
        Literal["auto", "jsonl", "csv"] | None, typer.Option("--format", help="auto by suffix")
    ] = "auto",
    batch: Annotated[int, typer.Option("--batch", min=1, max=10000)] = BATCH,
    data_dir: DataDir = None,
) -> None:
    """Validate every notice in FILE, then publish them in signed batches. Nothing is written
    if any notice is invalid."""
    settings = settings_for(data_dir)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {file}: {exc}") from exc
    kind = (
        fmt if fmt not in (None, "auto") else ("csv" if file.suffix.lower() == ".csv" else "jsonl")
    )
    notices, errors = importing.parse(text, fmt=kind)
    if errors:
        for err in errors[: importing.MAX_ERRORS]:
            say(f"{file}: {err}")
        more = len(errors) - importing.MAX_ERRORS
        raise CliError(
            f"{file}: {len(errors)} error(s){f' ({more} not shown)' if more > 0 else ''}; "
            "nothing was imported"
        )
    if not notices:
        raise CliError(f"{file}: no notices found")

    async def _import() -> int:
        db, node = await open_node(settings, upgrade=False)
        done = 0
        try:
            with Progress(transient=True, console=None) as progress:
                task = progress.add_task("signing and storing", total=len(notices))
                for start in range(0, len(notices), batch):
                    chunk = notices[start : start + batch]
                    now = utc_now()
                    async with db.write() as session:
                        rows = await publishing.publish_many(session, node, chunk, now=now)
                        await audit.record(
                            session,
                            actor="cli:import",
                            action="notice.import",
                            target=str(file.name),
                            detail={"count": len(rows), "first_seq": rows[0][1].seq},
                            now=now,
                        )
                    done += len(rows)
                    progress.update(task, advance=len(rows))
        finally:
            await db.dispose()
        return done

    count = run(_import())
    say(f"imported {count} notices from {file}")


@notice_app.command("export")
def export(
    origin: Annotated[str | None, typer.Option("--origin")] = None,
    state: Annotated[
        Literal["active", "expired", "revoked"] | None, typer.Option("--status")
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
                        session, filters, today=now.date(), cursor=cursor, limit=500
                    )
                for row in rows:
                    line = {
                        "origin": row.origin,
                        "status": status(
                            valid_until=row.valid_until,
                            revoked=row.revoked_seq is not None,
                            today=now.date(),
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
