"""Issue 11, item 2: a member that reuses another origin's notice_id hides nothing.

A notice is `(origin, notice_id)` (DESIGN §6). aq-rogue, a hostile roster member in the
audience of de-bafa's denial, learns its notice_id from de-bafa's own log and writes, in its
own log and with its real key, a `notice.revoked` naming that id, then a `notice.published`
with the same id (a harmless-looking notice of its own), a `notice.amended` and a second
`notice.revoked` naming it. fr-sbdu syncs the two logs in either order (the squatter first,
then the denier; and the other way round). Whatever the order, fr-sbdu holds de-bafa's denial
intact (active, de-bafa's content, found by screening), and aq-rogue's entries make a separate
notice, `aq-rogue/<id>`, that only they change. Real processes: `denex serve` and `denex sync`
of honest nodes, aq-rogue's own server.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from service.notices.body import notice_body, revocation_body
from service.notices.schema import NoticeInput
from tests.hostile import Hostile
from tests.security.conftest import Ring, RingFactory
from tests.service.notice_data import application, notice
from tests.system.conftest import ok

pytestmark = pytest.mark.system

HARMLESS = {
    "reference": "AQ-2026-0001",
    "destination": "NO",
    "end_use": "fisheries research",
    "items": [{"control_entry": "6A001", "description": "sonar for fish finding", "quantity": "1"}],
    "parties": [
        {
            "role": "end_user",
            "name": "Nordic Fish Research AS",
            "aliases": [],
            "country": "NO",
            "identifiers": [],
        }
    ],
}


def _learn_notice_ids(rogue: Hostile, ring: Ring) -> set[str]:
    """What aq-rogue reads of de-bafa's log as the member of its audience that it is."""
    de = ring["de-bafa"]
    with rogue.client() as client:
        r = client.get(f"{de.url}/federation/v1/logs/de-bafa/entries", params={"start": 0})
    assert r.status_code == 200, r.text
    ids = set()
    for item in r.json()["entries"]:
        if item.get("content"):
            body = json.loads(base64.b64decode(item["content"]["body"]))
            if "notice_id" in body:
                ids.add(body["notice_id"])
    return ids


def _squat(rogue: Hostile, notice_id: str) -> None:
    """A revocation naming de-bafa's notice_id, then aq-rogue's own notice under that id, an
    amendment and a revocation of it, each shown to fr-sbdu and de-bafa."""
    audience = ("aq-rogue", "de-bafa", "fr-sbdu")
    revoked = revocation_body(
        notice_id=notice_id, reason="granted on appeal", revoked_on="2026-12-01"
    )
    rogue.append("notice.revoked", revoked, audience)  # not its notice: flagged, ignored
    harmless = NoticeInput.model_validate(notice(**HARMLESS))
    body = notice_body(harmless, notice_id=notice_id, version=1, supersedes=None)
    rogue.append("notice.published", body, audience)
    watered_down = NoticeInput.model_validate(notice(destination="NO", parties=HARMLESS["parties"]))
    amended = notice_body(watered_down, notice_id=notice_id, version=2, supersedes=1)
    rogue.append("notice.amended", amended, audience)
    rogue.append("notice.revoked", revoked, audience)


def _sync(ring: Ring, peer: str) -> None:
    ok(ring["fr-sbdu"].node.run("sync", "--peer", peer))


def _notice(ring: Ring, origin: str, notice_id: str) -> dict[str, Any]:
    r = ring["fr-sbdu"].officer("GET", f"/api/v1/notices/{origin}/{notice_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def _check_both_notices(ring: Ring, notice_id: str, reference: str) -> None:
    fr = ring["fr-sbdu"]
    denial = _notice(ring, "de-bafa", notice_id)
    assert (denial["origin"], denial["status"], denial["version"]) == ("de-bafa", "active", 1)
    assert denial["notice"]["reference"] == reference
    assert denial["notice"]["parties"][0]["name"] == "Severny Signal LLC"
    assert [v["kind"] for v in denial["versions"]] == ["published"]

    squatted = _notice(ring, "aq-rogue", notice_id)
    assert (squatted["origin"], squatted["status"], squatted["version"]) == (
        "aq-rogue",
        "revoked",
        2,
    )
    assert [v["kind"] for v in squatted["versions"]] == ["published", "amended", "revoked"]

    # the short path is this node's own notices only: neither of them
    assert fr.officer("GET", f"/api/v1/notices/{notice_id}").status_code == 404

    r = fr.officer("POST", "/api/v1/screenings", application())
    assert r.status_code == 201, r.text
    found = [
        (m["origin"], m["verdict"]) for m in r.json()["matches"] if m["notice_id"] == notice_id
    ]
    assert found == [("de-bafa", "consult")]


def test_a_member_reusing_a_denials_notice_id_neither_hides_nor_changes_it(
    ring: RingFactory,
) -> None:
    net = ring("de-bafa", "fr-sbdu")
    de, rogue = net["de-bafa"], net.hostile
    net.serve("de-bafa")

    # the squatter's log reaches fr-sbdu first, the denier's after it
    first = de.publish("BAFA-2026-0117")
    assert _learn_notice_ids(rogue, net) == {first}
    _squat(rogue, first)
    _sync(net, "aq-rogue")
    _sync(net, "de-bafa")
    net.serve("fr-sbdu")
    _check_both_notices(net, first, "BAFA-2026-0117")

    # the denier's log first, the squatter's after it
    second = de.publish("BAFA-2026-0118")
    _sync(net, "de-bafa")
    assert _learn_notice_ids(rogue, net) == {first, second}
    _squat(rogue, second)
    _sync(net, "aq-rogue")
    _check_both_notices(net, second, "BAFA-2026-0118")
    listed = net["fr-sbdu"].officer("GET", "/api/v1/notices?limit=200").json()["items"]
    assert sorted((n["origin"], n["notice_id"]) for n in listed) == sorted(
        (origin, notice_id) for notice_id in (first, second) for origin in ("aq-rogue", "de-bafa")
    )
