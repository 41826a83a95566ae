"""`denex report`: the regimes' returns of this node (or another origin) over a period."""

import json
import sys
from datetime import date
from typing import Annotated, Literal

import typer
from sqlalchemy import select

from service import audit, reports
from service.cli.common import CliError, DataDir, run, settings_for
from service.runtime import opened_database, utc_now
from service.storage.models import NodeRow


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CliError(f"{option} {text!r} is not a date YYYY-MM-DD") from None


def report(
    start: Annotated[str, typer.Option("--from", help="first day, YYYY-MM-DD")],
    end: Annotated[str, typer.Option("--to", help="last day, YYYY-MM-DD")],
    origin: Annotated[
        str | None, typer.Option("--origin", help="whose returns (this node's by default)")
    ] = None,
    fmt: Annotated[Literal["json", "csv"], typer.Option("--format")] = "json",
    data_dir: DataDir = None,
) -> None:
    """Counts of denials (by decision, destination, regime, ground, item category),
    revocations by reason, consultations and approval notifications over a period, as JSON
    or CSV on stdout. Recorded in the audit trail."""
    settings = settings_for(data_dir)
    first, last = _day(start, "--from"), _day(end, "--to")

    async def _run() -> reports.Report:
        async with opened_database(settings) as db, db.write() as session:
            who = origin or await session.scalar(select(NodeRow.node_id))
            if who is None:
                raise CliError("this data directory holds no node: run `denex init` first")
            try:
                found = await reports.returns(session, origin=who, start=first, end=last)
            except ValueError as exc:
                raise CliError(str(exc)) from None
            await audit.record(
                session,
                actor="cli:report",
                action="report.returns",
                target=who,
                detail={"from": first.isoformat(), "to": last.isoformat(), "format": fmt},
                now=utc_now(),
            )
            return found

    found = run(_run())
    if fmt == "csv":
        sys.stdout.write(found.to_csv())
    else:
        sys.stdout.write(json.dumps(found.to_json(), ensure_ascii=False, indent=2) + "\n")
