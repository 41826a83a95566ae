"""`denex token create|list|revoke`."""

from typing import Annotated

import typer

from service import audit, tokens
from service.cli.common import DataDir, run, say, settings_for
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


@token_app.command("list")
def list_(data_dir: DataDir = None) -> None:
    """List tokens (never their secrets)."""
    settings = settings_for(data_dir)

    async def _list() -> list[TokenRow]:
        async with opened_database(settings) as db, db.read() as session:
            return await tokens.list_tokens(session)

    rows = run(_list())  # before anything is printed: a failure is one line on stderr
    print(f"{'id':36}  {'role':8}  {'name':24}  {'expires':20}  status")
    for row in rows:
        status = "revoked" if row.revoked_at else "active"
        expires = row.expires_at.strftime("%Y-%m-%d %H:%M") if row.expires_at else "never"
        print(f"{row.id:36}  {row.role:8}  {row.name[:24]:24}  {expires:20}  {status}")


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
