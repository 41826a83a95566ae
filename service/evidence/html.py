"""The report of `denex verify` as one self-contained HTML page for auditors: the verdict, the
notice as published and amended, every check, the key timeline and the checkpoint. What
verified is `service.evidence.verify`'s to decide; this module only shows its `Report`.

The page loads nothing (no script, font, image or stylesheet beyond its inline style) and says
so in its Content-Security-Policy, so it opens offline. Every value in it is escaped: bodies
come from bundles, which anyone can write.
"""

import json
import textwrap
from datetime import UTC, datetime
from html import escape
from typing import Any

from federation.core.evidence import Cosigned
from keys.ed25519 import b64
from service.evidence.verify import Report, VersionChecked

CSP = "default-src 'none'; style-src 'unsafe-inline'"
MAX_DEPTH = 8  # deeper parts of a body are shown as their JSON text
STYLE = textwrap.dedent("""
    body { font: 15px/1.45 system-ui, sans-serif; color: #1b1b1b; margin: 0 auto;
           max-width: 64rem; padding: 1.5rem; }
    h1 { font-size: 1.5rem; margin: 0 0 .5rem; }
    h2 { font-size: 1.2rem; border-bottom: 1px solid #ccc; margin-top: 2rem; }
    h3 { font-size: 1rem; margin-bottom: .25rem; }
    .verdict { font-size: 1.25rem; font-weight: bold; padding: .6rem .9rem; border-radius: 4px;
               overflow-wrap: anywhere; }
    .verdict.passed { background: #e3f4e6; border: 2px solid #2e7d32; }
    .verdict.failed { background: #fde7e7; border: 2px solid #c62828; }
    table { border-collapse: collapse; margin: .5rem 0; }
    th, td { border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; vertical-align: top; }
    th { background: #f2f2f2; }
    dl { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: .3rem 0; }
    dt { font-weight: 600; }
    dd { margin: 0; overflow-wrap: anywhere; }
    ol.entries > li { border-left: 3px solid #ddd; padding-left: .6rem; margin-bottom: .4rem; }
    ol.checks { padding-left: 0; list-style: none; }
    ol.checks li { margin: .25rem 0; overflow-wrap: anywhere; }
    .mark { display: inline-block; min-width: 4.5rem; font-weight: bold; }
    .passed .mark { color: #2e7d32; }
    .failed .mark { color: #c62828; }
    .version { border: 1px solid #ccc; border-radius: 4px; padding: .2rem 1rem .8rem;
               margin: 1rem 0; break-inside: avoid; }
    code { font-family: ui-monospace, monospace; overflow-wrap: anywhere; }
    @media print { body { font-size: 10pt; max-width: none; padding: 0; }
                   h2 { break-after: avoid; } }
""")


def render(report: Report, failure: str | None) -> str:
    """The whole page: `report` as verification left it, `failure` what broke (None: all
    verified)."""
    verdict = "VERIFIED" if failure is None else f"FAILED: {failure}"
    notice = f"notice {report.notice_id or '(unknown)'} of {report.origin or '(unknown)'}"
    sections = [
        _section("notice", "The notice as published and amended", _versions(report.versions)),
        _section("checks", "Checks", _checks(report.lines, failure)),
        _section("keys", "Key timeline", _key_timeline(report.key_statements)),
        _section("checkpoint", "Checkpoint", _checkpoint(report)),
        _section("cosigned", "Cosigned by", _cosignatures(report.cosignatures)),
    ]
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>Evidence of {_text(notice)}: {_text(verdict)}</title>",
            f"<style>{STYLE}</style>",
            "</head>",
            "<body>",
            _header(report, notice, verdict, failure is None),
            "<main>",
            *sections,
            "</main>",
            "</body>",
            "</html>",
            "",
        ]
    )


def _text(value: object) -> str:
    """Any value as escaped text; quotes too, so that it is safe in attributes as well."""
    return escape(str(value), quote=True)


def _section(anchor: str, title: str, body: str) -> str:
    return (
        f'<section aria-labelledby="{anchor}">\n<h2 id="{anchor}">{_text(title)}</h2>\n'
        f"{body}\n</section>"
    )


def _table(headers: list[str], rows: list[list[object]]) -> str:
    head = "".join(f'<th scope="col">{_text(h)}</th>' for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{_text(cell)}</td>" for cell in row) + "</tr>\n" for row in rows
    )
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>"


def _fields(pairs: list[tuple[str, str]]) -> str:
    """A definition list of (name, already escaped HTML) pairs."""
    items = "".join(f"<dt>{_text(name)}</dt><dd>{value}</dd>\n" for name, value in pairs)
    return f"<dl>\n{items}</dl>"


