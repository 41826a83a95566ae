"""What a hostile member writes in its own log, met by a real node (issue 11 items 8 and 10).

* Headers it signs with its real key but that lack what a node needs to store and route them
  (no `audience`) fail as a page error naming the entry and the field: nothing of the page
  is stored, the answer is quarantined, no traceback. A header of a newer version that
  carries those fields is stored and flagged, as DESIGN §4 says, and the log goes on.
* Content it withholds from a member of the audience, placed behind thousands of entries
  that member may not see, is still found missing and alerted on.
"""

from __future__ import annotations

import time

import httpx
import pytest

from keys.canonical import canonical_bytes
from tests.security.conftest import RingFactory
from tests.system.conftest import ok

pytestmark = pytest.mark.system

ROGUE = "aq-rogue"


def test_a_header_without_audience_is_a_page_error_and_a_newer_version_is_flagged(
    ring: RingFactory,
) -> None:
    net = ring("de-bafa")
    de, rogue = net["de-bafa"], net.hostile
    body = canonical_bytes({"anything": "at all"})
    rogue.append_header(rogue.header(audience=None), body)  # entry 1: no audience

    refused = de.node.run("sync", "--peer", ROGUE)
    assert refused.returncode != 0
    assert "Traceback" not in refused.stderr, refused.stderr
    assert "entry 1 of aq-rogue" in refused.stderr and "audience" in refused.stderr, refused.stderr
    assert "aq-rogue 0 -> 0 (+0) error: entry 1 of aq-rogue: header lacks audience" in (
        refused.stderr
    )
    held = de.node.run("verify-log", "--origin", ROGUE)
    assert "this node holds no log of aq-rogue" in held.stdout + held.stderr

    # the same member's log with a header of a version this node does not know, but with
    # everything needed to store and route it (and a field of its own): stored, flagged
    rogue.entries.pop()
    newer = rogue.header(v=3, audience=["aq-rogue", "de-bafa"], extension="of version 3")
    rogue.append_header(newer, body)
    rogue.append_header(rogue.header(type="checkpoints.witnessed", audience=["*"]), b"{}")
    synced = ok(de.node.run("sync", "--peer", ROGUE))
    assert "aq-rogue 0 -> 3" in synced.stderr, synced.stderr
    verified = ok(de.node.run("verify-log", "--origin", ROGUE)).stdout
    assert "log of aq-rogue: 3 entries" in verified and "VERIFIED" in verified, verified
    assert "1 entries this node cannot interpret (flagged, kept)" in verified, verified


def test_content_withheld_deep_in_a_log_is_found_missing_and_alerted(ring: RingFactory) -> None:
    net = ring("de-bafa", env={"DENEX_CONTENT_DEADLINE": "1"})
    de, rogue = net["de-bafa"], net.hostile
    body = canonical_bytes({"note": "for aq-rogue alone"})
    for _ in range(4_500):  # entries de-bafa may not see: header only, as they must be
        rogue.withheld.add(rogue.append_header(rogue.header(type="approval.notified"), body).seq)
    for _ in range(30):  # entries de-bafa may see, whose content aq-rogue withholds
        entry = rogue.append_header(
            rogue.header(type="approval.notified", audience=["aq-rogue", "de-bafa"]), body
        )
        rogue.withheld.add(entry.seq)
    ok(de.node.run("sync", "--peer", ROGUE))
    net.serve("de-bafa")
    time.sleep(1.5)  # past DENEX_CONTENT_DEADLINE
    admin = {"Authorization": f"Bearer {de.node.tokens['admin']}"}
    peers = httpx.get(f"{de.url}/api/v1/peers", headers=admin, timeout=30).json()["items"]
    [status] = [p["status"] for p in peers if p["node_id"] == ROGUE]
    alerts = [a for a in status["alerts"] if a.startswith("withheld")]
    assert alerts, status
    assert "30 entries" in alerts[0] and "first seq 4501" in alerts[0], alerts
    # and de-bafa asked for that content (from aq-rogue, the only peer holding it)
    asked = [
        r
        for r in rogue.requests_to(f"/federation/v1/logs/{ROGUE}/entries")
        if "start=4501" in r.query
    ]
    assert asked, [r.target for r in rogue.received][-5:]
