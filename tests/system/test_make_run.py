"""`make run` serves the development node at the URL its card publishes, and refuses a port
that would make the two differ (its peers sign their requests for the card's URL, and no
command changes a node's URL). Runs the real `make run` against this environment's venv
(told not to reinstall it) and a data directory of the test's own."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.system.conftest import HOST, START_TIMEOUT, clean_env, denex, free_port, ok

pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(sys.prefix)


def make_run(data_dir: Path, port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            "make", "--no-print-directory", "-C", str(ROOT),
            "-o", f"{VENV}/.runtime",  # this venv as it is: no install from a test
            f"VENV={VENV}", f"DATA_DIR={data_dir}", f"HOST={HOST}", f"PORT={port}", "run",
        ],
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # make and the denex serve it execs: one process group
    )  # fmt: skip


def stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    return process.communicate(timeout=30)


def listening(port: int) -> bool:
    try:
        return httpx.get(f"http://{HOST}:{port}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def test_make_run_serves_the_node_at_its_published_url_and_refuses_another_port(
    tmp_path: Path,
) -> None:
    data_dir, published, other = tmp_path / "node", free_port(), free_port()
    env = clean_env(DENEX_INSECURE_DEV_KEYS="1", DENEX_INSECURE_DEV_HTTP="1")
    ok(denex(
        "init", "--data-dir", data_dir, "--node-id", "dev-node", "--country", "DE",
        "--name", "Development node", "--url", f"http://{HOST}:{published}", env=env,
    ))  # fmt: skip

    refused = make_run(data_dir, other)
    try:
        _out, err = refused.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        stop(refused)
        pytest.fail(f"make run PORT={other} did not refuse: it is serving")
    assert refused.returncode != 0
    assert "Traceback" not in err
    [line] = [line for line in err.splitlines() if line.startswith("make run:")]
    assert line == (
        f"make run: the development node in {data_dir} is published at "
        f"http://{HOST}:{published} (its card's url, which peers sign for), not "
        f"http://{HOST}:{other}: run `make run HOST={HOST} PORT={published}`, or make a new "
        f"node with `rm -rf {data_dir}` (its keys, tokens and notices are lost)"
    )
    assert not listening(other)

    served = make_run(data_dir, published)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not listening(published):
            assert served.poll() is None, served.communicate()
            assert time.monotonic() < deadline, "make run did not start serving"
            time.sleep(0.2)
        card = httpx.get(f"http://{HOST}:{published}/openapi.json", timeout=5)
        assert card.status_code == 200
    finally:
        out, err = stop(served)
    assert "officer token:  dnx_" in out, out + err
