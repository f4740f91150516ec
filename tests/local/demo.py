"""Running the demo as the README says to, and reading what it printed."""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Printed:
    returncode: int
    stdout: str
    stderr: str
    out: Path

    def scenario(self, name: str, heading: str = "scenario") -> str:
        """What one scenario printed, up to the next scenario."""
        start = self.stdout.index(f"\n{heading} {name}:")
        rest = self.stdout[start + 1 :]
        following = [rest.find(f"\n{h} ", 1) for h in ("scenario", "deploy gate on scenario")]
        ends = [i for i in following if i > 0]
        return rest[: min(ends)] if ends else rest

    def step(self, name: str, starts: str) -> str:
        """The step of a scenario whose line starts this way, with what is printed under it."""
        text = self.scenario(name)
        start = text.index(f"] {starts}")
        end = text.find("\n  [", start)
        return text[start : end if end > 0 else len(text)]

    def slack(self, name: str) -> dict[str, Any]:
        recorded: dict[str, Any] = json.loads(
            (self.out / f"{name}.slack.json").read_text(encoding="utf-8")
        )
        return recorded


def shared_run(tmp_path_factory: pytest.TempPathFactory, name: str, *args: str) -> Printed:
    """One run of the demo for the whole test session, however many pytest-xdist workers ask for
    it: the first runs it, the others wait for it and read what it printed. (A module-scoped
    fixture would run it once per worker that gets one of the module's tests.)"""
    session = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if session is None:
        return run_demo(tmp_path_factory.mktemp(name), *args)
    shared = tmp_path_factory.getbasetemp().parent / f"{name}-{session}"
    shared.mkdir(exist_ok=True)
    with (shared / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        saved = shared / "printed.json"
        if not saved.exists():
            printed = run_demo(shared, *args)
            fields = {"returncode": printed.returncode, "stdout": printed.stdout}
            saved.write_text(json.dumps({**fields, "stderr": printed.stderr}), encoding="utf-8")
        return Printed(**json.loads(saved.read_text(encoding="utf-8")), out=shared)


def run_demo(out: Path, *args: str) -> Printed:
    completed = subprocess.run(
        [sys.executable, "-m", "local.run", "--out", str(out), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return Printed(completed.returncode, completed.stdout, completed.stderr, out)


def barred(text: str) -> list[str]:
    """The lines printed under a bar: Slack's messages, the execution history."""
    return [line.split("│ ", 1)[1] for line in text.splitlines() if "│ " in line]


def seconds(summary: str) -> float:
    found = re.search(r"ended as expected \((\d+\.\d) s\)", summary)
    assert found, summary
    return float(found.group(1))
