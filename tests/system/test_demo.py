"""`denex demo` as a newcomer runs it (DESIGN §10): three real nodes initialised, peered by
card, served, synced and verified, then stopped, leaving no `denex serve` behind; and Ctrl-C
stops the nodes cleanly, with exit 0 and no traceback.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.system.conftest import DENEX, clean_env, denex, ok

pytestmark = pytest.mark.system

NODES = ("de-bafa", "fr-sbdu", "nl-cdiu")
DEMO_TIMEOUT = 300.0  # about 40 s on an idle two-core machine; far more under load


def assert_nothing_left(stdout: str) -> None:
    """Every `denex serve` the demo started is gone and its port closed."""
    pids = [int(pid) for pid in re.findall(r"serving on \S+ \(pid (\d+)\)", stdout)]
    urls = re.findall(r"serving on (http://127\.0\.0\.1:\d+)", stdout)
    assert len(pids) == len(urls) == 3, stdout
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    for url in urls:
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{url}/healthz", timeout=2.0)
    assert len(re.findall(r"^  stopped \S+ \(pid \d+, exit 0\)$", stdout, re.MULTILINE)) == 3


def test_the_demo_syncs_and_verifies_every_log_at_every_node_then_stops(tmp_path: Path) -> None:
    result = ok(
        denex(
            "demo", "--no-keep-running", "--dir", tmp_path / "demo", "--notices", "2",
            env=clean_env(), timeout=DEMO_TIMEOUT,
        )
    )  # fmt: skip
    assert "Traceback" not in result.stderr, result.stderr
    out = result.stdout
    for number in range(1, 10):
        assert re.search(rf"^{number}\. ", out, re.MULTILINE), f"step {number} missing:\n{out}"

    verified = set(re.findall(r"^  (\S+) verified the log of (\S+): \d+ entries", out, re.M))
    assert verified == {(node, origin) for node in NODES for origin in NODES if node != origin}
    for node in NODES:  # two notices of every origin, and nl-cdiu's old EU denial, everywhere
        assert re.search(rf"^    {node} +2 +2 +3 *$", out, re.MULTILINE), out
    assert re.search(r"^  consult +0\.\d\d  fr-sbdu notice", out, re.MULTILINE), out
    # step 7: approving waits for the determination and the consultation the EU requires
    assert re.search(r"^  approving at once: HTTP 409: .*no determination", out, re.M), out
    assert re.search(r"^  approving without consulting: HTTP 409: .*EU require consult", out, re.M)
    assert re.search(r"^  approving before the reply: HTTP 409: .*awaits its reply", out, re.M)
    assert re.search(r"^  approving once answered: closed; approval notification due", out, re.M)
    # an EU denial past its review date is still matched
    assert re.search(
        r"^  a second application matches nl-cdiu's EU denial .*review_overdue", out, re.M
    )
    # step 8: fr-sbdu's auditor proves de-bafa's denial with nl-cdiu's cosignature
    assert re.search(
        r"^    checkpoint cosigned by witness nl-cdiu .*matches a --witness card", out, re.M
    ), out
    assert re.search(r"^    key statements: all 1 that the checkpoint commits to", out, re.M), out
    assert "    VERIFIED: every signature" in out, out
    assert len(re.findall(r"officer token: dnx_", out)) == 3
    assert len(re.findall(r"/docs", out)) == 3
    assert_nothing_left(out)
    for node in NODES:  # separate data dirs, each with its own SQLite file
        assert (tmp_path / "demo" / node / "node.db").is_file()


def test_ctrl_c_stops_the_three_nodes_cleanly(tmp_path: Path) -> None:
    # SIGINT is ignored in a background job of a script, and children inherit that; the demo
    # still stops on Ctrl-C (it installs its own handler)
    with subprocess.Popen(
        [str(DENEX), "demo", "--dir", str(tmp_path / "demo"), "--notices", "1"],
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    ) as process:
        assert process.stdout is not None
        seen: list[str] = []
        try:
            for line in process.stdout:  # Ctrl-C once the three servers are up
                seen.append(line)
                if sum("serving on" in s for s in seen) == 3:
                    break
            process.send_signal(signal.SIGINT)
            rest, err = process.communicate(timeout=DEMO_TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    out = "".join(seen) + rest
    assert process.returncode == 0, f"exit {process.returncode}\n{out}\n{err}"
    assert "Traceback" not in err, err
    assert "interrupted: stopping the nodes" in out
    assert_nothing_left(out)
