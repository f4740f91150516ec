"""The Makefile as a newcomer meets it: `make help` shows every target, and the demo speaks the
language asked for. `make -n` prints what a target would run without running it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAKE = shutil.which("make")


def _make(*args: str, **env: str) -> str:
    assert MAKE, "make is part of the toolchain the project needs"
    environment = {k: v for k, v in os.environ.items() if k not in {"LANGUAGE", "MESSAGE_LANGUAGE"}}
    completed = subprocess.run(
        [MAKE, "--no-print-directory", *args],
        cwd=ROOT,
        env={**environment, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return completed.stdout


def _targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    # A rule line "name: ...", not a variable "name := ..." nor a special target ".PHONY: ...".
    return {m.group(1) for m in re.finditer(r"^([a-z][a-z-]*):(?!=)", text, re.MULTILINE)}


def test_make_help_lists_every_target() -> None:
    listed = {line.split()[0] for line in _make("help").splitlines() if line.strip()}
    assert _targets() <= listed, sorted(_targets() - listed)


def _demo_command(*args: str, **env: str) -> str:
    lines = [line for line in _make("-n", "demo", *args, **env).splitlines() if "local.run" in line]
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize(
    ("args", "env", "language"),
    [
        ((), {}, "en"),
        (("LANGUAGE=ja",), {}, "ja"),
        ((), {"MESSAGE_LANGUAGE": "ja"}, "ja"),
        # In the environment LANGUAGE is gettext's locale list, not a choice for the demo.
        ((), {"LANGUAGE": "en_US:en"}, "en"),
        (("SCENARIO=partial", "LANGUAGE=ja"), {"LANGUAGE": "en_US:en"}, "ja"),
    ],
)
def test_the_demo_speaks_the_language_asked_for(
    args: tuple[str, ...], env: dict[str, str], language: str
) -> None:
    assert _demo_command(*args, **env).endswith(f"--lang {language}")


def test_the_virtualenvs_install_the_pinned_versions() -> None:
    dry_run = _make("-n", "-B", ".venv/.installed", ".venv-sam/.installed")
    assert "-c constraints.txt -r requirements-dev.txt" in dry_run
    assert "-c constraints-sam.txt aws-sam-cli" in dry_run
    # The first run takes half a minute: it says what it is doing before it starts.
    assert dry_run.index("echo") < dry_run.index("pip install")
