"""keys.custody: private keys at rest (DESIGN §2) — encrypted PKCS#8 PEM, mode 0600.

Every test writes real files under pytest's `tmp_path`; nothing is mocked.
"""

import base64
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from keys.custody import load_key, save_key
from keys.ed25519 import KeyPair
from keys.errors import InsecureKeyError, KeyFileError, KeysError, PassphraseError

PASSPHRASE = b"correct horse battery staple"
SEED = bytes(range(100, 132))


@pytest.fixture
def pair() -> KeyPair:
    return KeyPair(Ed25519PrivateKey.from_private_bytes(SEED))


@pytest.fixture
def key_file(tmp_path: Path, pair: KeyPair) -> Path:
    path = tmp_path / "keys" / "signing.pem"
    save_key(path, pair, PASSPHRASE)
    return path


def raw_private(pair: KeyPair) -> bytes:
    return pair.private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def pem_body(pem: bytes) -> bytes:
    """The DER inside a PEM file."""
    lines = [line for line in pem.splitlines() if line and not line.startswith(b"-----")]
    return base64.b64decode(b"".join(lines))


def write_private(path: Path, pem: bytes, mode: int = 0o600) -> Path:
    path.write_bytes(pem)
    path.chmod(mode)
    return path


def test_errors_belong_to_the_keys_tree() -> None:
    assert issubclass(KeyFileError, KeysError)
    assert issubclass(PassphraseError, KeyFileError)
    assert issubclass(InsecureKeyError, KeyFileError)


# save and load ---------------------------------------------------------------------------------


def test_save_then_load_with_passphrase(key_file: Path, pair: KeyPair) -> None:
    loaded = load_key(key_file, PASSPHRASE, allow_unencrypted=False)
    assert loaded.public == pair.public
    assert loaded.key_id == pair.key_id
    assert loaded.sign(b"m") == pair.sign(b"m")


def test_saved_file_has_mode_0600(key_file: Path) -> None:
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_saved_file_has_mode_0600_even_with_a_permissive_umask(
    tmp_path: Path, pair: KeyPair
) -> None:
    old = os.umask(0)
    try:
        save_key(tmp_path / "k.pem", pair, PASSPHRASE)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "k.pem").stat().st_mode) == 0o600


def test_saved_file_is_encrypted_pkcs8_pem(key_file: Path) -> None:
    assert key_file.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n")


def test_encrypted_file_never_holds_the_raw_private_key(key_file: Path, pair: KeyPair) -> None:
    pem = key_file.read_bytes()
    raw = raw_private(pair)
    assert raw not in pem
    assert raw not in pem_body(pem)
    assert base64.b64encode(raw) not in pem
    assert raw.hex().encode() not in pem


def test_unencrypted_file_does_hold_the_raw_private_key(tmp_path: Path, pair: KeyPair) -> None:
    # The check above would be vacuous if the raw bytes never appeared in a PEM at all.
    path = tmp_path / "plain.pem"
    save_key(path, pair, None)
    assert raw_private(pair) in pem_body(path.read_bytes())


def test_save_refuses_to_overwrite_an_existing_key(key_file: Path, pair: KeyPair) -> None:
    before = key_file.read_bytes()
    with pytest.raises((FileExistsError, KeyFileError)):
        save_key(key_file, KeyPair.generate(), PASSPHRASE)
    assert key_file.read_bytes() == before


# passphrases -----------------------------------------------------------------------------------


@pytest.mark.parametrize("wrong", [b"wrong", PASSPHRASE + b" ", PASSPHRASE.upper()])
def test_wrong_passphrase(key_file: Path, wrong: bytes) -> None:
    with pytest.raises(PassphraseError, match="wrong passphrase"):
        load_key(key_file, wrong, allow_unencrypted=False)


@pytest.mark.parametrize("missing", [None, b""])
@pytest.mark.parametrize("allow_unencrypted", [False, True])
def test_encrypted_key_without_passphrase(
    key_file: Path, missing: bytes | None, allow_unencrypted: bool
) -> None:
    with pytest.raises(PassphraseError, match="DENEX_KEY_PASSPHRASE"):
        load_key(key_file, missing, allow_unencrypted=allow_unencrypted)


# unencrypted keys ------------------------------------------------------------------------------


@pytest.fixture
def plain_file(tmp_path: Path, pair: KeyPair) -> Path:
    path = tmp_path / "plain.pem"
    save_key(path, pair, None)
    return path


