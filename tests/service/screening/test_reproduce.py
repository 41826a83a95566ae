"""A stored screening is reproduced from its snapshot (DESIGN §7): the same matches from
exactly the entries it ran against, whatever happened to the logs since; a tampered result
or a rewritten log is reported, by the function and by `denex screening reproduce`."""

import asyncio
import sys
from pathlib import Path

import pytest
from sqlalchemy import update

from service.errors import Conflict
from service.rules.profile import builtin
from service.screening.reproduce import reproduce
from service.storage.models import ScreeningMatchRow, ScreeningRow
from tests.nodes import DEV_KEYS, FakeClock, LiveNode
from tests.service.notice_data import application, insert_foreign_notice, notice

DENEX = Path(sys.executable).with_name("denex")


async def _screened(live: LiveNode, clock: FakeClock) -> tuple[str, str]:
    own = await live.client.post("/api/v1/notices", json=notice(), headers=live.auth("officer"))
    await insert_foreign_notice(live, clock)
    r = await live.client.post(
        "/api/v1/screenings", json=application(), headers=live.auth("officer")
    )
    assert r.status_code == 201 and len(r.json()["matches"]) == 2, r.text
    return r.json()["screening_id"], own.json()["notice_id"]


async def _cli(live: LiveNode, screening_id: str) -> tuple[int, str]:
    env = {**DEV_KEYS, "PATH": "/usr/bin:/bin"}
    if live.settings.database_url:
        env["DENEX_DATABASE_URL"] = live.settings.database_url
    process = await asyncio.create_subprocess_exec(
        str(DENEX), "screening", "reproduce", screening_id,
        "--data-dir", str(live.settings.data_dir),
        env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _out, err = await process.communicate()
    return process.returncode or 0, err.decode()


async def test_reproduced_despite_later_notices_and_revocations(
    live: LiveNode, clock: FakeClock
) -> None:
    screening_id, own = await _screened(live, clock)
    r = await live.client.post(  # after the screening: a new match, and one revoked
        "/api/v1/notices", json=notice(reference="LATER-1"), headers=live.auth("officer")
    )
    assert r.status_code == 201
    r = await live.client.post(
        f"/api/v1/notices/{own}/revoke",
        json={"reason": "withdrawn", "revoked_on": "2026-11-28"},
        headers=live.auth("officer"),
    )
    assert r.status_code == 200
    await live.client.get(f"/api/v1/screenings/{screening_id}", headers=live.auth("officer"))
    async with live.db.read() as session:
        result = await reproduce(session, screening_id, builtin())
    assert result.same, result
    assert result.notices == 2


async def test_a_tampered_result_or_a_rewritten_log_is_reported(
    live: LiveNode, clock: FakeClock
) -> None:
    screening_id, own = await _screened(live, clock)
    code, err = await _cli(live, screening_id)
    assert code == 0, err
    assert "reproduced" in err

    async with live.db.write() as session:  # someone lowers a stored score
        await session.execute(
            update(ScreeningMatchRow)
            .where(ScreeningMatchRow.notice_id == own)
            .values(score=0.61, verdict="review")
        )
    code, err = await _cli(live, screening_id)
    assert code == 1
    assert f"another verdict or score: de-bafa/{own}" in err
    assert err.strip().splitlines()[-1].endswith("is NOT reproduced from its snapshot")

    async with live.db.write() as session:  # a snapshot root the log does not have
        row = await session.get(ScreeningRow, screening_id)
        assert row is not None
        row.snapshot = {**row.snapshot, "de-bafa": {**row.snapshot["de-bafa"], "root": "AAAA"}}
    async with live.db.read() as session:
        with pytest.raises(Conflict, match="no longer has the root"):
            await reproduce(session, screening_id, builtin())
