"""The `denex` entry point: assembles the command groups and reports errors as one line."""

import sys

import click
import typer

from keys.errors import KeysError
from service.cli.common import CliError
from service.cli.demo import demo
from service.cli.evidence import evidence, verify, verify_log
from service.cli.keys import keys_app
from service.cli.node import init, node_app, serve
from service.cli.notices import notice_app
from service.cli.peers import peer_app
from service.cli.screening import screening_app
from service.cli.sync import recover, sync
from service.cli.tokens import token_app
from service.errors import ServiceError
from service.runtime import tune_gc

app = typer.Typer(
    name="denex",
    help="denex, the denial exchange: one node of a federation of signed denial logs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("init")(init)
app.command("serve")(serve)
app.command("evidence")(evidence)
app.command("verify")(verify)
app.command("verify-log")(verify_log)
app.command("sync")(sync)
app.command("demo")(demo)
app.command("recover")(recover)
app.add_typer(node_app, name="node")
app.add_typer(token_app, name="token")
app.add_typer(keys_app, name="keys")
app.add_typer(notice_app, name="notice")
app.add_typer(peer_app, name="peer")
app.add_typer(screening_app, name="screening")


def main(argv: list[str] | None = None) -> int:
    command = typer.main.get_command(app)
    # Everything imported so far lives as long as the process: out of the collector's reach,
    # and fewer passes, for every command (about 20 % of a sync's main-thread CPU).
    tune_gc()
    try:
        code = command.main(args=argv, prog_name="denex", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        print("denex: aborted", file=sys.stderr)
        return 1
    except (CliError, ServiceError, KeysError) as exc:
        print(f"denex: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code if isinstance(code, int) else 0


def entry() -> None:
    sys.exit(main())
