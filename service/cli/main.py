"""The `denex` entry point: assembles the command groups, the global options (--version,
--debug) and hands failures to service.cli.failures, which words them."""

import sys
from importlib import import_module
from importlib.metadata import version as installed_version
from typing import Annotated

import typer
from typer._click import Command, Context
from typer.core import TyperGroup

from service.cli.failures import Invocation, report
from service.runtime import tune_gc

# Each command's module is imported only when that command runs (or when help lists them
# all): a command pays for what it uses, not for the demo, the server and the screening
# engine (`denex --version` and a `denex token list` used to import them all, 1.7 s).
COMMANDS: dict[str, tuple[str, str]] = {  # name -> (module, the typer app or function)
    "init": ("service.cli.node", "init"),
    "serve": ("service.cli.node", "serve"),
    "node": ("service.cli.node", "node_app"),
    "token": ("service.cli.tokens", "token_app"),
    "keys": ("service.cli.keys", "keys_app"),
    "notice": ("service.cli.notices", "notice_app"),
    "peer": ("service.cli.peers", "peer_app"),
    "screening": ("service.cli.screening", "screening_app"),
    "sync": ("service.cli.sync", "sync"),
    "recover": ("service.cli.sync", "recover"),
    "evidence": ("service.cli.evidence", "evidence"),
    "verify": ("service.cli.evidence", "verify"),
    "verify-log": ("service.cli.evidence", "verify_log"),
    "report": ("service.cli.reports", "report"),
    "demo": ("service.cli.demo", "demo"),
}
# Plain click help: it reads the same in a terminal, a pipe and a log, and the help that a
# group without its command prints goes to stderr (rich would print it on stdout).
PLAIN = {"rich_markup_mode": None, "pretty_exceptions_enable": False, "add_completion": False}


class Commands(TyperGroup):
    """The top-level group: its commands are loaded by name from COMMANDS."""

    def list_commands(self, ctx: Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Context, name: str) -> Command | None:
        if name not in COMMANDS:
            return None
        module, attribute = COMMANDS[name]
        target = getattr(import_module(module), attribute)
        # Everything imported so far lives as long as the process: out of the collector's
        # reach, and fewer passes, for every command (about 20 % of a sync's main-thread CPU).
        tune_gc()
        holder = typer.Typer(**PLAIN)  # type: ignore[arg-type]
        holder.callback()(lambda: None)  # a group, so that the command keeps its own name
        if isinstance(target, typer.Typer):
            holder.add_typer(target, name=name)
        else:
            holder.command(name)(target)
        group = typer.main.get_command(holder)
        assert isinstance(group, TyperGroup)
        return group.commands[name]


app = typer.Typer(
    name="denex",
    help="denex, the denial exchange: one node of a federation of signed denial logs.",
    no_args_is_help=True,
    cls=Commands,
    **PLAIN,  # type: ignore[arg-type]
)


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
