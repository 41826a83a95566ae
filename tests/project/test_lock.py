"""The lock files pin exactly what pyproject.toml declares, with hashes, and the suite runs on
the versions they pin (what `make` installed). `make lock` refreshes them."""

import dataclasses
import importlib.metadata as md
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.project.lockfiles import declared, problems, read_lock, read_locks


def test_the_lock_files_are_in_step_with_pyproject() -> None:
    assert problems(declared(), read_locks()) == [], "run `make lock`, then `make install`"


def test_the_environment_runs_the_locked_versions() -> None:
    wrong = {
        pin.name: (md.version(pin.name), pin.version)
        for lock in read_locks().values()
        for pin in lock.values()
        if pin.applies() and md.version(pin.name) != pin.version
    }
    assert wrong == {}, "installed != locked: run `make install`"


def _add(kind: str, requirement: str):
    def change(decl, locks):
        decl[kind].append(Requirement(requirement))

    return change


def _narrow(decl, locks):
    decl["runtime"] = [
        Requirement("fastapi>=999") if r.name == "fastapi" else r for r in decl["runtime"]
    ]


def _drop_declared(decl, locks):
    decl["runtime"] = [r for r in decl["runtime"] if r.name != "rapidfuzz"]


def _drop_pin(decl, locks):
    del locks["runtime"][canonicalize_name("greenlet")]


def _unhash(decl, locks):
    pin = locks["dev"][canonicalize_name("pytest")]
    locks["dev"][pin.name] = dataclasses.replace(pin, options=())


def _split(decl, locks):
    pin = locks["dev"][canonicalize_name("httpx")]
    locks["dev"][pin.name] = dataclasses.replace(pin, version="0.27.0")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(_add("runtime", "leftpad>=1"), "leftpad>=1 is not pinned", id="new-dep"),
        pytest.param(_add("dev", "pytest>=99"), "pytest>=99 is pinned at", id="dev-range"),
        pytest.param(_narrow, "fastapi>=999 is pinned at", id="narrowed-range"),
        pytest.param(_drop_declared, "rapidfuzz is pinned in", id="dependency-removed"),
        pytest.param(_drop_pin, "greenlet is needed but not pinned", id="extra-dep-unpinned"),
        pytest.param(_unhash, "pytest has no sha256 hashes", id="no-hash"),
        pytest.param(_split, "httpx is not pinned alike", id="runtime-vs-dev"),
    ],
)
def test_the_check_finds_a_lock_out_of_step(change, expected: str) -> None:
    decl, locks = declared(), read_locks()
    change(decl, locks)
    found = problems(decl, locks)
    assert any(expected in problem for problem in found), found


@pytest.mark.parametrize(
    "line",
    ["-e .", "fastapi>=0.115", "--index-url https://mirror.invalid/simple", "fastapi"],
)
def test_a_lock_line_that_is_not_an_exact_pin_is_refused(tmp_path: Path, line: str) -> None:
    lock = tmp_path / "runtime.txt"
    lock.write_text(f"# a comment\n{line}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not an exact pin"):
        read_lock(lock)


def test_a_pin_with_a_marker_for_another_platform_is_read_and_skipped(tmp_path: Path) -> None:
    lock = tmp_path / "dev.txt"
    lock.write_text(
        "colorama==0.4.6 ; sys_platform == 'nonesuch' \\\n"
        f"    --hash=sha256:{'0' * 64}\n"
        "    # via click\n",
        encoding="utf-8",
    )
    (pin,) = read_lock(lock).values()
    assert (pin.name, pin.version, pin.applies()) == ("colorama", "0.4.6", False)
    assert pin.options == (f"--hash=sha256:{'0' * 64}",)
