"""docs/notice-import.md documents the CSV columns `denex notice import` reads: the same
columns in the same order, the same required ones, and an example that imports."""

import re

import pytest

from service.notices import importing
from service.notices.schema import NoticeInput
from tests.project.lockfiles import ROOT

DOC = (ROOT / "docs" / "notice-import.md").read_text(encoding="utf-8")
ROW = re.compile(r"^\| `(?P<column>[a-z_]+)` \| (?P<part>\w+) \| (?P<required>[^|]+) \|", re.M)
DOCUMENTED = [(m["column"], m["required"].strip() == "yes") for m in ROW.finditer(DOC)]
COLUMNS = [column for column, _required in DOCUMENTED]
REQUIRED = [column for column, required in DOCUMENTED if required]


def header_errors(columns: list[str]) -> list[str]:
    _records, errors = importing.csv_records(",".join(columns) + "\n")
    return [str(e) for e in errors]


def test_the_documented_columns_are_the_columns_read() -> None:
    assert COLUMNS == list(importing.CSV_COLUMNS)
    assert header_errors(COLUMNS) == []


@pytest.mark.parametrize("column", REQUIRED)
def test_a_documented_required_column_is_required(column: str) -> None:
    errors = header_errors([c for c in COLUMNS if c != column])
    assert len(errors) == 1 and f"lacks column(s) {column}" in errors[0]


def test_the_documented_optional_columns_may_be_left_out() -> None:
    assert REQUIRED and header_errors(REQUIRED) == []


def test_a_column_not_documented_is_refused() -> None:
    errors = header_errors([*COLUMNS, "party_address"])
    assert len(errors) == 1 and "unknown column(s) party_address" in errors[0]


def test_the_documented_example_is_one_valid_notice() -> None:
    example = DOC.split("```csv\n", 1)[1].split("```", 1)[0]
    records, errors = importing.csv_records(example)
    assert errors == []
    [(line, raw)] = records
    notice = NoticeInput.model_validate(raw)
    assert (line, len(notice.items), len(notice.parties), len(notice.grounds)) == (2, 2, 2, 1)
