"""`denex evidence` (build a bundle), `denex verify` (check one offline) and `denex verify-log`."""

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from federation.core.audit_log import LogAuditError, LogAuditor
from federation.core.checkpoint import VerifiedCheckpoint
from federation.storage.log import read_entries
from federation.storage.tables import LogRow, PeerRow
from keys.ed25519 import b64, key_id
from service import audit
from service.cli.common import CliError, DataDir, Json, print_json, run, say, settings_for
from service.evidence.build import build_bundle
from service.evidence.html import render
from service.evidence.verify import EvidenceError, Report, Witnesses, verify_bundle
from service.runtime import load_identity, opened_database, utc_now


def evidence(
    notice: Annotated[
        str,
        typer.Argument(
            metavar="[ORIGIN/]NOTICE_ID",
            help="The notice: its origin and id, or the id alone for this node's own",
        ),
    ],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File (default stdout)")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Write the offline evidence bundle of a notice this node holds, its own or a partner's."""
    settings = settings_for(data_dir)
    origin, _, notice_id = notice.rpartition("/")

    async def _build() -> bytes:
        identity = await load_identity(settings)
        async with opened_database(settings) as db, db.write() as session:
            bundle = await build_bundle(session, identity, notice_id, origin or None)
            await audit.record(
                session,
                actor="cli:evidence",
                action="evidence.export",
                target=f"{origin or identity.node_id}/{notice_id}",
                detail={},
                now=utc_now(),
            )
            return bundle

    bundle = run(_build())
    if output is None:
        sys.stdout.buffer.write(bundle + b"\n")
    else:
        try:
            output.write_bytes(bundle)
        except OSError as exc:
            raise CliError(f"cannot write {output}: {exc.strerror}") from exc
        say(f"wrote the evidence bundle of {notice} to {output}")


def _bundle_document(file: Path, report: Report, failure: str | None) -> dict[str, Any]:
    """`denex verify --json` (decision 0021): what verified, and what broke if anything."""
    return {
        "verified": failure is None,
        "bundle": str(file),
        "federation": report.federation,
        "origin": report.origin,
        "notice_id": report.notice_id,
        "card": None
        if report.card_fingerprint is None
        else {"fingerprint": report.card_fingerprint, "trusted": report.card_trusted},
        "key_statements": [{"seq": seq, "type": kind} for seq, kind in report.key_statements],
        "key_statements_complete": report.keys_complete,
        "versions_complete": report.versions_complete,
        "checkpoint": None
        if report.size is None or report.root is None
        else {"size": report.size, "root": b64(report.root), "key": report.checkpoint_key},
        "cosignatures": [
            {"witness": c.witness, "key": c.key_id, "timestamp": c.timestamp, "trusted": c.trusted}
            for c in report.cosignatures
        ],
        "ignored_signatures": report.ignored_signatures,
        "versions": [
            {
                "seq": v.seq,
                "type": v.type,
                "version": v.version,
                "issued_at": v.issued_at,
                "signing_key": v.signing_key,
            }
            for v in report.versions
        ],
        "lines": report.lines,
        "failures": [] if failure is None else [{"message": failure}],
    }


INCOMPLETE = (
    "completeness: nothing proves that no key statement or version was left out (the "
    "checkpoint, or a version, predates decision 0032): ask for a bundle at a newer "
    "checkpoint, or pass --allow-incomplete"
)
UNTRUSTED = (
    "card: no --trust card given, so nothing ties the bundle to its origin: give the origin's "
    "card with --trust (or --allow-untrusted to accept the card inside the bundle)"
)


def verify(
    file: Annotated[Path, typer.Argument(help="An evidence bundle")],
    trust: Annotated[
        list[Path] | None, typer.Option("--trust", help="A partner's node card to trust")
    ] = None,
    witness: Annotated[
        list[Path] | None,
        typer.Option(
            "--witness",
            help="A witness's node card to trust; by default each one given must have "
            "cosigned the checkpoint",
        ),
    ] = None,
    min_cosignatures: Annotated[
        int | None,
        typer.Option(
            "--min-cosignatures",
            min=0,
            help="How many of the --witness witnesses must have cosigned (default: all)",
        ),
    ] = None,
    allow_untrusted: Annotated[
        bool,
        typer.Option(
            "--allow-untrusted",
            help="Without --trust, accept the card inside the bundle (the report says so)",
        ),
    ] = False,
    allow_incomplete: Annotated[
        bool,
        typer.Option(
            "--allow-incomplete",
            help="Accept a bundle whose completeness is not proven: a checkpoint or version "
            "from before decision 0032 (the report says so)",
        ),
    ] = False,
    as_json: Json = False,
    page: Annotated[
        Path | None,
        typer.Option("--html", metavar="FILE", help="Write a self-contained report page"),
    ] = None,
) -> None:
    """Verify an evidence bundle offline; exit 0 only if everything in it verifies against a
    card you trust (--trust, or --allow-untrusted), its checkpoint commits to its key
    statements (or --allow-incomplete), and the witnesses asked for (--witness,
    --min-cosignatures) cosigned it."""
    try:
        data = file.read_bytes().removesuffix(b"\n")
        cards = [p.read_bytes().strip() for p in trust or []]
        witnesses = Witnesses([p.read_bytes().strip() for p in witness or []], min_cosignatures)
    except OSError as exc:
        raise CliError(f"cannot read {exc.filename}: {exc.strerror}") from exc
    try:
        report, failure = verify_bundle(data, trusted_cards=cards, witnesses=witnesses), None
    except EvidenceError as exc:
        report, failure = exc.report or Report(), str(exc)
    if failure is None and not cards and not allow_untrusted:
        failure = UNTRUSTED
    complete = report.keys_complete and report.versions_complete
    if failure is None and not complete and not allow_incomplete:
        failure = INCOMPLETE
    if page is not None:
        try:
            page.write_text(render(report, failure), encoding="utf-8")
        except OSError as exc:
            raise CliError(f"cannot write {page}: {exc.strerror}") from exc
    if as_json:
        print_json(_bundle_document(file, report, failure))
    elif failure is not None:
        for line in report.lines:
            print(line)
        print(f"FAILED: {failure}")
    else:
        for line in report.lines:
            print(line)
        print("VERIFIED: every signature, hash and proof in the bundle checks out")
    if failure is not None:
        raise typer.Exit(1)


@dataclass
class _LogCheck:
    """What `verify-log` found: how far the auditor got, the report lines, what broke."""

    auditor: LogAuditor
    checkpoint: VerifiedCheckpoint | None = None
    lines: list[str] = field(default_factory=list)
    failure: str | None = None

    def document(self) -> dict[str, Any]:
        """`denex verify-log --json` (decision 0021)."""
        auditor, verified = self.auditor, self.failure is None
        return {
            "verified": verified,
            "origin": auditor.origin,
            "entries": auditor.size,  # that verified: all of them, or those before the break
            "root": b64(auditor.root()) if verified else None,
            "checkpoint": None
            if self.checkpoint is None
            else {"size": self.checkpoint.checkpoint.size, "key": key_id(self.checkpoint.key)},
            "flagged": auditor.flagged,
            "invalidated": auditor.invalidated() if verified else [],
            "lines": self.lines,
            "failures": [] if verified else [{"message": self.failure}],
        }


def verify_log(
    origin: Annotated[
        str | None, typer.Option("--origin", help="Whose log (default: this node's)")
    ] = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Re-verify a whole stored log: every signature, seq, leaf, the tree and the checkpoint."""
    settings = settings_for(data_dir)

    async def _verify() -> _LogCheck:
        identity = await load_identity(settings)
        name = origin or identity.node_id
        root_key = identity.root_key
        async with opened_database(settings) as db:
            if name != identity.node_id:
                async with db.read() as session:
                    peer = await session.get(PeerRow, name)
                if peer is None:
                    raise CliError(f"{name} is neither this node nor a peer in its roster")
                root_key = peer.root_key
        check = _LogCheck(LogAuditor(identity.federation, name, root_key))
        try:
            await _audit(check)
        except LogAuditError as exc:
            check.failure = str(exc)
        return check

    async def _audit(check: _LogCheck) -> None:
        name, auditor = check.auditor.origin, check.auditor
        async with opened_database(settings) as db:
            start = 0
            while True:
                async with db.read() as session:
                    page = await read_entries(session, name, start=start, limit=1000)
                for e in page:
                    auditor.add(e.seq, e.envelope, e.leaf_hash, e.content_salt, e.content_body)
                if len(page) < 1000:
                    break
                start += len(page)
            async with db.read() as session:
                log = await session.get(LogRow, name)
        if log is None:
            stray = f", yet {auditor.size} entries of it" if auditor.size else ""
            raise LogAuditError(f"this node holds no log of {name}{stray}")
        if log.size != auditor.size:
            raise LogAuditError(f"the log row says {log.size} entries, found {auditor.size}")
        if log.root is not None and log.root != auditor.root():
            raise LogAuditError("the stored tree root is not the root of the stored entries")
        verified = check.checkpoint = auditor.finish(log.checkpoint)
        lines = check.lines
        lines += [
            f"log of {name}: {auditor.size} entries, contiguous from 0, every signature valid "
            "under the key state at its seq, every leaf hash and content matching",
            f"tree root {b64(auditor.root())}",
        ]
        if verified is not None:
            lines.append(
                f"checkpoint at size {auditor.size} verified (key {key_id(verified.key)[:16]}...)"
            )
        if auditor.flagged:
            lines.append(f"{auditor.flagged} entries this node cannot interpret (flagged, kept)")
        invalid = auditor.invalidated()
        if invalid:
            lines.append(
                f"{len(invalid)} entries invalidated by a key revocation: seqs {invalid[:20]}"
            )

    check = run(_verify())
    if as_json:
        print_json(check.document())
    elif check.failure is not None:
        print(f"FAILED: {check.failure}")
    else:
        for line in check.lines:
            print(line)
        print("VERIFIED")
    if check.failure is not None:
        raise typer.Exit(1)
