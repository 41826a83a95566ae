"""Signed federation requests are addressed and single-use (DESIGN §5, issue 11 item 1).

A hostile member gets an honest partner to sign a request towards it (by claiming to hold the
origin's log), then replays that signature to the origin to read content whose audience
excludes it. The origin must refuse: the request was signed for another node's URL. A
signature the origin did accept is accepted once only.
"""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response

from tests.security.conftest import RingFactory
from tests.service.notice_data import notice

pytestmark = pytest.mark.system


def test_a_partners_signature_replayed_to_the_origin_reads_nothing(ring: RingFactory) -> None:
    net = ring("de-bafa", "fr-sbdu")
    de, fr, evil = net["de-bafa"], net["fr-sbdu"], net.hostile
    net.serve("de-bafa")
    # a denial for de and fr only: the hostile member is outside its audience
    r = de.officer("POST", "/api/v1/notices", notice(audience=["de-bafa", "fr-sbdu"]))
    assert r.status_code == 201, r.text
    secret = r.json()["notice"]["end_use"]

    # the hostile member claims to hold de's log, so fr asks it for de's entries
    def claim(_request: Request) -> Response:
        return evil.logs_answer(
            [{"origin": "de-bafa", "size": 2, "root": None, "checkpoint": None}]
        )

    evil.answer("/federation/v1/logs", claim)
    fr.node.run("sync", "--peer", evil.node_id)
    asked = evil.wait_for_request("/federation/v1/logs/de-bafa/entries")
    signed = {
        name: value
        for name in ("Signature", "Signature-Input")
        if (value := asked.header(name)) is not None
    }
    assert len(signed) == 2, asked.headers

    # replayed to de, under the hostile member's Host (what the signature covers) or de's own
    for host in (f"127.0.0.1:{evil.port}", f"127.0.0.1:{de.port}"):
        replay = httpx.get(f"{de.url}{asked.target}", headers={**signed, "Host": host}, timeout=30)
        assert replay.status_code == 401, replay.text
        assert replay.headers["content-type"].startswith("application/problem+json")
        assert secret not in replay.text
        leaked = [
            base64.b64decode(e["content"]["body"])
            for e in replay.json().get("entries", [])
            if e.get("content")
        ]
        assert not leaked


def test_a_signature_is_accepted_once(ring: RingFactory) -> None:
    net = ring("de-bafa")
    de, evil = net["de-bafa"], net.hostile
    net.serve("de-bafa")
    request = httpx.Request("GET", f"{de.url}/federation/v1/logs")
    signed = next(evil.auth().auth_flow(request))
    with httpx.Client(timeout=30) as client:
        first = client.send(signed)
        assert first.status_code == 200, first.text
        assert "de-bafa" in {head["origin"] for head in first.json()}
        again = client.send(signed)
    assert again.status_code == 401, again.text
    problem = json.loads(again.text)
    assert "replay" in problem["detail"] or "already" in problem["detail"], problem
