"""`denex screening reproduce`: screen a stored screening again from the logs themselves."""

from typing import Annotated

import typer

from service import audit
from service.cli.common import CliError, DataDir, run, say, settings_for
from service.runtime import opened_database, utc_now
from service.screening.reproduce import Reproduction, reproduce

screening_app = typer.Typer(help="Stored screenings.", no_args_is_help=True)


@screening_app.command("reproduce")
def reproduce_command(
    screening_id: Annotated[str, typer.Argument(help="The screening's id")],
    data_dir: DataDir = None,
) -> None:
    """Check a stored screening: every log still has the snapshot's root, and the same
    algorithm over exactly the snapshot's entries finds the same matches. Exit 1 if not."""
    settings = settings_for(data_dir)

    async def _run() -> Reproduction:
        async with opened_database(settings) as db, db.write() as session:
            result = await reproduce(session, screening_id, settings.rules)
            await audit.record(
                session,
                actor="cli:screening",
                action="screening.reproduce",
                target=screening_id,
                detail={"same": result.same},
                now=utc_now(),
            )
            return result

    result = run(_run())
    if not result.same:
        for what, keys in (
            ("stored but not found again", result.missing),
            ("found again but not stored", result.extra),
            ("found again with another verdict or score", result.changed),
        ):
            for key in keys:
                say(f"  {what}: {key}")
        raise CliError(f"screening {screening_id} is NOT reproduced from its snapshot")
    say(
        f"screening {screening_id} reproduced: the same matches from the snapshot's "
        f"{result.notices} notices"
    )
