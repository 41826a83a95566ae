"""Evidence bundles and their offline verification: who published which notice, when, under
which key, and that the log held it — checked with no server and no database.

Pure: this module reads bytes and returns a report. A bundle is one RFC 8785 JSON object:

    {"format": "denex-evidence/v1", "federation", "origin", "notice_id",
     "card": <the origin's node card, JCS text>,
     "checkpoint": <a checkpoint of the origin's log, C2SP signed note, with cosignatures>,
     "size": <that checkpoint's size>,
     "versions": [{"seq", "envelope", "content": {"salt", "body"}, "inclusion": [b64...]}],
     "key_statements": [... every key.* entry below `size`, same shape ...],
     "witnessed": [{"seq", "checkpoint"}], "witness_cards": [...],
     "horizon": <what the bundle proves and what it cannot>}
"""

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from federation.core import checkpoint as cp
from federation.core import merkle
from federation.core import note as note_mod
from federation.core.entry import KEY_TYPES
from federation.core.errors import FederationError
from federation.core.verifier import EntryRejected, LogVerifier
from keys.canonical import parse_canonical
from keys.card import Card, verify_card
from keys.ed25519 import key_id
from keys.errors import KeysError

FORMAT = "denex-evidence/v1"
NOTICE_TYPES = ("notice.published", "notice.amended", "notice.revoked")
FIELDS = frozenset(
    {
        "format",
        "federation",
        "origin",
        "notice_id",
        "card",
        "checkpoint",
        "size",
        "versions",
        "key_statements",
        "witnessed",
        "witness_cards",
        "horizon",
    }
)
MAX_BUNDLE_BYTES = 16 * 1024 * 1024


def horizon(origin: str, size: int) -> str:
    """The bundle's statement of what it proves; fixed text, so that it cannot be edited."""
    return (
        f"This bundle proves what the log of {origin} held up to size {size}: it says nothing "
        "about entries after that checkpoint. issued_at is the origin's own word; no witness "
        "cosignature is included yet, so the time of publication is not independently attested."
    )


class EvidenceError(FederationError):
    """The bundle does not verify; the message names the part that broke. `report` holds what
    verified before it broke."""

    report: "Report | None" = None


@dataclass(frozen=True)
class VersionChecked:
    """One version of the notice that verified."""

    seq: int
    type: str
    version: Any
    issued_at: str
    signing_key: str  # key id


@dataclass
class Report:
    """What verified: lines for people, and the same facts as fields for programs."""

    lines: list[str] = field(default_factory=list)
    federation: str | None = None
    origin: str | None = None
    notice_id: str | None = None
    card_fingerprint: str | None = None
    card_trusted: bool | None = None  # matched a --trust card; False: only the bundle's own
    key_statements: list[tuple[int, str]] = field(default_factory=list)  # (seq, type)
    size: int | None = None  # of the verified checkpoint
    root: bytes | None = None
    checkpoint_key: str | None = None  # key id of the signature that verified
    ignored_signatures: list[str] = field(default_factory=list)  # names of unknown keys
    versions: list[VersionChecked] = field(default_factory=list)

    def say(self, line: str) -> None:
        self.lines.append(line)


def _b64(text: Any, what: str) -> bytes:
    if not isinstance(text, str):
        raise EvidenceError(f"{what} must be a base64 string")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EvidenceError(f"{what} is not valid base64") from exc
    if base64.b64encode(raw).decode() != text:
        raise EvidenceError(f"{what} is not canonical base64")
    return raw


@dataclass(frozen=True)
class _Entry:
    seq: int
    envelope: bytes
    salt: bytes | None
    body: bytes | None
    proof: list[bytes]


