"""`denex evidence` (build a bundle) and `denex verify` (check one offline)."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from federation.evidence import EvidenceError, verify_bundle
from service import audit
from service.cli.common import CliError, DataDir, run, say, settings_for
from service.evidence import build_bundle
from service.runtime import load_identity, opened_database, utc_now


def evidence(
    notice_id: Annotated[str, typer.Argument(help="The notice's id")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File (default stdout)")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Write the offline evidence bundle of one of this node's notices."""
    settings = settings_for(data_dir)

    async def _build() -> bytes:
        identity = await load_identity(settings)
        async with opened_database(settings) as db, db.write() as session:
            bundle = await build_bundle(session, identity, notice_id)
            await audit.record(
                session,
                actor="cli:evidence",
                action="evidence.export",
                target=notice_id,
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
        say(f"wrote the evidence bundle of {notice_id} to {output}")


def verify(
    file: Annotated[Path, typer.Argument(help="An evidence bundle")],
    trust: Annotated[
        list[Path] | None, typer.Option("--trust", help="A partner's node card to trust")
    ] = None,
) -> None:
    """Verify an evidence bundle offline; exit 0 only if everything in it verifies."""
    try:
        data = file.read_bytes().removesuffix(b"\n")
        cards = [p.read_bytes().strip() for p in trust or []]
    except OSError as exc:
        raise CliError(f"cannot read {exc.filename}: {exc.strerror}") from exc
    try:
        report = verify_bundle(data, trusted_cards=cards)
    except EvidenceError as exc:
        print(f"FAILED: {exc}")
        raise typer.Exit(1) from exc
    for line in report.lines:
        print(line)
    print("VERIFIED: every signature, hash and proof in the bundle checks out")
