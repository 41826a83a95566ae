"""A resent request never duplicates a denial (issue 12, decision 0025), as users meet it:
the installed `denex` console script importing one file twice, and a real `denex serve`
answering a POST sent twice.

A notice's reference is unique among this node's notices; `denex notice import` skips the
references the node holds and says how many; a POST sent again with the same
`Idempotency-Key` gets the first answer again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.service.notice_data import notice
from tests.system.conftest import NodeDir, ServeFactory, ok

pytestmark = pytest.mark.system

NOTICES = "/api/v1/notices"


def _write(path: Path, notices: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(n) + "\n" for n in notices), encoding="utf-8")
    return path


def _exported(node: NodeDir) -> list[str]:
    """The references of the node's notices, from `denex notice export`."""
    lines = ok(node.run("notice", "export")).stdout.splitlines()
    return [json.loads(line)["notice"]["reference"] for line in lines]


def test_importing_a_file_twice_publishes_each_reference_once(
    fresh_node: NodeDir, tmp_path: Path
) -> None:
    file = _write(tmp_path / "denials.jsonl", [notice(reference=f"IMP-{n}") for n in range(25)])

    first = ok(fresh_node.run("notice", "import", file))
    assert first.stderr.strip().endswith(f"imported 25 notices from {file}"), first.stderr

    second = ok(fresh_node.run("notice", "import", file))
    assert (
        f"imported 0 notices from {file}; skipped 25 whose reference this node already holds"
    ) in second.stderr, second.stderr

    # A longer file: the new lines are imported, the old ones skipped.
    longer = _write(tmp_path / "more.jsonl", [notice(reference=f"IMP-{n}") for n in range(20, 30)])
    third = ok(fresh_node.run("notice", "import", longer))
    assert f"imported 5 notices from {longer}; skipped 5 " in third.stderr, third.stderr

    references = _exported(fresh_node)
    assert sorted(references) == sorted(f"IMP-{n}" for n in range(30))

    # A file that repeats a reference is refused whole, naming both lines.
    repeated = _write(
        tmp_path / "repeated.jsonl",
        [notice(reference="NEW-1"), notice(reference="NEW-2"), notice(reference="NEW-1")],
    )
    refused = fresh_node.run("notice", "import", repeated)
    assert refused.returncode == 1, refused.stderr
    assert "Traceback" not in refused.stderr
    assert f"{repeated}: line 3: reference: 'NEW-1' is already on line 1" in refused.stderr
    assert "nothing was imported" in refused.stderr
    assert len(_exported(fresh_node)) == 30


def test_a_resent_post_leaves_one_notice(served_node: ServeFactory) -> None:
    served = served_node()
    body = notice(reference="BAFA-2026-0900")
    key = {"Idempotency-Key": '"0b0f4c1e-7d2a-4c55-9a8e-3c1d2e5f6a70"'}
    with served.client() as client:
        first = client.post(NOTICES, json=body, headers=served.auth() | key)
        assert first.status_code == 201, first.text

        again = client.post(NOTICES, json=body, headers=served.auth() | key)
        assert again.status_code == 201, again.text
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json() == first.json()

        # Sent again without the key, the reference gives it away: 409 naming the notice.
        bare = client.post(NOTICES, json=body, headers=served.auth())
        assert bare.status_code == 409, bare.text
        assert first.json()["notice_id"] in bare.json()["detail"]
        assert "amend it instead" in bare.json()["detail"]

        # The same key with another notice is refused.
        other = client.post(
            NOTICES, json=notice(reference="BAFA-2026-0901"), headers=served.auth() | key
        )
        assert other.status_code == 422, other.text

        listed = client.get(NOTICES, headers=served.auth())
        assert listed.status_code == 200, listed.text
        assert [n["notice_id"] for n in listed.json()["items"]] == [first.json()["notice_id"]]
