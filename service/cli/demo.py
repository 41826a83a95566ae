"""`denex demo`: the command (its options, the signals that stop it, its failures as one
line). The demo itself, a federation of three nodes on 127.0.0.1, is `service.demo`."""

import signal
import socket
import tempfile
from pathlib import Path
from typing import Annotated

import httpx
import typer

from service.cli.common import CliError
from service.demo.nodes import HOST, DemoFailed, show
from service.demo.script import AUTHORITIES
from service.demo.walkthrough import Demo

# --- the command -----------------------------------------------------------------------------


def _demo_dir(directory: Path | None) -> Path:
    if directory is None:
        parent = Path("var/demo")
        parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix="demo-", dir=parent)).resolve()
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise CliError(f"--dir {directory} is not an empty directory; give a new one")
    directory.mkdir(parents=True, exist_ok=True)
    return directory.resolve()


def _ports(base_port: int | None) -> list[int]:
    """Three ports free on 127.0.0.1: base, base+1, base+2, or any three the system gives."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in AUTHORITIES]
    try:
        for index, sock in enumerate(sockets):
            port = 0 if base_port is None else base_port + index
            try:
                sock.bind((HOST, port))
            except OSError as exc:
                raise CliError(
                    f"port {port} on {HOST} is not free ({exc.strerror}); try another --base-port"
                ) from exc
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def demo(
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="An empty or new directory (default: a new one in var/demo)"),
    ] = None,
    base_port: Annotated[
        int | None,
        typer.Option("--base-port", min=1024, max=65533, help="Ports N, N+1, N+2 (default: free)"),
    ] = None,
    notices: Annotated[int, typer.Option("--notices", min=1, max=50, help="per node")] = 3,
    keep_running: Annotated[
        bool, typer.Option("--keep-running/--no-keep-running", help="serve until Ctrl-C")
    ] = True,
) -> None:
    """A local federation of three nodes with invented notices, synced and verified end to end."""
    ports = _ports(base_port)
    the_demo = Demo(_demo_dir(directory), ports, notices)
    handlers = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    # a closed terminal must not orphan the nodes; Ctrl-C stops them even where the demo was
    # started with SIGINT ignored (a background job of a script inherits that)
    for signum in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(signum, _interrupt)
    try:
        the_demo.run()
        if keep_running:
            the_demo.wait_until_interrupted()
        else:
            show()
            show("--no-keep-running: stopping the three nodes")
    except KeyboardInterrupt:
        show()
        show("interrupted: stopping the nodes")
    except httpx.HTTPError as exc:
        raise CliError(f"HTTP request to a demo node failed: {exc}") from exc
    except DemoFailed as exc:
        raise CliError(str(exc)) from exc
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut this short
        try:
            the_demo.stop()
        finally:
            for signum, handler in handlers.items():
                if handler is not None:
                    signal.signal(signum, handler)
    show(f"the demo's data stays in {the_demo.root}")
