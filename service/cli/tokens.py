"""`denex token create|list|revoke`."""

from datetime import datetime
from typing import Annotated

import typer

from service import audit, tokens
from service.api.schemas import iso
from service.cli.common import DataDir, Json, print_json, run, say, settings_for
from service.runtime import opened_database, utc_now
from service.storage.models import TokenRow

token_app = typer.Typer(help="API bearer tokens.", no_args_is_help=True)


@token_app.command("create")
def create(
    role: Annotated[str, typer.Option("--role", help="officer, auditor or admin")],
    name: Annotated[str, typer.Option("--name", help="Who or what holds it")],
    expires: Annotated[int | None, typer.Option("--expires", help="Days until it expires")] = None,
    data_dir: DataDir = None,
) -> None:
    """Create a token and print it alone on stdout (it is stored only as a hash)."""
    settings = settings_for(data_dir)

    async def _create() -> str:
        now = utc_now()
        async with opened_database(settings) as db, db.write() as session:
            row, token = await tokens.create_token(
                session, name=name, role=role, expires_days=expires, now=now
            )
            await audit.record(
                session,
                actor="cli",
                action="token.create",
                target=row.id,
                detail={"name": name, "role": role},
                now=now,
            )
            return token

    token = run(_create())
    say(f"created {role} token {name!r}; it is shown only now")
    print(token)


def _status(row: TokenRow, now: datetime) -> str:
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    return "active"


@token_app.command("list")
def list_(data_dir: DataDir = None, as_json: Json = False) -> None:
    """List tokens (never their secrets)."""
    settings = settings_for(data_dir)

    async def _list() -> list[TokenRow]:
        async with opened_database(settings) as db, db.read() as session:
            return await tokens.list_tokens(session)

    rows, now = run(_list()), utc_now()
    if as_json:
        items = [
            {
                "id": row.id,
                "role": row.role,
                "name": row.name,
                "status": _status(row, now),
                "created_at": iso(row.created_at),
                "expires_at": iso(row.expires_at),
                "revoked_at": iso(row.revoked_at),
            }
            for row in rows
        ]
        print_json({"items": items})
        return
    print(f"{'id':36}  {'role':8}  {'name':24}  {'expires':20}  status")
    for row in rows:
        expires = row.expires_at.strftime("%Y-%m-%d %H:%M") if row.expires_at else "never"
        print(f"{row.id:36}  {row.role:8}  {row.name[:24]:24}  {expires:20}  {_status(row, now)}")


@token_app.command("revoke")
def revoke(
    token_id: Annotated[str, typer.Argument(help="Token id from `token list`")],
    data_dir: DataDir = None,
) -> None:
    """Revoke a token at once."""
    settings = settings_for(data_dir)

    async def _revoke() -> None:
        now = utc_now()
        async with opened_database(settings) as db, db.write() as session:
            await tokens.revoke_token(session, token_id, now=now)
            await audit.record(
                session, actor="cli", action="token.revoke", target=token_id, detail={}, now=now
            )

    run(_revoke())
    say(f"revoked token {token_id}")
