"""Worker processes that die with their parent: a `kill -9` of a command leaves no worker.

A worker calls `die_with_parent(pid)` first thing, with the pid its parent had when it
started the worker. On Linux the kernel then sends the worker SIGKILL as soon as the parent
thread that forked it ends (`prctl(PR_SET_PDEATHSIG)`), so workers must be started from a
thread that lives as long as the pool (the main thread, in denex). A parent that died before
the call is caught by comparing `getppid()` with the pid given. Elsewhere a daemon thread
polls `getppid()` once a second instead.
"""

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
POLL_SECONDS = 1.0


def _ask_the_kernel() -> bool:
    """SIGKILL this process when its parent thread ends; False where that is not available."""
    if not sys.platform.startswith("linux"):
        return False
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)) == 0
    return False


def _poll(parent: int) -> None:
    while True:
        time.sleep(POLL_SECONDS)
        if os.getppid() != parent:
            os._exit(1)


def die_with_parent(parent: int) -> None:
    """Make this worker end when `parent` (its parent's pid at start) ends, even by SIGKILL."""
    if not _ask_the_kernel():
        threading.Thread(target=_poll, args=(parent,), name="denex-lifeline", daemon=True).start()
    if os.getppid() != parent:  # the parent died before the kernel was asked
        os._exit(1)
