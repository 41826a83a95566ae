"""Verifying an evidence bundle offline: the log's proof (`federation.core.evidence`), then what
makes it the evidence of one notice — every version an entry of that notice — and a report
that says what verified, in lines for people and in fields for programs.
"""

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from federation.core.checkpoint import origin_line
from federation.core.entry import PUBLISHED, subject_of
from federation.core.evidence import (
    Cosigned,
    LogProof,
    ProofFailed,
    ProvenEntry,
    check_card,
    check_cosignatures,
    prove_checkpoint,
    proven_heads,
)
from keys.canonical import parse_canonical
from keys.errors import KeysError
from service.evidence.bundle import FIELDS, FORMAT, MAX_BUNDLE_BYTES, horizon
from service.notices.prepared import NOTICE_TYPES


class EvidenceError(Exception):
    """The bundle does not verify; the message names the part that broke. `report` holds what
    verified before it broke."""

    def __init__(self, message: str, report: "Report | None" = None) -> None:
        super().__init__(message)
        self.report = report


@dataclass(frozen=True)
class VersionChecked:
    """One version of the notice that verified."""

    seq: int
    type: str
    version: Any
    issued_at: str
    signing_key: str  # key id
    body: Any = None  # the notice body as published or amended (parsed JSON)


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
    keys_complete: bool | None = None  # the checkpoint's `keys` line proved they are all
    versions_complete: bool | None = None  # its map of notice heads proved they are all
    size: int | None = None  # of the verified checkpoint
    root: bytes | None = None
    checkpoint_key: str | None = None  # key id of the signature that verified
    ignored_signatures: list[str] = field(default_factory=list)  # names of unknown keys
    versions: list[VersionChecked] = field(default_factory=list)
    cosignatures: list[Cosigned] = field(default_factory=list)

    def say(self, line: str) -> None:
        self.lines.append(line)


@dataclass(frozen=True)
class Witnesses:
    """What the auditor asks of cosignatures: the witness cards it trusts, and how many of
    those witnesses must have cosigned (None: every one of them)."""

    cards: Sequence[bytes] = ()
    minimum: int | None = None

    def require(self, found: list[Cosigned]) -> None:
        trusted = sorted({c.witness for c in found if c.trusted})
        wanted = len(self.cards) if self.minimum is None else self.minimum
        if wanted > len(self.cards):
            raise EvidenceError(
                f"cosignatures: {wanted} required, but only {len(self.cards)} --witness cards given"
            )
        if len(trusted) < wanted:
            raise EvidenceError(
                f"cosignatures: {wanted} required from the --witness cards, "
                f"{len(trusted)} verified ({', '.join(trusted) or 'none'})"
            )


def verify_bundle(
    data: bytes, *, trusted_cards: Sequence[bytes] = (), witnesses: Witnesses | None = None
) -> Report:
    """Verify everything in a bundle; return the report, or raise EvidenceError (whose
    `report` says what verified before the part that broke)."""
    report = Report()
    try:
        _verify(data, trusted_cards, witnesses or Witnesses(), report)
    except ProofFailed as exc:
        raise EvidenceError(str(exc), report) from exc
    except EvidenceError as exc:
        exc.report = report
        raise
    return report


