"""Text hygiene through real processes (issue 11 item 9): a NUL in an identifier or postal
code, a bidi override in a name, a name made only of invisible characters, are refused by a
running `denex serve` with a 422 naming the field, by `denex notice import` with one line per
bad record, and by the CLI's own text options with one line; nothing is stored."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.service.notice_data import notice
from tests.system.conftest import NodeDir, ServeFactory, assert_one_line_error

pytestmark = pytest.mark.system

NOTICES = "/api/v1/notices"


def stored(node: NodeDir) -> tuple[int, int]:
    """(entries, notices) in the node's SQLite file."""
    with contextlib.closing(sqlite3.connect(node.data_dir / "node.db")) as conn:
        entries = conn.execute("SELECT count(*) FROM entries").fetchone()[0]
        notices = conn.execute("SELECT count(*) FROM notices").fetchone()[0]
    return int(entries), int(notices)


def with_party(**changes: Any) -> dict[str, Any]:
    body = notice()
    party = body["parties"][0]
    for key, value in changes.items():
        if key == "identifier":
            party["identifiers"][0]["value"] = value
        elif key == "postal_code":
            party["address"]["postal_code"] = value
        else:
            party[key] = value
    return body


# (what, body, the one field the problem document names)
BAD = [
    ("NUL in identifier", with_party(identifier="5493001KJT\x00IIGC8Y1R12"),
     "parties.0.identifiers.0.value"),
    ("NUL in postal code", with_party(postal_code="220\x00000"), "parties.0.address.postal_code"),
    ("override in name", with_party(name="Severny \u202eCLL langiS"), "parties.0.name"),
    ("isolate in alias", with_party(aliases=["Sev\u2067erny"]), "parties.0.aliases.0"),
    ("invisible name", with_party(name="\u200b\u3164\u200e"), "parties.0.name"),
    ("escape in reference", notice(reference="BAFA\x1b[2J-1"), "reference"),
    ("separator in listing", notice(public_listings=[{"list": "US\u2028EL", "ref": "1"}]),
     "public_listings.0.list"),
]  # fmt: skip


def test_serve_refuses_bad_text_naming_the_field_and_stores_nothing(
    served_node: ServeFactory,
) -> None:
    served = served_node()
    before = stored(served.node)
    with served.client() as client:
        for what, body, field in BAD:
            response = client.post(NOTICES, json=body, headers=served.auth("officer"))
            assert response.status_code == 422, (what, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
            assert [e["field"] for e in response.json()["errors"]] == [field], what
        assert client.get(NOTICES, headers=served.auth("officer")).json()["items"] == []
        good = client.post(NOTICES, json=notice(), headers=served.auth("officer"))
        assert good.status_code == 201, good.text
    assert stored(served.node) == (before[0] + 1, before[1] + 1)


def test_bulk_import_and_cli_options_apply_the_same_rule(
    fresh_node: NodeDir, tmp_path: Path
) -> None:
    before = stored(fresh_node)
    lines = [notice(reference=f"OK-{n}") for n in range(3)] + [body for _w, body, _f in BAD]
    path = tmp_path / "notices.jsonl"
    path.write_text("".join(json.dumps(body) + "\n" for body in lines), encoding="utf-8")
    result = fresh_node.run("notice", "import", path)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    reported = result.stderr.splitlines()
    for number, (what, _body, field) in enumerate(BAD, start=4):
        [line] = [r for r in reported if f": line {number}: " in r]
        assert field in line, (what, line)
    assert len(reported) == len(BAD) + 1 and "nothing was imported" in reported[-1]

    token = fresh_node.run("token", "create", "--role", "officer", "--name", "ops\u202egnp.exe")
    assert "U+202E" in assert_one_line_error(token, prefix="denex: error:")
    root = fresh_node.data_dir / "keys" / "root.pem"
    revoke = fresh_node.run(
        "keys", "revoke", "0" * 64, "--valid-below-seq", "1", "--reason", "lost\x1b[8m",
        "--root-key", root,
    )  # fmt: skip
    assert "U+001B" in assert_one_line_error(revoke, prefix="denex: error:")
    assert stored(fresh_node) == before
