"""The `denex` command line as a real process (DESIGN §2, §10): init, key files, tokens, the
node card, and bulk import/export of notices."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest

from keys.card import verify_card
from keys.custody import ENCRYPTED_MARKER, load_key
from keys.ed25519 import b64, key_id
from tests.service.notice_data import notice
from tests.system.conftest import (
    PASSPHRASE,
    NodeDir,
    ServeFactory,
    assert_one_line_error,
    clean_env,
    denex,
    init_node,
    node_env,
    ok,
)

pytestmark = pytest.mark.system

NOTICES = "/api/v1/notices"


def entry_count(node: NodeDir) -> int:
    with contextlib.closing(sqlite3.connect(node.data_dir / "node.db")) as conn:
        return int(conn.execute("SELECT count(*) FROM entries").fetchone()[0])


def export(node: NodeDir) -> list[dict[str, Any]]:
    """`denex notice export`: every stdout line is one JSON object, nothing else."""
    result = ok(node.run("notice", "export"))
    lines = result.stdout.splitlines()
    exported = [json.loads(line) for line in lines]
    assert f"exported {len(exported)} notices" in result.stderr
    return exported


# --- init ----------------------------------------------------------------------------------------

INIT_ARGS = {
    "node_id": "de-bafa",
    "country": "DE",
    "url": "https://de-bafa.denex.example",
}


@pytest.mark.parametrize(
    ("case", "overrides", "env", "mentions"),
    [
        pytest.param(
            "bad-node-id", {"node_id": "DE_Bafa"}, node_env(), "--node-id", id="bad-node-id"
        ),
        pytest.param("bad-country", {"country": "DEU"}, node_env(), "--country", id="bad-country"),
        pytest.param(
            "http-url",
            {"url": "http://127.0.0.1:8443"},
            node_env(),
            "DENEX_INSECURE_DEV_HTTP",
            id="http-url-without-dev-http",
        ),
        pytest.param(
            "no-passphrase",
            {},
            node_env(passphrase=None),
            "passphrase",
            id="no-passphrase",
        ),
    ],
)
def test_init_rejects_bad_input_and_creates_nothing(
    tmp_path: Path, case: str, overrides: dict[str, str], env: dict[str, str], mentions: str
) -> None:
    args = {**INIT_ARGS, **overrides}
    data_dir = tmp_path / "node"
    result = denex(
        "init",
        "--data-dir", data_dir,
        "--node-id", args["node_id"],
        "--country", args["country"],
        "--name", "System test authority",
        "--url", args["url"],
        env=env,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    line = assert_one_line_error(result, prefix="denex: error:")
    assert mentions in line
    assert result.stdout == "", "no token may be printed for a failed init"
    assert not list(data_dir.glob("keys/*")), "no key file may be left behind"
    assert not (data_dir / "node.db").exists(), "no database may be left behind"


def test_init_refuses_an_initialised_data_dir(fresh_node: NodeDir) -> None:
    keys_before = {p.name: p.read_bytes() for p in (fresh_node.data_dir / "keys").iterdir()}
    result = denex(
        "init",
        "--data-dir", fresh_node.data_dir,
        "--node-id", "fr-sbdu",
        "--country", "FR",
        "--name", "Another authority",
        "--url", "https://fr-sbdu.denex.example",
        env=fresh_node.env,
    )  # fmt: skip
    assert_one_line_error(result, prefix="denex: error:")
    assert result.stdout == ""
    keys_after = {p.name: p.read_bytes() for p in (fresh_node.data_dir / "keys").iterdir()}
    assert keys_after == keys_before


def test_key_files_are_private_and_encrypted(node_template: NodeDir) -> None:
    key_files = sorted((node_template.data_dir / "keys").glob("*.pem"))
    assert len(key_files) == 2
    assert key_files[0].name == "root.pem" and key_files[1].name.startswith("signing-")
    for path in key_files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert path.read_bytes().startswith(ENCRYPTED_MARKER + b"\n"), path
        assert PASSPHRASE.encode() not in path.read_bytes()


# --- node card ---------------------------------------------------------------------------------


def test_node_card_is_json_only_and_verifies(tmp_path: Path) -> None:
    # Also: init with DENEX_KEY_PASSPHRASE_FILE, and an http:// URL allowed by
    # DENEX_INSECURE_DEV_HTTP=1.
    passphrase_file = tmp_path / "passphrase"
    passphrase_file.write_text("a passphrase from a file\n")
    env = clean_env(DENEX_KEY_PASSPHRASE_FILE=str(passphrase_file), DENEX_INSECURE_DEV_HTTP="1")
    node = init_node(
        tmp_path / "node", node_id="jp-meti", country="JP", env=env, url="http://127.0.0.1:8443/"
    )
    for path in (node.data_dir / "keys").glob("*.pem"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_bytes().startswith(ENCRYPTED_MARKER)

    result = ok(node.run("node", "card"))
    assert len(result.stdout.strip().splitlines()) == 1
    json.loads(result.stdout)  # JSON and nothing else on stdout
    card = verify_card(result.stdout.strip().encode("utf-8"))

    root = load_key(node.data_dir / "keys" / "root.pem", b"a passphrase from a file",
                    allow_unencrypted=False)  # fmt: skip
    assert card.root_key == root.public
    assert card.body["root_key"] == b64(root.public)
    assert card.body["node_id"] == "jp-meti"
    assert card.body["country"] == "JP"
    assert card.body["federation"] == "denex.system.test"
    assert card.body["url"] == "http://127.0.0.1:8443"
    assert card.body["card_version"] == 1
    [signing] = card.body["signing_keys"]
    signing_file = node.data_dir / "keys" / f"signing-{signing['key_id'][:16]}.pem"
    signing_key = load_key(signing_file, b"a passphrase from a file", allow_unencrypted=False)
    assert signing["key"] == b64(signing_key.public)
    assert signing["key_id"] == key_id(signing_key.public)
    assert card.fingerprint.replace(" ", "") == key_id(root.public)


# --- tokens ------------------------------------------------------------------------------------


def test_token_create_list_revoke(fresh_node: NodeDir, served_node: ServeFactory) -> None:
    created = ok(fresh_node.run("token", "create", "--role", "auditor", "--name", "sys-audit",
                                "--expires", "30"))  # fmt: skip
    token = created.stdout.strip()
    assert created.stdout == token + "\n", "stdout is the token alone on one line"
    assert token.startswith("dnx_")
    assert token not in created.stderr

    listed = ok(fresh_node.run("token", "list"))
    secrets = [token, *fresh_node.tokens.values()]
    assert not any(secret in listed.stdout + listed.stderr for secret in secrets)
    rows = {line.split()[2]: line.split() for line in listed.stdout.splitlines()[1:]}
    assert set(rows) == {"first-admin", "sys-officer", "sys-audit"}
    assert rows["sys-audit"][1] == "auditor"
    assert rows["sys-audit"][-1] == "active"
    token_id = rows["sys-audit"][0]

    served = served_node(node=fresh_node)
    auditor = {"Authorization": f"Bearer {token}"}
    with served.client() as client:
        assert client.get(NOTICES, headers=auditor).status_code == 200
        assert client.post(NOTICES, json=notice(), headers=auditor).status_code == 403

        revoked = ok(fresh_node.run("token", "revoke", token_id))
        assert token_id in revoked.stderr

        refused = client.get(NOTICES, headers=auditor)
        assert refused.status_code == 401
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert client.get(NOTICES, headers=served.auth("officer")).status_code == 200

    after = ok(fresh_node.run("token", "list"))
    assert any(
        line.split()[0] == token_id and line.split()[-1] == "revoked"
        for line in after.stdout.splitlines()
    )


# --- notice import / export -------------------------------------------------------------------


def jsonl_notices(count: int) -> list[dict[str, Any]]:
    destinations = ["BY", "RU", "IR", "KP", "SY"]
    return [
        notice(
            reference=f"JSONL-{i:04d}",
            destination=destinations[i % len(destinations)],
            decided_on=f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}",
            parties=[{"role": "end_user", "name": f"Example Trading {i} LLC", "country": "AE"}],
        )
        for i in range(count)
    ]


CSV_HEADER = [
    "reference", "decision", "decided_on", "valid_until", "regimes", "destination",
    "control_entry", "item_description", "quantity", "value_amount", "value_currency",
    "party_role", "party_name", "party_aliases", "party_country", "party_identifiers",
    "end_use", "ground_code", "ground_ref", "ground_text",
]  # fmt: skip


def csv_text(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_HEADER, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue()


def csv_row(reference: str, **overrides: str) -> dict[str, str]:
    row = {
        "reference": reference,
        "decision": "refusal",
        "decided_on": "2026-10-01",
        "valid_until": "",
        "regimes": "WA;HRI",
        "destination": "IR",
        "control_entry": "5a001j",
        "item_description": "Interception system",
        "quantity": "2",
        "value_amount": "350000.00",
        "value_currency": "EUR",
        "party_role": "end_user",
        "party_name": f"Party of {reference}",
        "party_aliases": "",
        "party_country": "IR",
        "party_identifiers": "",
        "end_use": "lawful interception, claimed",
        "ground_code": "human-rights",
        "ground_ref": "",
        "ground_text": "",
    }
    row.update(overrides)
    return row


def test_notice_import_jsonl_and_csv_then_export(fresh_node: NodeDir, tmp_path: Path) -> None:
    jsonl = tmp_path / "notices.jsonl"
    jsonl.write_text("".join(json.dumps(n) + "\n" for n in jsonl_notices(50)))
    result = ok(fresh_node.run("notice", "import", jsonl, "--batch", "20"))
    assert "imported 50 notices" in result.stderr

    table = tmp_path / "notices.csv"
    table.write_text(
        csv_text(
            [
                csv_row(
                    "CSV-0001",
                    party_aliases="Alpha One;Alpha 1",
                    party_identifiers="LEI:5493001KJTIIGC8Y1R12",
                ),
                csv_row(
                    "CSV-0001",
                    party_role="consignee",
                    party_name="Forwarder FZE",
                    party_country="AE",
                    ground_code="diversion",
                ),
                csv_row(
                    "CSV-0002",
                    destination="SY",
                    control_entry="ML21.b",
                    item_description="Software",
                    quantity="",
                    value_amount="",
                    value_currency="",
                    valid_until="2027-10-01",
                ),
            ]
        )
    )
    result = ok(fresh_node.run("notice", "import", table))
    assert "imported 2 notices" in result.stderr

    exported = export(fresh_node)
    assert len(exported) == 52
    by_ref = {line["notice"]["reference"]: line for line in exported}
    assert set(by_ref) == {f"JSONL-{i:04d}" for i in range(50)} | {"CSV-0001", "CSV-0002"}
    assert {line["origin"] for line in exported} == {"de-bafa"}
    assert {line["status"] for line in exported} == {"active"}
    assert by_ref["JSONL-0008"]["notice"]["destination"] == "KP"

    merged = by_ref["CSV-0001"]["notice"]
    assert [(p["role"], p["name"]) for p in merged["parties"]] == [
        ("end_user", "Party of CSV-0001"),
        ("consignee", "Forwarder FZE"),
    ]
    assert merged["parties"][0]["aliases"] == ["Alpha One", "Alpha 1"]
    assert merged["parties"][0]["identifiers"] == [
        {"scheme": "LEI", "value": "5493001KJTIIGC8Y1R12"}
    ]
    assert len(merged["items"]) == 1, "the same item on two rows is one item"
    assert merged["items"][0]["control_entry"] == "5A001.j"
    assert [g["code"] for g in merged["grounds"]] == ["human-rights", "diversion"]
    assert sorted(merged["regimes"]) == ["HRI", "WA"]
    other = by_ref["CSV-0002"]["notice"]
    assert other["items"][0]["control_entry"] == "ML21.b"
    assert other["valid_until"] == "2027-10-01"

    assert entry_count(fresh_node) == 1 + 52


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_notice_import_with_one_bad_line_imports_nothing(
    fresh_node: NodeDir, tmp_path: Path, fmt: str
) -> None:
    if fmt == "jsonl":
        notices = jsonl_notices(8)
        notices[3]["destination"] = "Q1"  # line 4
        path = tmp_path / "notices.jsonl"
        path.write_text("".join(json.dumps(n) + "\n" for n in notices))
        field = "destination"
    else:
        rows = [csv_row(f"CSV-{i:04d}") for i in range(8)]
        rows[2]["decided_on"] = "2026-13-01"  # line 4: the header is line 1
        path = tmp_path / "notices.csv"
        path.write_text(csv_text(rows))
        field = "decided_on"

    result = fresh_node.run("notice", "import", path, "--batch", "2")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "line 4" in line]
    assert errors and all(field in line for line in errors), result.stderr
    assert not any(f"line {n}" in result.stderr for n in (1, 2, 3, 5, 6, 7, 8, 9))
    assert result.stderr.splitlines()[-1].startswith("denex: error:")
    assert "nothing was imported" in result.stderr.splitlines()[-1]

    assert export(fresh_node) == []
    assert entry_count(fresh_node) == 1  # only entry 0


def test_notice_import_missing_file(fresh_node: NodeDir, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-file.jsonl"
    result = fresh_node.run("notice", "import", missing)
    assert result.returncode == 1
    line = assert_one_line_error(result, prefix="denex: error:")
    assert str(missing) in line
    assert entry_count(fresh_node) == 1


def test_export_names_the_status_the_rule_profile_gives(
    fresh_node: NodeDir, tmp_path: Path
) -> None:
    """An EU denial past its review date is exported as `review_overdue` (still in force), a
    Wassenaar one as `expired`; `--status` selects each (decision 0034)."""
    file = tmp_path / "old.jsonl"
    old = {"decided_on": "2020-03-01", "valid_until": "2023-03-01"}
    lines = [
        notice(reference="OLD-EU", regimes=["EU"], **old),
        notice(reference="OLD-WA", regimes=["WA"], **old),
    ]
    file.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    ok(fresh_node.run("notice", "import", str(file)))
    by_reference = {n["notice"]["reference"]: n["status"] for n in export(fresh_node)}
    assert by_reference == {"OLD-EU": "review_overdue", "OLD-WA": "expired"}
    overdue = ok(fresh_node.run("notice", "export", "--status", "review_overdue")).stdout
    assert [json.loads(line)["notice"]["reference"] for line in overdue.splitlines()] == ["OLD-EU"]