def test_save_without_passphrase_writes_an_unencrypted_key(plain_file: Path) -> None:
    assert plain_file.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----\n")
    assert stat.S_IMODE(plain_file.stat().st_mode) == 0o600


@pytest.mark.parametrize("passphrase", [None, PASSPHRASE])
def test_unencrypted_key_is_refused_by_default(plain_file: Path, passphrase: bytes | None) -> None:
    with pytest.raises(InsecureKeyError, match="DENEX_INSECURE_DEV_KEYS"):
        load_key(plain_file, passphrase, allow_unencrypted=False)


@pytest.mark.parametrize("passphrase", [None, PASSPHRASE])
def test_unencrypted_key_is_loaded_when_allowed(
    plain_file: Path, pair: KeyPair, passphrase: bytes | None
) -> None:
    assert load_key(plain_file, passphrase, allow_unencrypted=True).public == pair.public


# file problems ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mode", [0o640, 0o604, 0o644, 0o660, 0o620, 0o602, 0o610, 0o601, 0o666, 0o777]
)
def test_file_accessible_to_group_or_world_is_refused(key_file: Path, mode: int) -> None:
    key_file.chmod(mode)
    with pytest.raises(KeyFileError, match="chmod 600") as excinfo:
        load_key(key_file, PASSPHRASE, allow_unencrypted=True)
    assert excinfo.type is KeyFileError


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_owner_only_modes_are_accepted(key_file: Path, pair: KeyPair, mode: int) -> None:
    key_file.chmod(mode)
    assert load_key(key_file, PASSPHRASE, allow_unencrypted=False).public == pair.public


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="does not exist") as excinfo:
        load_key(tmp_path / "absent.pem", PASSPHRASE, allow_unencrypted=True)
    assert excinfo.type is KeyFileError


def test_directory_instead_of_file(tmp_path: Path) -> None:
    directory = tmp_path / "dir.pem"
    directory.mkdir(mode=0o700)
    with pytest.raises(KeyFileError) as excinfo:
        load_key(directory, PASSPHRASE, allow_unencrypted=True)
    assert excinfo.type is KeyFileError


def test_ec_key_is_not_an_ed25519_key(tmp_path: Path) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    pem = ec_key.private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(PASSPHRASE)
    )
    path = write_private(tmp_path / "ec.pem", pem)
    with pytest.raises(KeyFileError, match="Ed25519") as excinfo:
        load_key(path, PASSPHRASE, allow_unencrypted=False)
    assert excinfo.type is KeyFileError


def test_unencrypted_ec_key_is_not_an_ed25519_key(tmp_path: Path) -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    pem = ec_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    path = write_private(tmp_path / "ec.pem", pem)
    with pytest.raises(KeyFileError, match="Ed25519") as excinfo:
        load_key(path, None, allow_unencrypted=True)
    assert excinfo.type is KeyFileError


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not a key\n",
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        Ed25519PrivateKey.from_private_bytes(SEED)
        .public_key()
        .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo),
    ],
    ids=["empty", "text", "bad-der", "public-key"],
)
def test_garbage_is_a_key_file_error(tmp_path: Path, content: bytes) -> None:
    path = write_private(tmp_path / "bad.pem", content)
    with pytest.raises(KeyFileError) as excinfo:
        load_key(path, None, allow_unencrypted=True)
    assert excinfo.type is KeyFileError


# no leaks --------------------------------------------------------------------------------------


def test_keypair_repr_does_not_leak_the_private_key(key_file: Path, pair: KeyPair) -> None:
    loaded = load_key(key_file, PASSPHRASE, allow_unencrypted=False)
    raw = raw_private(pair)
    for text in (repr(loaded), str(loaded), repr([loaded]), f"{loaded}"):
        assert pair.key_id[:16] in text
        assert raw.hex() not in text
        assert base64.b64encode(raw).decode() not in text
        assert repr(raw) not in text
        assert "PRIVATE KEY" not in text


def test_errors_do_not_leak_the_passphrase(key_file: Path) -> None:
    secret = b"a-very-specific-wrong-passphrase"
    with pytest.raises(PassphraseError) as excinfo:
        load_key(key_file, secret, allow_unencrypted=False)
    assert secret.decode() not in str(excinfo.value)
    assert secret.decode() not in repr(excinfo.value)
