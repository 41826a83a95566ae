"""`denex init`, `denex serve` and `denex node card`."""

import logging
import logging.config
import os
import signal
from pathlib import Path
from typing import Annotated

import typer

from federation.core.identity import is_federation_id, is_node_id
from service.cli import serving
from service.cli.common import CliError, DataDir, run, say, settings_for
from service.keyadmin import destroy_unneeded_keys
from service.logs import logging_config
from service.node import ROOT_KEY_FILE, load_keypair, signed_card
from service.notices.text import text_problem
from service.notices.vocabulary import COUNTRIES, KNOWN_REGIMES
from service.runtime import init_node, load_identity, open_node, store_card, utc_now

log = logging.getLogger("denex.serve")

node_app = typer.Typer(help="This node's identity.", no_args_is_help=True)


def _check_init(
    federation: str,
    node_id: str,
    country: str,
    name: str,
    url: str,
    regimes: list[str],
    insecure_http: bool,
) -> None:
    if not is_federation_id(federation):
        raise CliError(f"--federation {federation!r} is not a schema-less URL like denials.example")
    if not is_node_id(node_id):
        raise CliError(f"--node-id {node_id!r} must match ^[a-z][a-z0-9-]{{1,30}}[a-z0-9]$")
    if country not in COUNTRIES:
        raise CliError(f"--country {country!r} is not an ISO 3166-1 alpha-2 code")
    if not name.strip() or len(name) > 200:
        raise CliError("--name must be 1 to 200 characters")
    if (problem := text_problem(name)) is not None:
        raise CliError(f"--name {problem}")
    if not url.startswith("https://") and not (insecure_http and url.startswith("http://")):
        raise CliError(
            f"--url {url!r} must be https:// (http:// only with DENEX_INSECURE_DEV_HTTP=1)"
        )
    bad = [r for r in regimes if r not in KNOWN_REGIMES]
    if bad or not regimes:
        raise CliError(f"--regimes must be a comma list of {','.join(KNOWN_REGIMES)}")


def init(
    node_id: Annotated[str, typer.Option("--node-id", help="e.g. de-bafa")],
    country: Annotated[str, typer.Option("--country", help="ISO 3166-1 alpha-2")],
    name: Annotated[str, typer.Option("--name", help="The authority's name")],
    url: Annotated[str, typer.Option("--url", help="The node's public base URL")],
    federation: Annotated[str, typer.Option("--federation")] = "denex.localhost",
    regimes: Annotated[str, typer.Option("--regimes")] = ",".join(KNOWN_REGIMES),
    data_dir: DataDir = None,
) -> None:
    """Create a node: keys, database, entry 0, and the first admin token (printed once)."""
    settings = settings_for(data_dir)
    regime_list = [r.strip() for r in regimes.split(",") if r.strip()]
    _check_init(federation, node_id, country, name, url, regime_list, settings.insecure_dev_http)
    fields: dict[str, object] = {
        "node_id": node_id,
        "federation": federation,
        "country": country,
        "name": name,
        "url": url.rstrip("/"),
        "regimes": sorted(set(regime_list)),
    }
    _node, token = run(init_node(settings, identity_fields=fields, now=utc_now()))
    say(f"initialised node {node_id} of federation {federation} in {settings.data_dir}")
    say("first admin token (shown once):")
    print(token)


def _exit_cleanly(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64)] = 1,
    data_dir: DataDir = None,
) -> None:
    """Serve the node's API. Brings the schema to head first; stops cleanly on SIGTERM."""
    settings = settings_for(data_dir)
    log_config = logging_config(settings.log_format)
    logging.config.dictConfig(log_config)  # from the first line on, in the chosen format
    logging.captureWarnings(True)

    async def _prepare() -> list[str]:
        db, _node = await open_node(settings, upgrade=True)
        try:
            async with db.read() as session:
                return await destroy_unneeded_keys(session, settings, now=utc_now())
        finally:
            await db.dispose()

    for kid in run(_prepare()):
        log.warning(
            "destroyed the private key file of signing key %s... (no longer needed)", kid[:16]
        )
    os.environ["DENEX_DATA_DIR"] = str(settings.data_dir)
    # uvicorn re-raises SIGTERM after its graceful shutdown; this handler turns that (or a
    # SIGTERM before it starts) into a clean exit 0, as an orchestrator expects.
    signal.signal(signal.SIGTERM, _exit_cleanly)
    shown = f"[{host}]" if ":" in host else host  # an IPv6 address
    serving.run(
        host=host, port=port, workers=workers, log_config=log_config, url=f"http://{shown}:{port}"
    )


@node_app.command("card")
def card(
    root_key: Annotated[
        Path | None, typer.Option("--root-key", help="Root key file (default in the data dir)")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Print this node's card: its identity and keys, signed by the root key (JSON on stdout)."""
    settings = settings_for(data_dir)

    identity = run(load_identity(settings))
    root = load_keypair(settings, root_key or settings.keys_dir / ROOT_KEY_FILE)
    if root.public != identity.root_key:
        raise CliError("that key is not this node's root key")
    card_text = signed_card(identity, root, issued_at=utc_now())
    run(store_card(settings, card_text))
    print(card_text)
