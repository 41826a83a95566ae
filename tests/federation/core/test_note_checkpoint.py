"""C2SP signed notes, checkpoints and cosignatures: the published vector, round trips, tampering."""

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from federation.core import checkpoint as cp
from federation.core import note
from federation.core.commitments import LeafChain
from keys.ed25519 import KeyPair

VECTOR = Path(__file__).resolve().parents[4] / "shared" / "vectors" / "signed-note"
ORIGIN = "denex.test/de-bafa"
LOG_KEY = KeyPair(Ed25519PrivateKey.from_private_bytes(b"\x07" * 32))
WITNESS_KEY = KeyPair(Ed25519PrivateKey.from_private_bytes(b"\x08" * 32))
ROOT = bytes(range(32))


def _vector() -> dict[str, str]:
    files = sorted(VECTOR.glob("*.json"))
    assert files, f"no signed-note vector under {VECTOR}"
    data: dict[str, str] = json.loads(files[0].read_text())
    return data


def _signer() -> tuple[str, KeyPair]:
    _private, _key, name, _kid, blob = _vector()["signer_key"].split("+", 4)
    raw = base64.b64decode(blob)
    assert raw[0] == note.ED25519
    return name, KeyPair(Ed25519PrivateKey.from_private_bytes(raw[1:]))


def test_signing_the_vector_reproduces_the_note_byte_for_byte() -> None:
    vector = _vector()
    name, key = _signer()
    signed = note.Note(vector["text"], (note.sign(vector["text"], name, key),)).render()
    assert signed == vector["note"]
    assert note.vkey(name, key.public) == vector["verifier_key"]


def test_the_vector_parses_and_its_signature_verifies() -> None:
    vector = _vector()
    name, key = _signer()
    parsed = note.parse(vector["note"].encode())
    assert parsed.text == vector["text"]
    [sig] = note.find(parsed, name, bytes.fromhex(vector["key_id_hex"]))
    key.private.public_key().verify(sig.signature, parsed.text.encode())


def signed_checkpoint(size: int = 42) -> str:
    return cp.sign_checkpoint(cp.Checkpoint(ORIGIN, size, ROOT), LOG_KEY)


def test_checkpoint_text_format() -> None:
    text = signed_checkpoint()
    body = f"{ORIGIN}\n42\n{base64.b64encode(ROOT).decode()}\n"
    assert text.startswith(body + "\n\u2014 " + ORIGIN + " ")
    verified = cp.verify_checkpoint(text, origin=ORIGIN, keys=[LOG_KEY.public])
    assert verified.checkpoint == cp.Checkpoint(ORIGIN, 42, ROOT)


def test_unknown_signature_lines_are_ignored_and_reported() -> None:
    text = signed_checkpoint()
    stranger = KeyPair.generate()
    extra = note.sign(cp.Checkpoint(ORIGIN, 42, ROOT).text(), "someone.else/x", stranger)
    with_extra = text + extra.line()
    verified = cp.verify_checkpoint(with_extra, origin=ORIGIN, keys=[LOG_KEY.public])
    assert [s.name for s in verified.ignored] == ["someone.else/x"]


def test_a_checkpoint_needs_a_known_key() -> None:
    with pytest.raises(cp.CheckpointError, match="no signature by a known key"):
        cp.verify_checkpoint(signed_checkpoint(), origin=ORIGIN, keys=[WITNESS_KEY.public])


@pytest.mark.parametrize(
    "text",
    [
        "",
        "no blank line\n",
        f"{ORIGIN}\n42\n{base64.b64encode(ROOT).decode()}\n\n",
        f"{ORIGIN}\n042\n{base64.b64encode(ROOT).decode()}\n\n\u2014 {ORIGIN} AAAAAAA=\n",
        f"{ORIGIN}\n42\nnot-base64\n\n\u2014 {ORIGIN} AAAAAAA=\n",
        f"{ORIGIN}\n42\n{base64.b64encode(ROOT).decode()}\n\n- {ORIGIN} AAAAAAA=\n",
        f"{ORIGIN}\n42\n{base64.b64encode(ROOT[:31]).decode()}\n\n\u2014 {ORIGIN} AAAAAAA=\n",
        "x" * (note.MAX_NOTE_BYTES + 1),
        f"{ORIGIN}\n42\n{base64.b64encode(ROOT).decode()}\n\n"
        + "".join(f"\u2014 w{i} AAAAAAA=\n" for i in range(note.MAX_SIGNATURES + 1)),
    ],
)
def test_malformed_checkpoints_are_rejected_with_a_reason(text: str) -> None:
    with pytest.raises(note.NoteError):
        cp.verify_checkpoint(text, origin=ORIGIN, keys=[LOG_KEY.public])


