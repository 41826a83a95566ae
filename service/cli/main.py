"""The `denex` entry point: assembles the command groups, the global options (--version,
--debug) and hands failures to service.cli.failures, which words them."""

import sys
from importlib.metadata import version as installed_version
from typing import Annotated

import typer

from service.cli.demo import demo
from service.cli.evidence import evidence, verify, verify_log
from service.cli.failures import Invocation, report
from service.cli.keys import keys_app
from service.cli.node import init, node_app, serve
from service.cli.notices import notice_app
from service.cli.peers import peer_app
from service.cli.screening import screening_app
from service.cli.sync import recover, sync
from service.cli.tokens import token_app
from service.runtime import tune_gc

app = typer.Typer(
    name="denex",
    help="denex, the denial exchange: one node of a federation of signed denial logs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Plain click help: it reads the same in a terminal, a pipe and a log, and the help that
    # a group without its command prints goes to stderr (rich would print it on stdout).
    rich_markup_mode=None,
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


def _print_version(wanted: bool) -> None:
    if wanted:
        print(f"denex {installed_version('denex')}")
        raise typer.Exit(0)


@app.callback()
def options(
    ctx: typer.Context,
    debug: Annotated[
        bool, typer.Option("--debug", help="On a failure, print the traceback too")
    ] = False,
    _version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version"),
    ] = False,
) -> None:
    ctx.ensure_object(Invocation).debug = debug


def main(argv: list[str] | None = None) -> int:
    command = typer.main.get_command(app)
    # Everything imported so far lives as long as the process: out of the collector's reach,
    # and fewer passes, for every command (about 20 % of a sync's main-thread CPU).
    tune_gc()
    invocation = Invocation()
    try:
        code = command.main(args=argv, prog_name="denex", standalone_mode=False, obj=invocation)
    except KeyboardInterrupt:  # typer turns one inside a command into exit 130 itself
        return 130
    except Exception as exc:
        return report(exc, invocation)
    return code if isinstance(code, int) else 0


def entry() -> None:
    sys.exit(main())
