"""Structured logging for `denex serve`: one JSON object a line, or plain console lines.

A JSON line holds `ts` (RFC 3339, UTC, milliseconds: `2026-12-04T17:41:03.123Z`), `level`,
`logger` and `message`, then the record's structured fields (what the caller passed as
`extra=`, the access log's method, path, status...), and `error` with the traceback of an
error. One configuration serves denex's loggers, uvicorn's and everything else (the root
logger, Python warnings), so every line `denex serve` writes has the chosen format.

Log records never carry secrets or notice contents at info level; callers log ids and counts.
"""

import json
import logging
import time
from typing import Any

# what every LogRecord carries: anything else on a record is a structured field of its caller
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's coloured copy of the message
    "taskName",
}


def utc_timestamp(created: float) -> str:
    """`created` (seconds since the epoch) as RFC 3339 UTC with milliseconds."""
    seconds = int(created)
    millis = min(999, int((created - seconds) * 1000))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": utc_timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in entry:
                entry[key] = value
        if record.exc_info and record.levelno >= logging.ERROR:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def logging_config(log_format: str, level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` for denex, uvicorn and the rest alike: denex's loggers
    (the access log `denex.access` among them) and uvicorn's start-up and shutdown lines at
    `level`; uvicorn's own access log off (denex writes its own); anything else (libraries,
    `py.warnings`) from WARNING, through the same handler."""
    formatter: dict[str, Any] = (
        {"()": JsonFormatter}
        if log_format == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "denex": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
        "root": {"handlers": ["stderr"], "level": "WARNING"},
    }


# `denex serve --workers N` (N > 1) tells its workers where the node serves: the worker that
# leads (runs the sync loop) says so once a connection to it succeeds (announce_listening)
SERVING_URL = "DENEX_SERVE_WORKERS_URL"


def announce(url: str) -> None:
    """Say where the node serves: only once it accepts connections (service.cli.serving)."""
    logging.getLogger("denex.serve").info(
        "denex node serving on %s (API docs at %s/docs)", url, url, extra={"url": url}
    )
