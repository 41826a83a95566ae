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

from keys.custody import (
    ENCRYPTED_MARKER,
    destroy,
    kdf_of_file,
    key_pem,
    load_key,
    replace_key,
    save_key,
)
from keys.ed25519 import KeyPair
from keys.errors import InsecureKeyError, KeyFileError, KeysError, PassphraseError
from keys.pkcs8 import Kdf

PASSPHRASE = b"correct horse battery staple"
SEED = bytes(range(100, 132))


@pytest.fixture
def pair() -> KeyPair:
    return KeyPair(Ed25519PrivateKey.from_private_bytes(SEED))


@pytest.fixture(scope="module")
def encrypted_pem() -> bytes:
    """`pair` encrypted once for the module: the strong KDF costs ~0.2 s a file."""
    return key_pem(KeyPair(Ed25519PrivateKey.from_private_bytes(SEED)), PASSPHRASE)


@pytest.fixture
def key_file(tmp_path: Path, encrypted_pem: bytes) -> Path:
    """The file `save_key(path, pair, PASSPHRASE)` writes (test_save_writes_what_key_pem_makes)."""
    path = tmp_path / "keys" / "signing.pem"
    path.parent.mkdir(mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(encrypted_pem)
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


def test_save_then_load_with_passphrase(tmp_path: Path, pair: KeyPair) -> None:
    key_file = tmp_path / "keys" / "signing.pem"
    save_key(key_file, pair, PASSPHRASE)
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
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


# the passphrase KDF (issue 11 item 7) --------------------------------------------------------

PBKDF2 = bytes.fromhex("06092a864886f70d01050c")  # 1.2.840.113549.1.5.12
HMAC_SHA256 = bytes.fromhex("06082a864886f70d0209")  # 1.2.840.113549.2.9
AES256_CBC = bytes.fromhex("060960864801650304012a")  # 2.16.840.1.101.3.4.1.42


def pbkdf2_rounds(pem: bytes) -> int:
    """The PBKDF2 iteration count of an encrypted PKCS#8 file, read by hand from its DER:
    the OID, then SEQUENCE { OCTET STRING salt, INTEGER iterations, ... }."""
    der = pem_body(pem)
    at = der.index(PBKDF2) + len(PBKDF2)
    assert der[at] == 0x30 and der[at + 2] == 0x04, "PBKDF2 parameters"
    at += 3 + der[at + 3] + 1  # past the salt
    assert der[at] == 0x02, "iteration count"
    return int.from_bytes(der[at + 2 : at + 2 + der[at + 1]], "big")


def test_encrypted_files_use_pbkdf2_sha256_with_600000_rounds_and_aes256(key_file: Path) -> None:
    pem = key_file.read_bytes()
    assert pbkdf2_rounds(pem) == 600_000
    der = pem_body(pem)
    assert HMAC_SHA256 in der and AES256_CBC in der
    assert kdf_of_file(key_file) == Kdf("pbkdf2-hmac-sha256", 600_000)


def test_the_kdf_reader_agrees_with_the_hand_read_count_of_a_weak_file(
    tmp_path: Path, pair: KeyPair
) -> None:
    weak = pair.private.private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(PASSPHRASE)
    )
    path = write_private(tmp_path / "weak.pem", weak)
    found = kdf_of_file(path)
    assert found is not None and found.iterations == pbkdf2_rounds(weak) < 600_000
    assert not found.strong
    assert load_key(path, PASSPHRASE, allow_unencrypted=False).public == pair.public
    assert kdf_of_file(write_private(tmp_path / "plain.pem", key_pem(pair, None))) is None


def test_replace_key_re_encrypts_in_place_with_the_strong_kdf(
    tmp_path: Path, pair: KeyPair
) -> None:
    weak = pair.private.private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(PASSPHRASE)
    )
    path = write_private(tmp_path / "weak.pem", weak)
    replace_key(path, pair, PASSPHRASE)
    assert pbkdf2_rounds(path.read_bytes()) == 600_000
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key(path, PASSPHRASE, allow_unencrypted=False).public == pair.public
    assert [p.name for p in tmp_path.iterdir()] == ["weak.pem"], "no temporary file left"


def test_destroy_overwrites_then_unlinks(key_file: Path, tmp_path: Path) -> None:
    before = key_file.read_bytes()
    link = tmp_path / "hard-link.pem"
    os.link(key_file, link)  # sees the same blocks after the unlink
    assert destroy(key_file)
    assert not key_file.exists()
    after = link.read_bytes()
    assert len(after) == len(before) and after != before and ENCRYPTED_MARKER not in after
    assert not destroy(key_file), "nothing left to destroy"
