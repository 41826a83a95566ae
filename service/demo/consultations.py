"""Step 7 of the demo, continued: the officer's duties before approving (decision 0034), and
an EU denial past its review date that screening still finds."""

import time
from collections.abc import Callable
from datetime import date
from typing import Any

import httpx

from service.demo.nodes import DemoFailed, Nodes, show
from service.demo.script import Case

WAIT = 60.0  # seconds for a request or an answer to reach the other node (syncs every 2 s)


def _wait_for(what: str, probe: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.5)
    raise DemoFailed(f"{what} did not arrive within {WAIT:.0f} s")


def approve_after_consulting(demo: Nodes, screening_id: str, notice_id: str) -> None:
    """The first node's officer finds the transaction essentially identical to the second
    node's denial; approving is refused until the consultation the EU requires is answered."""
    first, second = demo.members[0], demo.members[1]
    base = f"{first.url}/api/v1/screenings/{screening_id}"
    approve = {"outcome": "approved", "licence_ref": "DEMO-LIC-1", "decided_on": _today()}
    with httpx.Client(timeout=30.0) as client:

        def post(url: str, body: dict[str, Any], member: Any = first) -> httpx.Response:
            return client.post(url, json=body, headers=demo.auth(member))

        response = post(base + "/close", approve)
        show(f"  approving at once: HTTP {response.status_code}: {_detail(response)}")
        determination = {
            "origin": second.node_id,
            "notice_id": notice_id,
            "identical": True,
            "reasons": "Same end user, same item, same destination (demo).",
        }
        duties = post(base + "/determinations", determination).json()["duties"]
        [duty] = duties["duties"]
        show(
            f"  the officer determines it essentially identical: consultation required by "
            f"{', '.join(duty['consultation']['required_by'])}, approval notified to "
            f"{duty['approval_notification']['audience']}"
        )
        response = post(base + "/close", approve)
        show(f"  approving without consulting: HTTP {response.status_code}: {_detail(response)}")
        asked = post(
            f"{first.url}/api/v1/consultations",
            {
                "screening_id": screening_id,
                "origin": second.node_id,
                "notice_id": notice_id,
                "summary": "Monitoring centre for the same end user (demo)",
                "message": "We intend to approve for a different end use; your position?",
            },
        ).json()
        response = post(base + "/close", approve)
        show(f"  approving before the reply: HTTP {response.status_code}: {_detail(response)}")

        def received() -> bool:
            listed = client.get(
                f"{second.url}/api/v1/consultations",
                params={"direction": "in"},
                headers=demo.auth(second),
            ).json()["items"]
            return any(c["consultation_id"] == asked["consultation_id"] for c in listed)

        _wait_for(f"{first.node_id}'s consultation request at {second.node_id}", received)
        post(
            f"{second.url}/api/v1/consultations/{asked['consultation_id']}/answer",
            {"position": "maintains_objection", "message": "The end user is unchanged (demo)."},
            member=second,
        )
        show(f"  {second.node_id} answers: maintains its objection (no veto: the decision stays)")

        def answered() -> bool:
            screening = client.get(base, headers=demo.auth(first)).json()
            return not screening["duties"]["approval_blocked_by"]

        _wait_for(f"{second.node_id}'s answer at {first.node_id}", answered)
        response = post(base + "/close", approve)
        if response.status_code != 200:
            raise DemoFailed(f"approving after the answer failed: {response.text[:300]}")
        due = client.get(f"{first.url}/api/v1/approvals", headers=demo.auth(first)).json()["due"]
        show(
            f"  approving once answered: closed; approval notification due by "
            f"{due[0]['due_by'] if due else '?'} (POST /api/v1/approvals)"
        )


def screen_overdue(demo: Nodes, case: Case) -> None:
    """A second application, for the end user of the third node's old EU denial."""
    first, third = demo.members[0], demo.members[2]
    application = {
        "reference": "DEMO-APPLICATION-2",
        "destination": case.destination,
        "items": [{"control_entry": case.control_entry, "description": case.item}],
        "parties": [{"role": "end_user", "name": case.end_user.upper()}],
    }
    with httpx.Client(timeout=30.0) as client:
        matches = client.post(
            f"{first.url}/api/v1/screenings", json=application, headers=demo.auth(first)
        ).json()["matches"]
        notice = client.get(
            f"{first.url}/api/v1/notices/{third.node_id}/{demo.overdue}",
            headers=demo.auth(first),
        ).json()
    if not any(m["notice_id"] == demo.overdue for m in matches):
        raise DemoFailed(f"the screening did not find {third.node_id}'s EU denial")
    show(
        f"  a second application matches {third.node_id}'s EU denial of "
        f"{notice['notice']['decided_on']}: status {notice['status']}, still matched "
        "(an EU denial stays in force until revoked)"
    )


def _detail(response: httpx.Response) -> str:
    if response.status_code < 400:
        return "closed"
    detail = str(response.json().get("detail", ""))
    return detail.split(": ", 1)[-1]


def _today() -> str:
    return date.today().isoformat()