def _verify(
    data: bytes, trusted_cards: Sequence[bytes], witnesses: Witnesses, report: Report
) -> None:
    bundle = _parse(data)
    federation, origin, notice_id = bundle["federation"], bundle["origin"], bundle["notice_id"]
    report.federation, report.origin, report.notice_id = federation, origin, notice_id
    if bundle["witnessed"] != []:
        raise EvidenceError("witnessed: this verifier does not know earlier checkpoints yet")

    checked = check_card(str(bundle["card"]), federation, origin, trusted_cards)
    report.card_fingerprint, report.card_trusted = checked.card.fingerprint, checked.trusted
    if checked.trusted:
        report.say(f"card of {origin}: root key {checked.card.fingerprint} matches a trusted card")
    else:
        report.say(
            f"card of {origin}: NOT independently trusted (no --trust card given); "
            f"trusted the card inside the bundle, root key fingerprint {checked.card.fingerprint}"
        )

    statements = bundle["key_statements"]
    proof = prove_checkpoint(
        federation, origin, checked.card, bundle["checkpoint"], bundle["size"], statements
    )
    for seq, kind in proof.key_statements:
        report.say(f"key statement at seq {seq}: {kind} signed by the root key, included")
    report.key_statements = proof.key_statements
    report.keys_complete = proof.keys_committed
    if proof.keys_committed:
        report.say(
            f"key statements: all {len(proof.key_statements)} that the checkpoint commits to "
            "are carried (none left out)"
        )
    else:
        report.say(
            "key statements: completeness NOT proven: the checkpoint commits to none (it "
            "predates decision 0032), so a retirement or revocation could be left out"
        )
    report.say(
        f"checkpoint of {origin_line(federation, origin)} at size {proof.size}: signed by key "
        f"{proof.checkpoint_key[:16]}..., root {base64.b64encode(proof.root).decode()}"
    )
    report.size, report.root, report.checkpoint_key = proof.size, proof.root, proof.checkpoint_key
    report.cosignatures = check_cosignatures(
        federation, origin, bundle["checkpoint"], bundle["witness_cards"], witnesses.cards
    )
    cosigners = {c.witness for c in report.cosignatures}
    for c in report.cosignatures:
        when = datetime.fromtimestamp(c.timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        report.say(
            f"checkpoint cosigned by witness {c.witness} at {when} (key {c.key_id[:16]}..., "
            + ("card matches a --witness card)" if c.trusted else "card NOT independently trusted)")
        )
    witnesses.require(report.cosignatures)
    if not report.cosignatures:
        report.say("checkpoint: no witness cosignature carried")
    for name in proof.ignored_signatures:
        if name.rpartition("/")[2] not in cosigners:
            report.say(f"checkpoint: ignored a signature line by {name} (unknown key)")
            report.ignored_signatures.append(name)

    proven = _versions(bundle, proof, report)
    _completeness(bundle, proof, proven, report)
    report.say(str(bundle["horizon"]))


def _versions(bundle: dict[str, Any], proof: LogProof, report: Report) -> list[ProvenEntry]:
    """Every version carried: an entry of the log, and of this notice."""
    origin, notice_id, versions = bundle["origin"], bundle["notice_id"], bundle["versions"]
    if not isinstance(versions, list) or not versions:
        raise EvidenceError("versions: the bundle carries no version of the notice")
    proven: list[ProvenEntry] = []
    for index, item in enumerate(versions):
        entry = proof.entry(item, f"version {index}")
        kind, header = entry.verified.type, entry.verified.header
        where = f"entry {entry.seq} of {origin}"
        if kind not in NOTICE_TYPES:
            raise EvidenceError(f"{where}: {kind} is not a notice entry")
        if entry.body is None:
            raise EvidenceError(f"{where}: the bundle lacks the content")
        if proven and entry.seq <= proven[-1].seq:
            raise EvidenceError(f"{where}: versions must be carried in seq order, once each")
        try:
            body = parse_canonical(entry.body, what="notice body")
        except KeysError as exc:
            raise EvidenceError(f"{where}: {exc}") from exc
        if not isinstance(body, dict) or body.get("notice_id") != notice_id:
            raise EvidenceError(f"{where}: it is not an entry of notice {notice_id}")
        report.say(
            f"{where}: {kind} (version {body.get('version', '-')}) issued "
            f"{header['issued_at']}, signed by signing key {entry.verified.key_id[:16]}... valid "
            f"at that seq, content matches, included in the checkpoint of size {proof.size}"
        )
        version = body.get("version")
        report.versions.append(
            VersionChecked(
                entry.seq, kind, version, header["issued_at"], entry.verified.key_id, body
            )
        )
        proven.append(entry)
    return proven


def _completeness(
    bundle: dict[str, Any], proof: LogProof, proven: list[ProvenEntry], report: Report
) -> None:
    """That no version below the checkpoint was left out, from its map of notice heads."""
    if proof.notices is None:
        if bundle["notice_map"] is not None:
            raise EvidenceError("notice map: the checkpoint commits to no map of notice heads")
        report.versions_complete = False
        report.say(
            "versions: that none was left out (a later amendment or the revocation) is NOT "
            "proven: the checkpoint commits to no map of notice heads (it predates decision 0032)"
        )
        return
    publication = proven[0]
    if publication.verified.type != PUBLISHED:
        raise EvidenceError("versions: the first one carried must be the notice's publication")
    held = proven_heads(proof.notices, publication.leaf, proven, bundle["notice_map"])
    outside = [e.seq for e in proven if subject_of(e.verified.header) is None][1:]
    report.versions_complete = not outside
    report.say(
        f"versions: all {held.count} that the checkpoint's map of notice heads holds for this "
        f"notice are carried: no later amendment or revocation up to size {proof.size} left out"
    )
    if outside:
        report.say(
            f"versions: entries {', '.join(map(str, outside))} were signed before decision "
            "0032 and are outside the map: that none like them was left out is NOT proven"
        )


def _parse(data: bytes) -> dict[str, Any]:
    """The bundle's fields, checked for shape and for its unaltered horizon."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise EvidenceError(f"bundle exceeds {MAX_BUNDLE_BYTES} bytes")
    try:
        bundle = parse_canonical(data, what="bundle")
    except KeysError as exc:
        raise EvidenceError(f"bundle: {exc}") from exc
    if not isinstance(bundle, dict) or set(bundle) != FIELDS or bundle["format"] != FORMAT:
        raise EvidenceError(f"bundle: not a {FORMAT} bundle (fields or format differ)")
    texts = (bundle["federation"], bundle["origin"], bundle["notice_id"], bundle["checkpoint"])
    if not all(isinstance(v, str) for v in texts):
        raise EvidenceError("bundle: federation, origin, notice_id and checkpoint must be text")
    if type(bundle["size"]) is not int or bundle["horizon"] != horizon(
        bundle["origin"], bundle["size"]
    ):
        raise EvidenceError("horizon: the bundle's statement of its horizon was altered")
    return bundle
