"""`denex sync [--peer ID]`: one sync round from the command line, with a progress bar."""

from typing import Annotated

import typer
from rich.progress import Progress

from service.cli.common import CliError, DataDir, run, say, settings_for
from service.runtime import open_node, utc_now
from service.sync import rounds
from service.sync.rounds import peer_client, sync_round


def sync(
    peer: Annotated[str | None, typer.Option("--peer", help="only this peer (node id)")] = None,
    data_dir: DataDir = None,
) -> None:
    """Pull, verify and store what every active peer (or one) holds that this node lacks."""
    settings = settings_for(data_dir)

    async def _sync() -> tuple[int, int]:
        db, node = await open_node(settings, upgrade=False)
        fetched = failed = 0
        try:
            await node.refresh_members(db.read, max_age=0)
            with Progress(transient=True) as progress:
                task = progress.add_task("syncing", total=None)
                async with peer_client(node, clock=utc_now) as client:
                    reports = await sync_round(
                        db, node, client, clock=utc_now, peer=peer, interval=settings.sync_interval
                    )
                progress.update(task, completed=1, total=1)
        finally:
            await db.dispose()
        if not reports:
            raise CliError("this node has no active peers; add one with `denex peer add`")
        for report in reports:
            if report.error:
                failed += 1
                say(f"{report.peer}: {report.error}")
                continue
            for origin in report.origins:
                fetched += origin.fetched
                if origin.ignored:
                    say(f"{report.peer}: ignored what it says of this node's log: {origin.ignored}")
                state = f"error: {origin.error}" if origin.error else "ok"
                say(
                    f"{report.peer}: {origin.origin} {origin.before} -> {origin.after} "
                    f"(+{origin.fetched}){' checkpoint verified' if origin.checkpoint else ''}"
                    f" {state}"
                )
                failed += origin.error is not None
        return fetched, failed

    fetched, failed = run(_sync())
    say(f"synced: {fetched} new entries, {failed} problem(s)")
    if failed:
        raise typer.Exit(1)


def recover(data_dir: DataDir = None) -> None:
    """After restoring a backup: fetch this node's own entries back from its peers, verify
    them, and let it append again. It never re-issues a seq that a peer already holds."""
    settings = settings_for(data_dir)

    async def _recover() -> tuple[int, bool]:
        db, node = await open_node(settings, upgrade=False)
        try:
            async with peer_client(node, clock=utc_now) as client:
                reports, resumed = await rounds.recover(db, node, client, clock=utc_now)
        finally:
            await db.dispose()
        fetched = 0
        for report in reports:
            if report.error:
                say(f"{report.peer}: {report.error}")
            for origin in report.origins:
                fetched += origin.fetched
                if origin.ignored:
                    say(f"{report.peer}: ignored what it says of this node's log: {origin.ignored}")
                if origin.origin == node.identity.node_id:
                    say(
                        f"{report.peer}: own log {origin.before} -> {origin.after}"
                        f"{f' error: {origin.error}' if origin.error else ''}"
                    )
        return fetched, resumed

    fetched, resumed = run(_recover())
    if not resumed:
        raise CliError(
            f"recovered {fetched} entries, but a peer may still hold more of this node's log; "
            "appends stay stopped (run `denex recover` again when every peer is reachable)"
        )
    say(f"recovered {fetched} entries; this node appends again")
