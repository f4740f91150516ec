"""The notifier's modules import one way (handler -> watchdog -> posting -> runtime), so each
can be read, imported and tested without the ones above it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "notifier" / "apcu_notifier"


def imports_of(module: str) -> set[str]:
    """The apcu_notifier modules `module` imports anywhere, TYPE_CHECKING blocks included."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "apcu_notifier":
                found.update(alias.name for alias in node.names)
            elif node.module.startswith("apcu_notifier."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("apcu_notifier."):
                    found.add(alias.name.split(".")[1])
    return found - {module}


MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__")
GRAPH = {module: imports_of(module) for module in MODULES}


def test_the_runtime_imports_none_of_the_modules_that_use_it() -> None:
    assert GRAPH["runtime"].isdisjoint({"handler", "posting", "watchdog"})
    assert "handler" not in GRAPH["posting"]
    assert "handler" not in GRAPH["watchdog"]
    assert "watchdog" not in GRAPH["posting"]


def test_no_module_of_the_notifier_imports_itself_through_others() -> None:
    def cycle_from(start: str, path: tuple[str, ...]) -> tuple[str, ...] | None:
        for imported in sorted(GRAPH.get(path[-1], set())):
            if imported == start:
                return (*path, start)
            if imported not in path:
                found = cycle_from(start, (*path, imported))
                if found:
                    return found
        return None

    cycles = [c for m in MODULES if (c := cycle_from(m, (m,)))]
    assert cycles == [], "import cycle: " + "; ".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("module", ["runtime", "posting", "watchdog"])
def test_each_layer_imports_first_in_a_fresh_interpreter(module: str) -> None:
    # No environment: only the handler reads it when imported.
    paths = [str(ROOT / "src" / "notifier"), str(ROOT / "src" / "clear")]
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sys; sys.path[:0] = {paths!r}; import apcu_notifier.{module}",
        ],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
