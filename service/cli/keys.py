"""`denex keys rotate` and `denex keys revoke`."""

from pathlib import Path
from typing import Annotated

import typer

from keys.ed25519 import fingerprint
from service.cli.common import DataDir, run, say, settings_for
from service.keyadmin import destroy_unneeded_keys
from service.keyadmin import revoke as revoke_key
from service.keyadmin import rotate as rotate_keys
from service.node import ROOT_KEY_FILE, load_keypair
from service.runtime import opened_database, utc_now

keys_app = typer.Typer(help="This node's signing keys.", no_args_is_help=True)

RootKey = Annotated[
    Path | None,
    typer.Option("--root-key", help="Root key file (default: keys/root.pem in the data dir)"),
]


@keys_app.command("rotate")
def rotate(root_key: RootKey = None, data_dir: DataDir = None) -> None:
    """Replace the signing key: root-signed key.added and key.retired, no downtime."""
    settings = settings_for(data_dir)
    root = load_keypair(settings, root_key or settings.keys_dir / ROOT_KEY_FILE)

    async def _rotate() -> tuple[str, str, list[str]]:
        async with opened_database(settings) as db:
            async with db.write() as session:
                old, new = await rotate_keys(session, settings, root, now=utc_now())
            async with db.read() as session:  # after the commit
                return old, new, await destroy_unneeded_keys(session, settings, now=utc_now())

    old, new, destroyed = run(_rotate())
    say(f"retired signing key {old[:16]}...; new signing key {new[:16]}...")
    say(f"root key fingerprint (unchanged): {fingerprint(root.public)}")
    _report_destroyed(destroyed)


def _report_destroyed(key_ids: list[str]) -> None:
    for kid in key_ids:
        say(f"destroyed the private key file of signing key {kid[:16]}... (no longer needed)")


@keys_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The signing key's id (hex)")],
    valid_below_seq: Annotated[int, typer.Option("--valid-below-seq", min=0)],
    reason: Annotated[str, typer.Option("--reason")],
    root_key: RootKey = None,
    data_dir: DataDir = None,
) -> None:
    """Revoke a compromised signing key: what it signed from VALID_BELOW_SEQ on is invalid."""
    settings = settings_for(data_dir)
    root = load_keypair(settings, root_key or settings.keys_dir / ROOT_KEY_FILE)

    async def _revoke() -> tuple[int, str | None, list[str]]:
        async with opened_database(settings) as db:
            async with db.write() as session:
                invalidated, new = await revoke_key(
                    session,
                    settings,
                    root,
                    revoked_key=key_id,
                    valid_below=valid_below_seq,
                    reason=reason,
                    now=utc_now(),
                )
            async with db.read() as session:  # after the commit: the revoked key's file goes
                destroyed = await destroy_unneeded_keys(session, settings, now=utc_now())
            return invalidated, new, destroyed

    invalidated, new, destroyed = run(_revoke())
    say(f"revoked signing key {key_id[:16]}... below seq {valid_below_seq}")
    say(f"{invalidated} entries it signed are now invalid (kept in the log, marked, not applied)")
    if new is not None:
        say(f"it was the key in use: new signing key {new[:16]}...")
    _report_destroyed(destroyed)