def _entry(item: Any, what: str) -> _Entry:
    if not isinstance(item, dict) or set(item) != {"seq", "envelope", "content", "inclusion"}:
        raise EvidenceError(f"{what} must have exactly seq, envelope, content and inclusion")
    if type(item["seq"]) is not int or item["seq"] < 0:
        raise EvidenceError(f"{what}: seq must be a non-negative integer")
    if not isinstance(item["envelope"], str) or not isinstance(item["inclusion"], list):
        raise EvidenceError(f"{what}: envelope must be text and inclusion a list")
    content = item["content"]
    salt = body = None
    if content is not None:
        if not isinstance(content, dict) or set(content) != {"salt", "body"}:
            raise EvidenceError(f"{what}: content must have exactly salt and body")
        salt, body = _b64(content["salt"], f"{what} salt"), _b64(content["body"], f"{what} body")
    proof = [_b64(h, f"{what} inclusion proof") for h in item["inclusion"]]
    return _Entry(item["seq"], item["envelope"].encode("utf-8"), salt, body, proof)


def _included(entry: _Entry, size: int, root: bytes, what: str) -> None:
    try:
        merkle.verify_inclusion(merkle.leaf(entry.envelope), entry.seq, size, entry.proof, root)
    except merkle.ProofError as exc:
        raise EvidenceError(f"{what}: inclusion in the checkpoint of size {size}: {exc}") from exc


def _card(bundle: dict[str, Any], trusted: Sequence[bytes], report: Report) -> Card:
    try:
        card = verify_card(str(bundle["card"]).encode("utf-8"))
    except KeysError as exc:
        raise EvidenceError(f"card: {exc}") from exc
    if card.body["node_id"] != bundle["origin"] or card.body["federation"] != bundle["federation"]:
        raise EvidenceError("card: it is not the card of the bundle's origin and federation")
    if trusted:
        for data in trusted:
            try:
                other = verify_card(data)
            except KeysError as exc:
                raise EvidenceError(f"--trust card: {exc}") from exc
            if other.body["node_id"] == card.body["node_id"] and other.root_key == card.root_key:
                report.say(
                    f"card of {bundle['origin']}: root key {card.fingerprint} matches a trusted card"
                )
                report.card_fingerprint, report.card_trusted = card.fingerprint, True
                return card
        raise EvidenceError("card: its root key matches none of the --trust cards")
    report.say(
        f"card of {bundle['origin']}: NOT independently trusted (no --trust card given); "
        f"trusted the card inside the bundle, root key fingerprint {card.fingerprint}"
    )
    report.card_fingerprint, report.card_trusted = card.fingerprint, False
    return card


def verify_bundle(data: bytes, *, trusted_cards: Sequence[bytes] = ()) -> Report:
    """Verify everything in a bundle; return the report, or raise EvidenceError (whose
    `report` says what verified before the part that broke)."""
    report = Report()
    try:
        _verify(data, trusted_cards, report)
    except EvidenceError as exc:
        exc.report = report
        raise
    return report


