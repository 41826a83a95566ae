"""What every command shares: --data-dir, settings, running async work, one-line errors."""

import asyncio
import json
import re
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError

from service.settings import Settings

T = TypeVar("T")

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Node data directory (default $DENEX_DATA_DIR, else ./var/node)",
        show_default=False,
    ),
]


Json = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print one JSON document on stdout instead of the text (same facts, same exit)",
    ),
]


class CliError(Exception):
    """A problem to report as one line on stderr, with exit status 1."""


def settings_for(data_dir: Path | None) -> Settings:
    """The settings, or a CliError naming the variable that is wrong (never its value)."""
    try:
        settings = Settings() if data_dir is None else Settings(data_dir=data_dir)
    except SettingsError as exc:  # the value of a dict-valued variable is not JSON
        field = re.search(r'field "(\w+)"', str(exc))
        name = f"DENEX_{field[1].upper()}" if field else "a DENEX_* variable"
        raise CliError(f"invalid setting {name}: not valid JSON ({exc.__cause__})") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        message = first["msg"].removeprefix("Value error, ")
        if not first["loc"]:  # a rule across variables: the message names them
            raise CliError(f"invalid settings: {message}") from exc
        name, *inside = (str(part) for part in first["loc"])
        at = f" (at {'.'.join(inside)})" if inside else ""
        raise CliError(f"invalid setting DENEX_{name.upper()}{at}: {message}") from exc
    return settings


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def print_json(document: dict[str, Any]) -> None:
    """A `--json` answer: one JSON object on stdout (fields are only ever added)."""
    print(json.dumps(document, ensure_ascii=False, indent=2))


def say(message: str) -> None:
    """Messages for people go to stderr; stdout carries only what programs consume."""
    print(message, file=sys.stderr)
