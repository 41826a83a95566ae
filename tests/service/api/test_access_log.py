"""The access log (decision 0023): one INFO line per request on `denex.access` with the method,
the route template, the status, the duration and who called by credential (a token's role
and id, a peer's node id, or anonymous), never the token, the query string or a token's
name; off with DENEX_ACCESS_LOG=0. JSON lines carry the same fields."""

import json
import logging
import re

import pytest

from service.logs import JsonFormatter
from service.settings import Settings
from tests.nodes import FakeClock, LiveNode
from tests.sync_peers import peer_client


def lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "denex.access"]


async def test_a_token_caller_is_logged_by_role_and_token_id_never_by_secret(
    live: LiveNode, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="denex.access")
    token = live.tokens["officer"]
    r = await live.client.get(
        "/api/v1/notices?party=Severny+Signal&destination=BY", headers=live.auth("officer")
    )
    assert r.status_code == 200
    [record] = lines(caplog)
    fields = {k: getattr(record, k) for k in ("method", "path", "status", "caller", "token_id")}
    assert fields["method"] == "GET" and fields["path"] == "/api/v1/notices"
    assert fields["status"] == 200 and fields["caller"] == "officer"
    assert re.fullmatch(r"[0-9a-f-]{36}", fields["token_id"])
    assert record.getMessage() == (
        f"GET /api/v1/notices 200 {record.duration_ms:.1f} ms officer:{fields['token_id']}"
    )
    as_json = JsonFormatter().format(record)
    for secret_or_personal in (token, token[4:], "Severny", "party", "test-officer"):
        assert secret_or_personal not in as_json
    assert json.loads(as_json)["token_id"] == fields["token_id"]


async def test_routes_are_logged_by_template_and_unmatched_paths_escaped(
    live: LiveNode, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="denex.access")
    notice_id = "0193b7c4-0000-7000-8000-000000000000"
    await live.client.get(f"/api/v1/notices/de-bafa/{notice_id}", headers=live.auth("officer"))
    await live.client.get("/healthz")
    await live.client.get("/api/v1/notices", headers={"Authorization": "Bearer dnx_wrong"})
    await live.client.get("/no/such/%0Apath?q=secret")
    await live.client.get("/" + "x" * 5000)
    logged = [(r.path, r.status, r.caller) for r in lines(caplog)]
    assert logged == [
        ("/api/v1/notices/{origin}/{notice_id}", 404, "officer"),
        ("/healthz", 200, "anonymous"),
        ("/api/v1/notices", 401, "anonymous"),
        ("/no/such/%0Apath", 404, "anonymous"),
        ("/" + "x" * 199, 404, "anonymous"),
    ]


async def test_a_peer_is_logged_by_node_id(
    pair: tuple[LiveNode, LiveNode], clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    fr, de = pair
    caplog.set_level(logging.INFO, logger="denex.access")
    async with peer_client(fr, de) as client:
        r = await client.get("/federation/v1/logs")
    assert r.status_code == 200
    [record] = lines(caplog)
    assert (record.path, record.caller, record.peer) == ("/federation/v1/logs", "peer", "fr-sbdu")
    assert record.getMessage().endswith(" peer:fr-sbdu")


async def test_the_operator_turns_it_off(
    live: LiveNode, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, logger="denex.access")
    monkeypatch.setenv("DENEX_ACCESS_LOG", "0")
    live.state.settings = Settings(data_dir=live.settings.data_dir, insecure_dev_keys=True)
    assert live.state.settings.access_log is False
    assert (await live.client.get("/healthz")).status_code == 200
    assert lines(caplog) == []
    metrics = (await live.client.get("/metrics")).text
    assert 'denex_http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in metrics