def _verify(data: bytes, trusted_cards: Sequence[bytes], report: Report) -> None:
    if len(data) > MAX_BUNDLE_BYTES:
        raise EvidenceError(f"bundle exceeds {MAX_BUNDLE_BYTES} bytes")
    try:
        bundle = parse_canonical(data, what="bundle")
    except KeysError as exc:
        raise EvidenceError(f"bundle: {exc}") from exc
    if not isinstance(bundle, dict) or set(bundle) != FIELDS or bundle["format"] != FORMAT:
        raise EvidenceError(f"bundle: not a {FORMAT} bundle (fields or format differ)")
    federation, origin, notice_id = bundle["federation"], bundle["origin"], bundle["notice_id"]
    if not all(isinstance(v, str) for v in (federation, origin, notice_id, bundle["checkpoint"])):
        raise EvidenceError("bundle: federation, origin, notice_id and checkpoint must be text")
    if type(bundle["size"]) is not int or bundle["horizon"] != horizon(origin, bundle["size"]):
        raise EvidenceError("horizon: the bundle's statement of its horizon was altered")
    report.federation, report.origin, report.notice_id = federation, origin, notice_id
    if bundle["witnessed"] != [] or bundle["witness_cards"] != []:
        raise EvidenceError("witnesses: this verifier does not know witness statements yet")
    card = _card(bundle, trusted_cards, report)

    origin_line = cp.origin_line(federation, origin)
    try:
        note = note_mod.parse(bundle["checkpoint"])
        head = cp.parse_text(note.text)
    except note_mod.NoteError as exc:
        raise EvidenceError(f"checkpoint: {exc}") from exc
    if head.origin != origin_line or head.size != bundle["size"]:
        raise EvidenceError("checkpoint: its origin or size is not the bundle's")

    verifier = LogVerifier(federation, origin, card.root_key, contiguous=False)
    statements = bundle["key_statements"]
    if not isinstance(statements, list) or not statements:
        raise EvidenceError("key statements: the bundle must carry every key statement")
    for index, item in enumerate(statements):
        entry = _entry(item, f"key statement {index}")
        where = f"key statement at seq {entry.seq}"
        if entry.seq >= head.size:
            raise EvidenceError(f"{where}: beyond the checkpoint")
        try:  # a key statement without content is rejected by the verifier itself
            kind = verifier.add(entry.seq, entry.envelope, None, entry.salt, entry.body).type
            if kind not in KEY_TYPES:  # the verifier moved on; this bundle fails anyway
                raise EvidenceError(f"{where}: not a key statement with its content")
        except EntryRejected as exc:
            raise EvidenceError(f"{where}: {exc}") from exc
        _included(entry, head.size, head.root, where)
        report.say(f"{where}: {kind} signed by the root key, included")
        report.key_statements.append((entry.seq, kind))
    state = verifier.state

    try:
        verified = cp.verify_checkpoint(
            bundle["checkpoint"], origin=origin_line, keys=state.checkpoint_keys(head.size)
        )
    except note_mod.NoteError as exc:
        raise EvidenceError(f"checkpoint: {exc}") from exc
    report.say(
        f"checkpoint of {origin_line} at size {head.size}: signed by key "
        f"{key_id(verified.key)[:16]}..., root {base64.b64encode(head.root).decode()}"
    )
    report.size, report.root, report.checkpoint_key = head.size, head.root, key_id(verified.key)
    for sig in verified.ignored:
        report.say(f"checkpoint: ignored a signature line by {sig.name} (unknown key)")
        report.ignored_signatures.append(sig.name)

    versions = bundle["versions"]
    if not isinstance(versions, list) or not versions:
        raise EvidenceError("versions: the bundle carries no version of the notice")
    for index, item in enumerate(versions):
        entry = _entry(item, f"version {index}")
        where = f"entry {entry.seq} of {origin}"
        if entry.seq >= head.size:
            raise EvidenceError(f"{where}: beyond the checkpoint")
        try:  # under every key statement the bundle carries, later revocations included
            result = verifier.check(entry.seq, entry.envelope, None, entry.salt, entry.body)
        except EntryRejected as exc:
            raise EvidenceError(str(exc)) from exc  # names the entry already
        header = result.header
        if header["type"] not in NOTICE_TYPES:
            raise EvidenceError(f"{where}: {header['type']} is not a notice entry")
        if entry.body is None:
            raise EvidenceError(f"{where}: the bundle lacks the content")
        try:
            body = parse_canonical(entry.body, what="notice body")
        except KeysError as exc:
            raise EvidenceError(f"{where}: {exc}") from exc
        if not isinstance(body, dict) or body.get("notice_id") != notice_id:
            raise EvidenceError(f"{where}: it is not an entry of notice {notice_id}")
        _included(entry, head.size, head.root, where)
        report.say(
            f"{where}: {header['type']} (version {body.get('version', '-')}) issued "
            f"{header['issued_at']}, signed by signing key {result.key_id[:16]}... valid at that "
            f"seq, content matches, included in the checkpoint of size {head.size}"
        )
        report.versions.append(
            VersionChecked(
                entry.seq,
                header["type"],
                body.get("version"),
                header["issued_at"],
                result.key_id,
            )
        )
    report.say(str(bundle["horizon"]))
