"""`service.harness.stop_all`: every process gets one SIGTERM (a second one makes uvicorn
skip its graceful shutdown), is waited for, and is killed only after the timeout."""

import subprocess
import sys
from pathlib import Path

from service import harness

# counts the SIGTERMs it gets, takes a while to shut down, then writes the count and exits 0
_SLOW_TO_STOP = """
import signal, sys, time
count = 0
def term(*_):
    global count
    count += 1
signal.signal(signal.SIGTERM, term)
print("ready", flush=True)
while count == 0:
    time.sleep(0.01)
time.sleep(0.5)
open(sys.argv[1], "w").write(str(count))
"""
_DEAF = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("ready", flush=True)
time.sleep(60)
"""


def _started(code: str, *args: str) -> "subprocess.Popen[str]":
    process = subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline() == "ready\n"
    return process


def test_each_process_gets_one_sigterm_and_is_waited_for(tmp_path: Path) -> None:
    counts = [tmp_path / "a", tmp_path / "b"]
    processes = [_started(_SLOW_TO_STOP, str(path)) for path in counts]
    try:
        assert harness.stop_all(processes, timeout=10) == [(0, False), (0, False)]
    finally:
        for process in processes:
            assert process.stdout is not None
            process.stdout.close()
    assert [path.read_text() for path in counts] == ["1", "1"]


def test_a_process_that_ignores_sigterm_is_killed_after_the_timeout() -> None:
    process = _started(_DEAF)
    try:
        assert harness.stop(process, timeout=0.3) == (-9, True)
    finally:
        assert process.stdout is not None
        process.stdout.close()
