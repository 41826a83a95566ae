"""JSON log lines (decision 0023): one object a line with an RFC 3339 UTC timestamp in
milliseconds, the level, the logger, the message and the caller's structured fields; a
traceback stays inside the line. `denex serve` writing them on every line is tested through
the real process (tests/system/test_watch.py)."""

import json
import logging
import re
import sys

import pytest

from service.logs import JsonFormatter, utc_timestamp

RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.mark.parametrize(
    ("created", "text"),
    [
        (0.0, "1970-01-01T00:00:00.000Z"),
        (1796408211.9996, "2026-12-04T18:16:51.999Z"),  # never rounded up into the next second
        (1796408211.0421, "2026-12-04T18:16:51.042Z"),
    ],
)
def test_timestamps_are_rfc3339_utc_milliseconds(created: float, text: str) -> None:
    assert utc_timestamp(created) == text
    assert RFC3339_MS.match(text)


def _record(levelno: int, message: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("denex.test", levelno, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return record


def test_a_line_carries_level_logger_message_and_fields_which_never_replace_them() -> None:
    record = _record(logging.INFO, "GET %s %d", "/healthz", 200, status=200, level="forged")
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert RFC3339_MS.match(entry.pop("ts"))
    assert entry == {
        "level": "info",
        "logger": "denex.test",
        "message": "GET /healthz 200",
        "status": 200,
    }


def test_an_error_keeps_its_traceback_inside_the_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = _record(logging.ERROR, "sync failed")
        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert len(line.splitlines()) == 1
    entry = json.loads(line)
    assert entry["level"] == "error" and "ValueError: boom" in entry["error"]
