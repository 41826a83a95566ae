"""What every command shares: --data-dir, settings, running async work, one-line errors."""

import asyncio
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError

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


class CliError(Exception):
    """A problem to report as one line on stderr, with exit status 1."""


def settings_for(data_dir: Path | None) -> Settings:
    try:
        settings = Settings() if data_dir is None else Settings(data_dir=data_dir)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise CliError(f"invalid setting DENEX_{where.upper()}: {first['msg']}") from exc
    return settings


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def say(message: str) -> None:
    """Messages for people go to stderr; stdout carries only what programs consume."""
    print(message, file=sys.stderr)