CHAIN = base64.b64encode(b"\x07" * 32).decode()


def test_the_keys_line_is_signed_with_the_checkpoint_and_read_back() -> None:
    keys = LeafChain(3, b"\x07" * 32)
    head = cp.Checkpoint(ORIGIN, 42, ROOT, keys)
    assert head.text() == f"{ORIGIN}\n42\n{base64.b64encode(ROOT).decode()}\nkeys 3 {CHAIN}\n"
    verified = cp.verify_checkpoint(
        cp.sign_checkpoint(head, LOG_KEY), origin=ORIGIN, keys=[LOG_KEY.public]
    )
    assert verified.checkpoint == head and verified.checkpoint.keys == keys
    assert cp.parse_text(cp.Checkpoint(ORIGIN, 42, ROOT).text()).keys is None
    both = cp.Checkpoint(ORIGIN, 42, ROOT, keys, b"\x09" * 32)
    notices = base64.b64encode(b"\x09" * 32).decode()
    assert both.text().endswith(f"keys 3 {CHAIN}\nnotices {notices}\n")
    assert cp.parse_text(both.text()) == both


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (f"keys 43 {CHAIN}", "counts 43 statements in 42 entries"),
        (f"keys 03 {CHAIN}", "is not `keys <count> <b64 hash>`"),
        ("keys 3 AAAA", "is not `keys <count> <b64 hash>`"),
        (f"keys 3 {CHAIN[:-2]}B=", "not canonical base64"),
        (f"notes 3 {CHAIN}", "is not `keys <count> <b64 hash>`"),
        (f"keys 3 {CHAIN}\nkeys 3 {CHAIN}", "is not `notices <b64 map root>`"),
        (f"keys 3 {CHAIN}\nnotices {CHAIN}\nnotices {CHAIN}", "at most two extension lines"),
        (f"keys 3 {CHAIN}\nnotices AAAA", "must be the base64 of 32 bytes"),
    ],
)
def test_a_malformed_or_unknown_extension_line_is_refused(line: str, reason: str) -> None:
    text = f"{ORIGIN}\n42\n{base64.b64encode(ROOT).decode()}\n{line}\n"
    with pytest.raises(cp.CheckpointError, match=reason):
        cp.parse_text(text)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_any_single_byte_change_is_rejected(data: st.DataObject) -> None:
    raw = bytearray(signed_checkpoint().encode())
    position = data.draw(st.integers(0, len(raw) - 1))
    raw[position] ^= data.draw(st.integers(1, 255))
    with pytest.raises(note.NoteError):
        cp.verify_checkpoint(bytes(raw), origin=ORIGIN, keys=[LOG_KEY.public])


def test_cosignature_round_trip_and_key_id() -> None:
    body = cp.Checkpoint(ORIGIN, 42, ROOT).text()
    sig = cp.cosign(body, witness="denex.test/fr-sbdu", key=WITNESS_KEY, timestamp=1_764_000_000)
    assert sig.key_id == note.note_key_id("denex.test/fr-sbdu", 0x04, WITNESS_KEY.public)
    assert cp.verify_cosignature(body, sig, public_key=WITNESS_KEY.public) == 1_764_000_000
    message = cp.cosignature_message(body, 1_764_000_000)
    assert message == b"cosignature/v1\ntime 1764000000\n" + body.encode()
    line = note.parse(signed_checkpoint() + sig.line()).signatures[1]
    assert cp.verify_cosignature(body, line, public_key=WITNESS_KEY.public) == 1_764_000_000


def test_cosignature_over_another_checkpoint_fails() -> None:
    body = cp.Checkpoint(ORIGIN, 42, ROOT).text()
    other = cp.Checkpoint(ORIGIN, 43, ROOT).text()
    sig = cp.cosign(body, witness="denex.test/fr-sbdu", key=WITNESS_KEY, timestamp=5)
    with pytest.raises(cp.CheckpointError):
        cp.verify_cosignature(other, sig, public_key=WITNESS_KEY.public)