def _header(report: Report, notice: str, verdict: str, verified: bool) -> str:
    if report.card_trusted is None:
        card = "not checked"
    elif report.card_trusted:
        card = "trusted: it matches a card given with --trust"
    else:
        card = "NOT independently trusted: only the card inside the bundle was used"
    facts = _fields(
        [
            ("Federation", _text(report.federation or "-")),
            ("Origin's card", _text(card)),
            ("Root key fingerprint", f"<code>{_text(report.card_fingerprint or '-')}</code>"),
        ]
    )
    return (
        f"<header>\n<h1>Evidence of {_text(notice)}</h1>\n"
        f'<p class="verdict {"passed" if verified else "failed"}" role="status">'
        f"{_text(verdict)}</p>\n{facts}\n</header>"
    )


def _versions(versions: list[VersionChecked]) -> str:
    if not versions:
        return "<p>No version of the notice verified.</p>"
    return "\n".join(_version(v) for v in versions)


def _version(version: VersionChecked) -> str:
    facts = _fields(
        [
            ("Type", _text(version.type)),
            ("Version", _text("-" if version.version is None else version.version)),
            ("Issued at (the origin's word)", _text(version.issued_at)),
            ("Signing key", f"<code>{_text(version.signing_key)}</code>"),
            ("Seq in the log", _text(version.seq)),
        ]
    )
    body = "<p>No body.</p>" if version.body is None else _value(version.body, 0)
    return (
        f'<article class="version">\n<h3>{_text(version.type)} (seq {_text(version.seq)})</h3>\n'
        f"{facts}\n<h4>Body</h4>\n{body}\n</article>"
    )


def _value(value: Any, depth: int) -> str:
    """A part of a notice body, readable: objects as definition lists, lists of objects as
    numbered entries, lists of plain values on one line; JSON text past MAX_DEPTH."""
    if depth >= MAX_DEPTH and isinstance(value, dict | list):
        return f"<code>{_text(json.dumps(value, ensure_ascii=False))}</code>"
    if isinstance(value, dict):
        if not value:
            return "<em>none</em>"
        pairs = [(str(k).replace("_", " "), _value(v, depth + 1)) for k, v in value.items()]
        return _fields(pairs)
    if isinstance(value, list):
        if not value:
            return "<em>none</em>"
        if all(not isinstance(item, dict | list) for item in value):
            return ", ".join(_scalar(item) for item in value)
        items = "".join(f"<li>{_value(item, depth + 1)}</li>\n" for item in value)
        return f'<ol class="entries">\n{items}</ol>'
    return _scalar(value)


def _scalar(value: Any) -> str:
    if value is None:
        return "<em>null</em>"
    if isinstance(value, bool):
        return "true" if value else "false"
    return _text(value)


def _checks(lines: list[str], failure: str | None) -> str:
    items = [
        f'<li class="passed"><span class="mark">passed</span> {_text(line)}</li>' for line in lines
    ]
    if failure is not None:
        items.append(f'<li class="failed"><span class="mark">FAILED</span> {_text(failure)}</li>')
    if not items:
        return "<p>Nothing was checked.</p>"
    return '<ol class="checks">\n' + "\n".join(items) + "\n</ol>"


def _key_timeline(statements: list[tuple[int, str]]) -> str:
    if not statements:
        return "<p>No key statement verified.</p>"
    return _table(["Seq", "Statement"], [[seq, kind] for seq, kind in statements])


def _checkpoint(report: Report) -> str:
    if report.size is None or report.root is None:
        return "<p>No checkpoint verified.</p>"
    ignored = ", ".join(report.ignored_signatures) or "none"
    return _fields(
        [
            ("Origin", _text(report.origin or "-")),
            ("Size", _text(report.size)),
            ("Root (base64)", f"<code>{_text(b64(report.root))}</code>"),
            ("Signing key", f"<code>{_text(report.checkpoint_key or '-')}</code>"),
            ("Ignored signature lines (unknown keys)", _text(ignored)),
        ]
    )


def _cosignatures(cosignatures: list[Cosigned]) -> str:
    if not cosignatures:
        return "<p>no witness cosignature verified</p>"
    rows: list[list[object]] = [
        [
            c.witness,
            c.key_id,
            datetime.fromtimestamp(c.timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "yes (matches a --witness card)" if c.trusted else "no (only the bundle's card)",
        ]
        for c in cosignatures
    ]
    return _table(["Witness", "Key id", "Time (UTC)", "Card trusted"], rows)
