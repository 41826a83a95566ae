"""`denex verify --html`: the report page an auditor opens, written by the installed `denex`
from a bundle a real node made, and read in Debian's headless Chromium as a person would see
it: the verdict, the notice, every check; nothing fetched, nothing run.

The browser tests (marker `browser`) need /usr/bin/chromium, which `make pytest` and
`make test` install from Debian's packages; Playwright drives it and downloads no browser.
"""

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright

from keys.canonical import canonical_bytes
from keys.ed25519 import b64, unb64
from service.evidence.html import render
from service.evidence.verify import Report, VersionChecked, verify_bundle
from service.harness import clean_env, denex_command
from tests.nodes import LiveNode
from tests.service.evidence.bundles import amended_notice_bundle, node_card
from tests.service.notice_data import notice

CHROMIUM = "/usr/bin/chromium"
HOSTILE = "<script>alert(1)</script>"


async def _verify_to_page(
    tmp_path: Path, bundle: bytes, card: bytes
) -> tuple["subprocess.CompletedProcess[str]", Path]:
    """Run the installed `denex verify BUNDLE --trust CARD --html PAGE`; its result and PAGE."""
    bundle_file, card_file, page = (
        tmp_path / "bundle.json",
        tmp_path / "card.json",
        tmp_path / "report.html",
    )
    bundle_file.write_bytes(bundle)
    card_file.write_bytes(card)
    args = [
        *denex_command(),
        "verify",
        str(bundle_file),
        "--trust",
        str(card_file),
        "--html",
        str(page),
    ]
    result = await asyncio.to_thread(
        subprocess.run,
        args,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result, page


@asynccontextmanager
async def _opened(page_file: Path) -> AsyncIterator[tuple[Page, list[str]]]:
    """The page opened in headless Chromium, and the URL of every request it made."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            requests: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            await page.goto(page_file.as_uri())
            yield page, requests
        finally:
            await browser.close()


async def _cells(page: Page, section: str) -> list[list[str]]:
    rows = page.locator(f'section[aria-labelledby="{section}"] tbody tr')
    return [await row.locator("td").all_inner_texts() for row in await rows.all()]


async def _field(page: Page, section: str, name: str) -> str:
    """The text of the definition `name` in a section's first definition list."""
    where = page.locator(f'section[aria-labelledby="{section}"] dl').first
    return await where.locator(f'dt:text-is("{name}") + dd').inner_text()


@pytest.mark.browser
async def test_the_page_shows_what_verified(
    make_node: Callable[..., Awaitable[LiveNode]], tmp_path: Path
) -> None:
    live = await make_node("de-bafa")
    _nid, bundle = await amended_notice_bundle(live, end_use=f"{HOSTILE} monitoring")
    card = await node_card(live)
    expected = verify_bundle(bundle, trusted_cards=[card])
    result, page_file = await _verify_to_page(tmp_path, bundle, card)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1].startswith("VERIFIED")  # the output as before

    async with _opened(page_file) as (page, requests):
        assert await page.get_by_role("status").inner_text() == "VERIFIED"
        assert await page.locator("header").get_by_text("trusted: it matches").is_visible()
        assert await page.locator("header").get_by_text(expected.card_fingerprint or "?").count()
        for landmark in ("banner", "main"):
            assert await page.get_by_role(landmark).count() == 1
        party = notice()["parties"][0]["name"]
        assert await page.get_by_text(party, exact=True).first.is_visible()
        # the hostile text of the first version is shown as text, and nothing ran
        assert await page.get_by_text(f"{HOSTILE} monitoring", exact=True).is_visible()
        assert await page.locator("script").count() == 0
        headings = await page.locator("article.version h3").all_inner_texts()
        assert [h.split(" ")[0] for h in headings] == [
            "notice.published",
            "notice.amended",
            "notice.revoked",
        ]
        assert await _cells(page, "keys") == [[str(s), kind] for s, kind in expected.key_statements]
        assert expected.key_statements
        assert await _field(page, "checkpoint", "Size") == str(expected.size)
        checks = page.locator('section[aria-labelledby="checks"] li')
        assert await checks.count() == len(expected.lines)
        assert await page.locator("li.failed").count() == 0
        assert (await checks.last.inner_text()).endswith(expected.lines[-1])  # the horizon
        assert await page.get_by_text("no witness cosignature verified").is_visible()
        screenshot = tmp_path / "report.png"
        await page.screenshot(path=screenshot, full_page=True)
    assert requests == [page_file.as_uri()]
    assert screenshot.stat().st_size > 0
    print(f"screenshot of the verified report: {screenshot}")


def _with_a_changed_signature(bundle: bytes, version: int) -> bytes:
    """The bundle with one byte of the signature of one version's envelope changed."""
    doc = json.loads(bundle)
    envelope = json.loads(doc["versions"][version]["envelope"])
    signature = bytearray(unb64(envelope["signatures"][0]["sig"]))
    signature[10] ^= 0x01
    envelope["signatures"][0]["sig"] = b64(bytes(signature))
    doc["versions"][version]["envelope"] = canonical_bytes(envelope).decode()
    return canonical_bytes(doc)


@pytest.mark.browser
async def test_a_tampered_bundle_still_gets_a_page_that_says_what_failed(
    make_node: Callable[..., Awaitable[LiveNode]], tmp_path: Path
) -> None:
    live = await make_node("de-bafa")
    _nid, bundle = await amended_notice_bundle(live)
    result, page_file = await _verify_to_page(
        tmp_path, _with_a_changed_signature(bundle, 1), await node_card(live)
    )
    assert result.returncode == 1, result.stdout + result.stderr
    failed = result.stdout.splitlines()[-1]
    assert failed.startswith("FAILED: entry "), failed

    async with _opened(page_file) as (page, requests):
        assert await page.get_by_role("status").inner_text() == failed
        last = page.locator('section[aria-labelledby="checks"] li').last
        assert await last.get_attribute("class") == "failed"
        assert (await last.inner_text()).endswith(failed.removeprefix("FAILED: "))
        # what verified before the break is still shown: the first version only
        headings = await page.locator("article.version h3").all_inner_texts()
        assert [h.split(" ")[0] for h in headings] == ["notice.published"]
        assert await page.locator("script").count() == 0
    assert requests == [page_file.as_uri()]


def test_every_value_from_the_bundle_is_escaped() -> None:
    body = {**notice(end_use=HOSTILE), "notice_id": "N-1"}
    body["parties"][0]["aliases"] = [f'"><img src=x onerror=alert(1)>{HOSTILE}']
    report = Report(
        origin=HOSTILE,
        notice_id="N-1",
        versions=[VersionChecked(3, "notice.published", 1, HOSTILE, "k" * 64, body)],
        lines=[HOSTILE],
    )
    page = render(report, failure=HOSTILE)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page.lower() and "<img" not in page.lower()
    assert page.startswith("<!doctype html>")
