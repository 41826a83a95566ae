"""keys.ed25519: key pairs, key ids, fingerprints, strict base64 and `verify`.

Ed25519 itself is checked against RFC 8032 §7.1 tests 1 and 2; the key id is the lower-case
hex SHA-256 of the raw 32-byte public key (DESIGN §2).
"""

import base64
import hashlib
import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from keys.ed25519 import KeyPair, b64, fingerprint, key_id, unb64, verify
from keys.errors import KeysError

# RFC 8032 §7.1, TEST 1 and TEST 2: (secret key, public key, message, signature).
RFC8032 = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        b"",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        b"\x72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
]
TEST1_PUBLIC = bytes.fromhex(RFC8032[0][1])
TEST1_KEY_ID = "21fe31dfa154a261626bf854046fd2271b7bed4b6abe45aa58877ef47f9721b9"


def keypair_from_hex(secret: str) -> KeyPair:
    return KeyPair(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(secret)))


# key id and fingerprint --------------------------------------------------------------------------


def test_key_id_is_hex_sha256_of_the_raw_key() -> None:
    assert key_id(TEST1_PUBLIC) == hashlib.sha256(TEST1_PUBLIC).hexdigest() == TEST1_KEY_ID


def test_key_id_is_64_lower_case_hex_digits() -> None:
    kid = KeyPair.generate().key_id
    assert re.fullmatch(r"[0-9a-f]{64}", kid)


@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_key_id_refuses_keys_that_are_not_32_bytes(size: int) -> None:
    with pytest.raises(KeysError):
        key_id(b"\x01" * size)


def test_fingerprint_groups_the_key_id_in_fours() -> None:
    fp = fingerprint(TEST1_PUBLIC)
    groups = fp.split(" ")
    assert len(groups) == 16
    assert all(len(g) == 4 for g in groups)
    assert "".join(groups) == TEST1_KEY_ID
    assert fp.startswith("21fe 31df a154 ")
    assert fp.endswith(" 21b9")


def test_fingerprint_refuses_wrong_size() -> None:
    with pytest.raises(KeysError):
        fingerprint(b"\x00" * 31)


# KeyPair --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("secret", "public", "message", "signature"), RFC8032)
def test_keypair_matches_rfc8032(secret: str, public: str, message: bytes, signature: str) -> None:
    pair = keypair_from_hex(secret)
    assert pair.public == bytes.fromhex(public)
    assert pair.key_id == hashlib.sha256(bytes.fromhex(public)).hexdigest()
    assert pair.sign(message) == bytes.fromhex(signature)


def test_generated_keypairs_differ() -> None:
    assert KeyPair.generate().public != KeyPair.generate().public


def test_keypair_repr_shows_key_id_and_no_private_material() -> None:
    secret = RFC8032[0][0]
    pair = keypair_from_hex(secret)
    raw = bytes.fromhex(secret)
    for text in (repr(pair), str(pair), f"{pair}", f"{pair!r}"):
        assert TEST1_KEY_ID[:16] in text
        assert secret not in text
        assert b64(raw) not in text
        assert repr(raw) not in text


# verify ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("secret", "public", "message", "signature"), RFC8032)
def test_verify_accepts_rfc8032_signatures(
    secret: str, public: str, message: bytes, signature: str
) -> None:
    assert verify(bytes.fromhex(public), bytes.fromhex(signature), message) is True


def test_verify_is_false_for_another_message_or_key() -> None:
    _, public, message, signature = RFC8032[0]
    other_public = bytes.fromhex(RFC8032[1][1])
    sig = bytes.fromhex(signature)
    assert verify(bytes.fromhex(public), sig, message + b"x") is False
    assert verify(other_public, sig, message) is False
    flipped = bytes([sig[0] ^ 1]) + sig[1:]
    assert verify(bytes.fromhex(public), flipped, message) is False


@pytest.mark.parametrize(
    ("public_size", "signature_size"),
    [(0, 64), (31, 64), (33, 64), (64, 64), (32, 0), (32, 63), (32, 65), (32, 128)],
)
def test_verify_is_false_on_wrong_sizes(public_size: int, signature_size: int) -> None:
    public = (TEST1_PUBLIC * 2)[:public_size]
    signature = (bytes.fromhex(RFC8032[0][3]) * 2)[:signature_size]
    assert verify(public, signature, b"") is False


def test_verify_is_false_for_a_signature_with_trailing_byte() -> None:
    signature = bytes.fromhex(RFC8032[0][3])
    assert verify(TEST1_PUBLIC, signature + b"\x00", b"") is False
    assert verify(TEST1_PUBLIC + b"\x00", signature, b"") is False


@pytest.mark.parametrize(
    "public",
    [b"\xff" * 32, b"\xee" + b"\xff" * 30 + b"\x7f", b"\x00" * 32],
    ids=["all-ff", "y-equals-p", "all-zero"],
)
def test_verify_is_false_not_an_exception_for_invalid_points(public: bytes) -> None:
    assert verify(public, bytes.fromhex(RFC8032[0][3]), b"") is False


# base64 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "text"),
    [(b"", ""), (b"A", "QQ=="), (b"AB", "QUI="), (b"ABC", "QUJD"), (b"\xfb\xff", "+/8=")],
)
def test_b64_is_standard_base64_with_padding(data: bytes, text: str) -> None:
    assert b64(data) == text
    assert unb64(text) == data


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("QQ", id="missing-padding"),
        pytest.param("QQ=", id="short-padding"),
        pytest.param("-_8=", id="urlsafe-alphabet"),
        pytest.param("QU JD", id="space"),
        pytest.param("QUJD\n", id="newline"),
        pytest.param("QQ==QQ==", id="data-after-padding"),
        pytest.param("Q", id="one-char"),
        pytest.param("QUJDé", id="non-ascii"),
    ],
)
def test_unb64_is_strict(text: str) -> None:
    with pytest.raises(KeysError, match="signature"):
        unb64(text, what="signature")


@pytest.mark.parametrize("text", ["QR==", "QUJ=", "QUP="])
def test_unb64_rejects_non_zero_padding_bits(text: str) -> None:
    # precondition: the text decodes, but is not the canonical encoding of its bytes
    assert b64(base64.b64decode(text, validate=True)) != text
    with pytest.raises(KeysError):
        unb64(text)
