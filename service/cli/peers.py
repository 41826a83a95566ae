"""`denex peer add|list|remove`: the roster of partner nodes (DESIGN §2, §10)."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from federation.storage.tables import PeerRow
from keys.ed25519 import fingerprint
from service import roster
from service.api.schemas import iso
from service.cli.common import CliError, DataDir, Json, print_json, run, say, settings_for
from service.node import read_identity
from service.runtime import opened_database, utc_now

peer_app = typer.Typer(help="The roster: partner nodes this node trusts.", no_args_is_help=True)


def _read_card(source: str) -> bytes:
    limit = roster.MAX_CARD_BYTES
    if source == "-":
        data = sys.stdin.buffer.read(limit + 1)
    else:
        try:
            with Path(source).open("rb") as handle:
                data = handle.read(limit + 1)
        except OSError as exc:
            raise CliError(f"cannot read card {source}: {exc.strerror}") from exc
    if not data.strip():
        raise CliError(f"card {source} is empty")
    return data


def _has_terminal() -> bool:
    try:
        Path("/dev/tty").open("r").close()
    except OSError:
        return False
    return True


def _confirm(question: str, *, stdin_used: bool) -> bool:
    """Ask on stderr, read the answer from stdin (from the terminal if stdin held the card);
    stdout stays clean. No answer is a no."""
    if not stdin_used:
        sys.stderr.write(f"{question} [y/N]: ")
        sys.stderr.flush()
        answer = sys.stdin.readline()
        if not answer.endswith("\n"):
            sys.stderr.write("\n")
        return answer.strip().lower() in {"y", "yes"}
    try:
        with Path("/dev/tty").open("r+") as tty:
            tty.write(f"{question} [y/N]: ")
            tty.flush()
            return tty.readline().strip().lower() in {"y", "yes"}
    except OSError as exc:
        raise CliError(
            "cannot ask for confirmation (the card came on stdin and there is no terminal): "
            "check the fingerprint and pass --yes"
        ) from exc


@peer_app.command("add")
def add(
    card: Annotated[str, typer.Argument(help="The peer's card (from `denex node card`), or -")],
    yes: Annotated[
        bool, typer.Option("--yes", help="Do not ask (the fingerprint was checked already)")
    ] = False,
    regimes: Annotated[
        str | None,
        typer.Option("--regimes", help="Confirmed regimes, e.g. WA,EU (default: as claimed)"),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Add a peer from its card, or replace its card by a newer one. Shows the root key
    fingerprint to check out of band, and asks before anything is written."""
    settings = settings_for(data_dir)
    if card == "-" and not yes and not _has_terminal():
        raise CliError(
            "cannot ask for confirmation (the card comes on stdin and there is no terminal): "
            "check the fingerprint and pass --yes"
        )
    data = _read_card(card)
    override = None if regimes is None else regimes.split(",")

    async def _check() -> tuple[roster.CardInfo, list[str]]:
        """Every refusal before anything is shown, so that an error is one line."""
        async with opened_database(settings) as db, db.read() as session:
            identity = await read_identity(session)
            info = roster.inspect_card(data, identity, insecure_http=settings.insecure_dev_http)
            confirmed = roster.confirm_regimes(info, override)
            roster.admission(await session.get(PeerRow, info.node_id), info)
            return info, confirmed

    info, confirmed = run(_check())
    say(f"node id:      {info.node_id}")
    say(f"name:         {info.name} ({info.country})")
    say(f"url:          {info.url}")
    say(f"regimes:      {','.join(info.regimes) or '-'} (claimed)")
    if override is not None:
        say(f"              {','.join(confirmed)} (confirmed with --regimes)")
    say(f"card version: {info.card_version}")
    say(f"fingerprint:  {info.fingerprint}")
    if not yes and not _confirm(
        "Does this fingerprint match the one the partner gave you out of band?",
        stdin_used=card == "-",
    ):
        raise CliError("not added: the fingerprint was not confirmed")

    async def _add() -> PeerRow:
        async with opened_database(settings) as db, db.write() as session:
            return await roster.add_peer(
                session,
                data,
                identity=await read_identity(session),
                regimes_override=override,
                insecure_http=settings.insecure_dev_http,
                actor="cli:peer",
                now=utc_now(),
            )

    row = run(_add())
    say(f"{row.node_id} is in the roster (card version {row.card_version})")


@peer_app.command("list")
def list_(data_dir: DataDir = None, as_json: Json = False) -> None:
    """List the roster, removed peers included (as a table on stdout)."""
    settings = settings_for(data_dir)

    async def _list() -> list[PeerRow]:
        async with opened_database(settings) as db, db.read() as session:
            return await roster.list_peers(session)

    rows = run(_list())
    if as_json:
        items = [
            {
                "node_id": row.node_id,
                "name": row.name,
                "country": row.country,
                "url": row.url,
                "regimes": list(row.regimes),
                "status": "removed" if row.removed_at else "active",
                "card_version": row.card_version,
                "fingerprint": fingerprint(row.root_key),
                "added_at": iso(row.added_at),
                "removed_at": iso(row.removed_at),
            }
            for row in rows
        ]
        print_json({"items": items})
        return
    print(f"{'node id':32}  {'status':7}  {'card':>4}  {'regimes':24}  {'url':40}  fingerprint")
    for row in rows:
        status = "removed" if row.removed_at else "active"
        regimes = ",".join(row.regimes)
        print(
            f"{row.node_id:32}  {status:7}  {row.card_version:>4}  {regimes:24}  {row.url:40}  "
            f"{fingerprint(row.root_key)}"
        )


@peer_app.command("remove")
def remove(
    node_id: Annotated[str, typer.Argument(help="The peer's node id")],
    data_dir: DataDir = None,
) -> None:
    """Remove a peer: no more syncing from it or serving to it. Its verified log stays."""
    settings = settings_for(data_dir)

    async def _remove() -> None:
        async with opened_database(settings) as db, db.write() as session:
            await roster.remove_peer(session, node_id, actor="cli:peer", now=utc_now())

    run(_remove())
    say(f"removed {node_id} from the roster (its log stays)")
