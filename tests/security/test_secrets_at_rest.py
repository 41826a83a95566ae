"""Secrets at rest, through the installed `denex` script (issue 11 item 7, decision 0020).

* `denex init` makes the data directory 0700, `node.db` 0600 and key files encrypted with
  PBKDF2-HMAC-SHA256 at 600,000 iterations (read from the PKCS#8 DER by hand, and by
  `openssl` when it is installed);
* `denex serve` keeps `node.db`, `-wal` and `-shm` 0600 while serving, and a node found with
  wider modes is made private with one warning line;
* a passphrase shorter than 12 characters is refused outside development mode, before
  anything is written;
* a key file encrypted with the old 2,048-iteration KDF still loads and is re-encrypted;
* `denex keys revoke` destroys the revoked key's file; a retired key's file stays during the
  grace period.
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    PrivateFormat,
)

from keys.custody import load_key
from tests.service.notice_data import notice
from tests.system.conftest import (
    PASSPHRASE,
    NodeDir,
    ServeFactory,
    assert_one_line_error,
    denex,
    node_env,
    ok,
)

pytestmark = pytest.mark.system

PBKDF2 = bytes.fromhex("06092a864886f70d01050c")  # 1.2.840.113549.1.5.12
HMAC_SHA256 = bytes.fromhex("06082a864886f70d0209")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def pbkdf2_rounds(pem: bytes) -> int:
    """PBKDF2's iteration count in an encrypted PKCS#8 PEM, from its DER by hand: the OID,
    then SEQUENCE { OCTET STRING salt, INTEGER iterations, SEQUENCE { prf OID ... } }."""
    der = base64.b64decode(b"".join(pem.strip().splitlines()[1:-1]))
    assert HMAC_SHA256 in der, "the PRF is HMAC-SHA256"
    at = der.index(PBKDF2) + len(PBKDF2)
    assert der[at] == 0x30 and der[at + 2] == 0x04
    at += 4 + der[at + 3]
    assert der[at] == 0x02
    return int.from_bytes(der[at + 2 : at + 2 + der[at + 1]], "big")


def openssl_rounds(path: Path) -> int | None:
    """The same count as `openssl asn1parse` prints it, if openssl is installed."""
    if shutil.which("openssl") is None:
        return None
    out = subprocess.run(
        ["openssl", "asn1parse", "-in", str(path)], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    [at] = [n for n, line in enumerate(out) if line.endswith(":PBKDF2")]
    integer = next(line for line in out[at:] if "prim: INTEGER" in line)
    return int(integer.rsplit(":", 1)[1], 16)


def entry_count(node: NodeDir) -> int:
    with contextlib.closing(sqlite3.connect(node.data_dir / "node.db")) as conn:
        return int(conn.execute("SELECT count(*) FROM entries").fetchone()[0])


# --- init ----------------------------------------------------------------------------------------


def test_init_makes_everything_private_and_encrypts_with_the_strong_kdf(
    node_template: NodeDir,
) -> None:
    node = node_template  # made by `denex init` (read only)
    assert mode(node.data_dir) == 0o700
    assert mode(node.data_dir / "keys") == 0o700
    assert mode(node.data_dir / "node.db") == 0o600
    key_files = sorted((node.data_dir / "keys").iterdir())
    assert [p.name.split("-")[0] for p in key_files] == ["root.pem", "signing"]
    for path in key_files:
        assert mode(path) == 0o600
        assert pbkdf2_rounds(path.read_bytes()) == 600_000
        assert openssl_rounds(path) in (None, 600_000)
        load_key(path, PASSPHRASE.encode(), allow_unencrypted=False)  # and it loads


def test_a_short_passphrase_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    data_dir = tmp_path / "node"
    args = ["init", "--data-dir", data_dir, "--node-id", "de-bafa", "--country", "DE",
            "--name", "Short", "--url", "https://de-bafa.denex.example"]  # fmt: skip
    result = denex(*args, env=node_env(passphrase="eleven char"))
    assert "at least 12 characters" in assert_one_line_error(result, prefix="denex: error:")
    assert result.stdout == "" and not data_dir.exists()

    # Development mode takes it (the file is still encrypted with the strong KDF); a key made
    # later outside development mode is refused, and nothing is written.
    dev = node_env(passphrase="eleven char", insecure_keys=True)
    ok(denex(*args, env=dev))
    assert pbkdf2_rounds((data_dir / "keys" / "root.pem").read_bytes()) == 600_000
    before = (
        sorted(p.name for p in (data_dir / "keys").iterdir()),
        entry_count(NodeDir(data_dir, dev)),
    )
    rotated = denex(
        "keys", "rotate", "--data-dir", data_dir, env=node_env(passphrase="eleven char")
    )
    assert "at least 12 characters" in assert_one_line_error(rotated, prefix="denex: error:")
    after = (
        sorted(p.name for p in (data_dir / "keys").iterdir()),
        entry_count(NodeDir(data_dir, dev)),
    )
    assert after == before


# --- serve and every command keep the files private ----------------------------------------------


def test_serve_keeps_the_database_and_its_wal_files_private_and_repairs_wider_modes(
    fresh_node: NodeDir, served_node: ServeFactory
) -> None:
    db = fresh_node.data_dir / "node.db"
    fresh_node.data_dir.chmod(0o755)  # as a node made before this rule was left
    db.chmod(0o644)
    (fresh_node.data_dir / "keys").chmod(0o755)

    served = served_node(node=fresh_node)
    with served.client() as client:
        response = client.post("/api/v1/notices", json=notice(), headers=served.auth())
        assert response.status_code == 201, response.text
        side = [db.with_name("node.db-wal"), db.with_name("node.db-shm")]
        assert all(path.exists() for path in side), "WAL files exist while serving"
        for path in [db, *side]:
            assert mode(path) == 0o600, path
        assert mode(fresh_node.data_dir) == 0o700 and mode(fresh_node.data_dir / "keys") == 0o700
    warnings = [line for line in served.stderr().splitlines() if "private" in line]
    assert len(warnings) == 1 and "0755->0700" in warnings[0] and "0644->0600" in warnings[0]

    # Any command repairs too, in one line; a private node gets no line at all.
    db.chmod(0o640)
    listed = ok(fresh_node.run("token", "list"))
    assert [line for line in listed.stderr.splitlines() if "private" in line] == [
        f"made the node's files private: {db} 0640->0600"
    ]
    assert mode(db) == 0o600
    assert "private" not in ok(fresh_node.run("token", "list")).stderr


# --- old key files -------------------------------------------------------------------------------


def test_a_key_file_with_the_old_kdf_loads_and_is_re_encrypted(fresh_node: NodeDir) -> None:
    root = fresh_node.data_dir / "keys" / "root.pem"
    key = load_key(root, PASSPHRASE.encode(), allow_unencrypted=False)
    root.write_bytes(  # what denex wrote before: cryptography's BestAvailableEncryption
        key.private.private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(PASSPHRASE.encode())
        )
    )
    assert pbkdf2_rounds(root.read_bytes()) == 2048

    card = ok(fresh_node.run("node", "card"))  # loads the root key
    assert "re-encrypted key file" in card.stderr and "2,048" in card.stderr
    assert pbkdf2_rounds(root.read_bytes()) == 600_000 and mode(root) == 0o600
    assert load_key(root, PASSPHRASE.encode(), allow_unencrypted=False).public == key.public
    assert "re-encrypted" not in ok(fresh_node.run("node", "card")).stderr


# --- key files that nothing needs ----------------------------------------------------------------


def signing_files(node: NodeDir) -> set[str]:
    return {p.name for p in (node.data_dir / "keys").glob("signing-*.pem")}


def key_ids(node: NodeDir) -> list[str]:
    """This node's signing key ids, in the order of their key.added entries."""
    with contextlib.closing(sqlite3.connect(node.data_dir / "node.db")) as conn:
        rows = conn.execute(
            "SELECT content_body FROM entries WHERE type = 'key.added' ORDER BY seq"
        ).fetchall()
    return [json.loads(bytes(body))["key_id"] for (body,) in rows]


def file_of(kid: str) -> str:
    return f"signing-{kid[:16]}.pem"


def test_revoke_destroys_the_key_file_and_a_retired_one_waits_for_its_grace(
    fresh_node: NodeDir,
) -> None:
    rotated = ok(fresh_node.run("keys", "rotate"))
    first, second = key_ids(fresh_node)
    assert signing_files(fresh_node) == {file_of(first), file_of(second)}, (
        "retired less than 24 h ago: peers still accept it, its file stays"
    )
    assert "destroyed" not in rotated.stderr

    revoked = ok(fresh_node.run("keys", "revoke", first, "--valid-below-seq", "1",
                                "--reason", "laptop stolen"))  # fmt: skip
    assert f"destroyed the private key file of signing key {first[:16]}" in revoked.stderr
    assert signing_files(fresh_node) == {file_of(second)}

    # Revoking the key in use: a new key, and the revoked key's file is gone at once.
    size = entry_count(fresh_node)
    again = ok(fresh_node.run("keys", "revoke", second, "--valid-below-seq", str(size),
                              "--reason", "server compromised"))  # fmt: skip
    third = key_ids(fresh_node)[-1]
    assert signing_files(fresh_node) == {file_of(third)}
    assert f"signing key {second[:16]}" in again.stderr
