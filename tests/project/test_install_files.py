"""`make`, the Dockerfile and the README's "without make" steps install the same way: the lock
files with their hashes checked, then the project itself with no dependencies of its own
choosing. `make run` installs the runtime lock only; `make test` (what CI runs) the dev lock
too. There is no Docker engine here: the Dockerfile is checked by reading it."""

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.project.lockfiles import ROOT

SEPARATORS = {"&&", "||", ";", "|"}
RUNTIME_LOCKS = ["requirements/build.txt", "requirements/runtime.txt"]


def pip_installs(script: str) -> list[list[str]]:
    """The arguments of every `pip install` in a shell script (options before `install`,
    such as `--quiet`, and the interpreter or venv path left out)."""
    installs: list[list[str]] = []
    for line in script.replace("\\\n", " ").splitlines():
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError:  # not a command line pip could be on (unbalanced quotes)
            tokens = line.split()
        installs.extend(_installs(tokens))
    return installs


def _installs(tokens: list[str]) -> list[list[str]]:
    installs: list[list[str]] = []
    for i, token in enumerate(tokens):
        if token != "install":
            continue
        before = tokens[:i]
        start = max((j for j, t in enumerate(before) if t in SEPARATORS), default=-1) + 1
        command = before[start:]
        if not any(t == "pip" or t.endswith("/pip") for t in command):
            continue
        args = []
        for t in tokens[i + 1 :]:
            if t in SEPARATORS:
                break
            args.append(t)
        installs.append(args)
    return installs


def requirement_files(args: list[str]) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args) if a == "-r"]


def kind(args: list[str]) -> tuple[str, tuple[str, ...]]:
    """('lock', files) for an install of lock files with hashes required, ('project', ())
    for the project without dependencies; anything else is ('other', args)."""
    plain = [a for a in args if a not in {"--no-cache-dir", "--quiet", "-q"}]
    files = requirement_files(plain)
    if "--require-hashes" in plain and files and len(plain) == 1 + 2 * len(files):
        return "lock", tuple(files)
    if set(plain) - {"-e"} == {"--no-deps", "--no-build-isolation", "."}:
        return "project", ()
    return "other", tuple(plain)


def dockerfile_runs(text: str) -> tuple[list[str], list[str]]:
    """The build stage's COPY sources and RUN commands, in order."""
    copies: list[str] = []
    runs: list[str] = []
    joined = re.sub(r"\\\n", " ", text)
    for line in joined.splitlines():
        if line.startswith("FROM ") and runs:
            break  # the final stage installs nothing
        if line.startswith("COPY ") and "--from" not in line:
            copies.extend(line.split()[1:-1])
        elif line.startswith("RUN "):
            runs.append(line[4:])
    return copies, runs


def make_dry_run(target: str, tmp_path: Path) -> str:
    """What `make TARGET` would run from scratch, into a venv that does not exist."""
    result = subprocess.run(
        ["make", "-n", "-B", f"VENV={tmp_path / 'venv'}", f"DATA_DIR={tmp_path / 'node'}", target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def readme_install_block() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### Installing without make", 1)[1]
    return section.split("```sh", 1)[1].split("```", 1)[0]


def test_the_dockerfile_installs_the_runtime_lock_then_the_project() -> None:
    copies, runs = dockerfile_runs((ROOT / "Dockerfile").read_text(encoding="utf-8"))
    installs = [kind(args) for run in runs for args in pip_installs(run)]
    assert installs == [("lock", tuple(RUNTIME_LOCKS)), ("project", ())]
    assert all(lock in copies for lock in RUNTIME_LOCKS), copies


def test_make_run_installs_the_runtime_lock_only(tmp_path: Path) -> None:
    installs = [kind(args) for args in pip_installs(make_dry_run("run", tmp_path))]
    assert installs == [("lock", tuple(RUNTIME_LOCKS)), ("project", ())]


def test_make_test_installs_the_dev_lock_too(tmp_path: Path) -> None:
    installs = [kind(args) for args in pip_installs(make_dry_run("test", tmp_path))]
    assert installs == [
        ("lock", tuple(RUNTIME_LOCKS)),
        ("project", ()),
        ("lock", ("requirements/dev.txt",)),
    ]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci.splitlines()[-1]


def test_the_readme_installs_as_the_dockerfile_does() -> None:
    _copies, runs = dockerfile_runs((ROOT / "Dockerfile").read_text(encoding="utf-8"))
    docker = [kind(args) for run in runs for args in pip_installs(run)]
    readme = [kind(args) for args in pip_installs(readme_install_block())]
    assert readme == docker


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("/opt/v/bin/pip install --no-cache-dir .", [("other", (".",))]),
        (
            "pip install -r requirements/runtime.txt",
            [("other", ("-r", "requirements/runtime.txt"))],
        ),
        (
            "python -m venv /v && /v/bin/pip install --require-hashes -r a.txt && /v/bin/pip "
            "install --no-deps --no-build-isolation .",
            [("lock", ("a.txt",)), ("project", ())],
        ),
        (
            "pip install --require-hashes -r a.txt fastapi",
            [("other", ("--require-hashes", "-r", "a.txt", "fastapi"))],
        ),
    ],
)
def test_the_reading_tells_a_locked_install_from_another(script: str, expected: list) -> None:
    assert [kind(args) for args in pip_installs(script)] == expected
