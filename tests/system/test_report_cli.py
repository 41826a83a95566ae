"""`denex report`, the installed command: the returns as JSON or CSV on stdout, one line on
a bad period."""

import csv
import io
import json

from tests.system.conftest import NodeDir, assert_one_line_error, denex, ok


def test_the_report_of_an_empty_period_and_its_csv_header(fresh_node: NodeDir) -> None:
    args = [
        "report",
        "--from",
        "2026-01-01",
        "--to",
        "2026-06-30",
        "--data-dir",
        fresh_node.data_dir,
    ]
    found = json.loads(ok(denex(*args, env=fresh_node.env)).stdout)
    assert (found["from"], found["to"], found["counts"]) == ("2026-01-01", "2026-06-30", {})
    assert found["origin"]
    text = ok(denex(*args, "--format", "csv", env=fresh_node.env)).stdout
    assert next(csv.reader(io.StringIO(text))) == [
        "origin",
        "from",
        "to",
        "section",
        "value",
        "count",
    ]


def test_a_bad_period_is_one_line(fresh_node: NodeDir) -> None:
    base = ["report", "--data-dir", fresh_node.data_dir]
    line = assert_one_line_error(
        denex(*base, "--from", "2026-13-01", "--to", "2026-12-31", env=fresh_node.env)
    )
    assert "--from '2026-13-01' is not a date" in line
    line = assert_one_line_error(
        denex(*base, "--from", "2026-12-31", "--to", "2026-01-01", env=fresh_node.env)
    )
    assert "the period ends before it starts" in line
