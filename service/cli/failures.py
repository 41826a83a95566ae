"""How a command's failure reaches the user: never as a traceback (DESIGN §10, decision 0021).

A usage error (unknown command or option, missing or malformed value) is what click prints,
without its blank line: the usage line, "Try 'denex ... --help' for help." and "Error: ...",
exit 2. A group called without its command prints its help on stderr, exit 2. Anything else
that goes wrong is one line, `denex: error: ...`, exit 1; `denex --debug ...` prints the
traceback before it. Commands raise the packages' own errors; this module only words them.
"""

import sys
import traceback
from dataclasses import dataclass

import typer
from sqlalchemy.exc import DBAPIError

# typer 0.29 carries its own copy of click (typer._click) and exports, of its exception tree,
# only the base TyperException and BadParameter; a usage error's context (its usage line) and
# the bare-group error (a help text, not a message) are classes of that copy. The `click`
# package's classes are other classes: catching them misses every error typer raises. This
# module is the only one that imports typer._click.
from typer._click.exceptions import NoArgsIsHelpError, UsageError

from federation.core.errors import FederationError
from keys.errors import KeysError
from service.cli.common import CliError
from service.errors import ServiceError

EXPECTED = (CliError, ServiceError, FederationError, KeysError)
MAX_LINE = 1000  # characters of an error line; an exception's text can be a whole statement
USAGE_EXIT = 2
FAILURE_EXIT = 1


@dataclass
class Invocation:
    """What the global options asked of this run (the context object of every command)."""

    debug: bool = False


def one_line(text: str) -> str:
    """A message as one line: its lines joined, blank ones dropped, at most MAX_LINE long."""
    line = "; ".join(part.strip() for part in text.splitlines() if part.strip())
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 3] + "..."


def describe(exc: BaseException, *, debug: bool = False) -> str:
    """The failure in words, for `denex: error: ...`."""
    if isinstance(exc, EXPECTED):
        return one_line(str(exc))
    if isinstance(exc, DBAPIError):  # the driver's own words, not SQLAlchemy's wrapping
        return one_line(f"database: {exc.orig}")
    if isinstance(exc, OSError):  # names the file or address and the reason
        return one_line(str(exc))
    hint = "" if debug else " (`denex --debug ...` shows the traceback)"
    return one_line(f"unexpected {type(exc).__name__}: {exc}") + hint


def report(exc: Exception, invocation: Invocation) -> int:
    """Print `exc` as the user should see it; return the exit status."""
    if isinstance(exc, NoArgsIsHelpError):
        print(exc.format_message().rstrip("\n"), file=sys.stderr)
        return USAGE_EXIT
    if isinstance(exc, UsageError):
        if exc.ctx is not None:
            print(exc.ctx.get_usage(), file=sys.stderr)
            if exc.ctx.command.get_help_option(exc.ctx) is not None:
                help_option = exc.ctx.help_option_names[0]
                print(f"Try '{exc.ctx.command_path} {help_option}' for help.", file=sys.stderr)
        print(f"Error: {one_line(exc.format_message())}", file=sys.stderr)
        return USAGE_EXIT
    if isinstance(exc, typer.Abort):
        print("denex: aborted", file=sys.stderr)
        return FAILURE_EXIT
    if invocation.debug:
        traceback.print_exception(exc, file=sys.stderr)
    if isinstance(exc, typer.TyperException):  # a ClickException that is no usage error
        print(f"denex: error: {one_line(exc.format_message())}", file=sys.stderr)
        return FAILURE_EXIT
    print(f"denex: error: {describe(exc, debug=invocation.debug)}", file=sys.stderr)
    return FAILURE_EXIT
