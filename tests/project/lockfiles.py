"""Reading and checking the lock files (requirements/*.txt, written by `make lock`).

A lock file is a pip requirements file as uv writes it with `--generate-hashes`: one
`name==version [; marker]` a requirement, continued with `\\` by its `--hash=sha256:...`
options, and `#` comments. Three of them, each made from pyproject.toml:

* `build.txt`: `[build-system] requires` (setuptools, which builds the project itself);
* `runtime.txt`: `[project] dependencies` and everything they need;
* `dev.txt`: the same plus the `dev` extra, at the same versions.

`problems(...)` compares them with what pyproject.toml declares and with the metadata of the
installed distributions (which `make` installed from these very files): it is the check that
the lock is in step with pyproject.toml, offline.
"""

from __future__ import annotations

import importlib.metadata as md
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK_DIR = ROOT / "requirements"
LOCK_FILES = {"build": "build.txt", "runtime": "runtime.txt", "dev": "dev.txt"}
PIN = re.compile(
    r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)"
    r"(?:\s*;\s*(?P<marker>.+?))?\s*$"
)
HASH = re.compile(r"^--hash=sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class Pin:
    name: NormalizedName
    version: str
    marker: str | None
    options: tuple[str, ...]  # everything after the requirement: its --hash options

    def applies(self) -> bool:
        """Whether pip installs it in this environment (its marker holds here)."""
        if self.marker is None:
            return True
        marker = Requirement(f"x; {self.marker}").marker
        return marker is None or marker.evaluate()


def logical_lines(text: str) -> list[str]:
    """The file's requirement lines: continuations joined, comments dropped."""
    lines: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = "" if raw.lstrip().startswith("#") else raw.split(" #", 1)[0].rstrip()
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current = (current + line).strip()
        if current:
            lines.append(current)
        current = ""
    if current.strip():
        lines.append(current.strip())
    return lines


def read_lock(path: Path) -> dict[NormalizedName, Pin]:
    """Every requirement of a lock file by canonical name. ValueError for a line that is not
    an exact pin (`-e .`, a range, an `--index-url` line...) and for a name pinned twice."""
    pins: dict[NormalizedName, Pin] = {}
    for line in logical_lines(path.read_text(encoding="utf-8")):
        head, *options = re.split(r"\s+(?=--)", line)
        match = PIN.match(head)
        if match is None:
            raise ValueError(f"{path.name}: not an exact pin: {line[:120]}")
        name = canonicalize_name(match["name"])
        if name in pins:
            raise ValueError(f"{path.name}: {name} is pinned twice")
        pins[name] = Pin(name, match["version"], match["marker"], tuple(options))
    return pins


def read_locks(directory: Path = LOCK_DIR) -> dict[str, dict[NormalizedName, Pin]]:
    return {kind: read_lock(directory / file) for kind, file in LOCK_FILES.items()}


def declared(pyproject: Path = ROOT / "pyproject.toml") -> dict[str, list[Requirement]]:
    """pyproject.toml's requirements as the lock files see them: `build`, `runtime`, and `dev`
    (runtime plus the dev extra)."""
    with pyproject.open("rb") as f:
        data = tomllib.load(f)
    runtime = [Requirement(r) for r in data["project"]["dependencies"]]
    extra = [Requirement(r) for r in data["project"]["optional-dependencies"]["dev"]]
    return {
        "build": [Requirement(r) for r in data["build-system"]["requires"]],
        "runtime": runtime,
        "dev": runtime + extra,
    }


Requires = Callable[[str], list[str] | None]  # a distribution's Requires-Dist lines


def closure(roots: Iterable[Requirement], requires: Requires) -> set[NormalizedName]:
    """Every distribution that `roots` need in this environment, markers and extras applied,
    read from the installed metadata. KeyError names a distribution that is not installed."""
    wanted: dict[NormalizedName, set[str]] = {}
    queue = [(root, "") for root in roots]
    while queue:
        requirement, parent_extra = queue.pop()
        if requirement.marker is not None and not requirement.marker.evaluate(
            {"extra": parent_extra}
        ):
            continue
        name = canonicalize_name(requirement.name)
        extras = set(requirement.extras) | {""}
        if extras <= wanted.get(name, set()):
            continue
        wanted.setdefault(name, set()).update(extras)
        for line in requires(name) or []:
            queue.extend((Requirement(line), extra) for extra in extras)
    return set(wanted)


def installed_requires(name: str) -> list[str] | None:
    try:
        return md.requires(name)
    except md.PackageNotFoundError as exc:
        raise KeyError(f"{name} is not installed in this environment (run `make install`)") from exc


def problems(
    declared: Mapping[str, list[Requirement]],
    locks: Mapping[str, Mapping[NormalizedName, Pin]],
    *,
    requires: Requires = installed_requires,
) -> list[str]:
    """What keeps the lock files from being exactly what pyproject.toml declares: a declared
    requirement not pinned or pinned outside its range, a pin without hashes, the runtime
    and dev locks disagreeing, a needed distribution missing, a pin nothing needs."""
    found: list[str] = []
    for kind, requirements in declared.items():
        pins = locks[kind]
        for requirement in requirements:
            pin = pins.get(canonicalize_name(requirement.name))
            if pin is None:
                found.append(f"{requirement} is not pinned in requirements/{LOCK_FILES[kind]}")
            elif not requirement.specifier.contains(Version(pin.version), prereleases=True):
                found.append(
                    f"{requirement} is pinned at {pin.version} in requirements/{LOCK_FILES[kind]}"
                )
        for pin in pins.values():
            if not pin.options or not all(HASH.match(option) for option in pin.options):
                found.append(f"{pin.name} has no sha256 hashes in requirements/{LOCK_FILES[kind]}")
        try:
            needed = closure(requirements, requires)
        except KeyError as exc:
            found.append(str(exc.args[0]))
            continue
        present = {name for name, pin in pins.items() if pin.applies()}
        for name in sorted(needed - present):
            found.append(f"{name} is needed but not pinned in requirements/{LOCK_FILES[kind]}")
        for name in sorted(present - needed):
            found.append(f"{name} is pinned in requirements/{LOCK_FILES[kind]} but not needed")
    for name, pin in locks["runtime"].items():
        if locks["dev"].get(name) != pin:
            found.append(f"{name} is not pinned alike in requirements/runtime.txt and dev.txt")
    return found
