"""Every third-party module the code imports comes from a dependency it declares: the packages
from `[project] dependencies` (not from whatever another dependency happens to pull in), the
tests and benchmarks from those or the `dev` extra."""

import ast
import importlib.metadata as md
import sys
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from tests.project.lockfiles import ROOT, declared

FIRST_PARTY = {"keys", "federation", "service", "migrations", "workers", "tests", "bench"}
RUNTIME_CODE = ("keys", "federation", "service", "migrations", "workers")
DEV_CODE = ("tests", "bench")


def imported_modules(directories: tuple[str, ...], root: Path = ROOT) -> dict[str, str]:
    """Top-level third-party modules imported anywhere under `directories` (also inside
    functions, `try` blocks and `if TYPE_CHECKING`), each with the first file importing it."""
    found: dict[str, str] = {}
    for directory in directories:
        for path in sorted((root / directory).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.partition(".")[0]
                    if top not in sys.stdlib_module_names and top not in FIRST_PARTY:
                        found.setdefault(top, str(path.relative_to(root)))
    return found


def undeclared(modules: dict[str, str], allowed: set[str]) -> list[str]:
    providers = md.packages_distributions()
    problems = []
    for module, where in sorted(modules.items()):
        dists = {canonicalize_name(d) for d in providers.get(module, [])}
        if not dists:
            problems.append(f"{where} imports {module}, which no installed distribution provides")
        elif not dists & allowed:
            problems.append(
                f"{where} imports {module} (from {', '.join(sorted(dists))}), not declared"
            )
    return problems


def _names(kind: str) -> set[str]:
    return {canonicalize_name(r.name) for r in declared()[kind]}


def test_the_packages_import_only_declared_runtime_dependencies() -> None:
    assert undeclared(imported_modules(RUNTIME_CODE), _names("runtime")) == []


def test_tests_and_benchmarks_import_only_declared_dependencies() -> None:
    assert undeclared(imported_modules(DEV_CODE), _names("dev")) == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import click\n", "imports click (from click), not declared"),
        ("from yaml import safe_load\n", "imports yaml (from pyyaml), not declared"),
        ("def f():\n    import nosuchmodule_denex\n", "which no installed distribution"),
    ],
)
def test_an_undeclared_import_is_found(tmp_path: Path, source: str, expected: str) -> None:
    (tmp_path / "service").mkdir()
    (tmp_path / "service" / "cli.py").write_text(
        "import os\nfrom service.settings import Settings\n" + source, encoding="utf-8"
    )
    modules = imported_modules(("service",), root=tmp_path)
    found = undeclared(modules, _names("runtime") - {"click"})
    assert len(found) == 1 and expected in found[0], found
