"""A wrong configuration fails the container's init, once, not every event after it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _import_app(language: str) -> subprocess.CompletedProcess[str]:
    """Import the notifier as Lambda does at init, in a fresh process."""
    env = {**os.environ, "MESSAGE_LANGUAGE": language, "POWERTOOLS_TRACE_DISABLED": "true"}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.path[:0] = ['src/notifier', 'src/clear']; import app",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_bad_language_fails_the_import_with_its_name() -> None:
    completed = _import_app("fr")
    assert completed.returncode != 0
    assert "MESSAGE_LANGUAGE" in completed.stderr


def test_a_good_configuration_imports() -> None:
    completed = _import_app("ja")
    assert completed.returncode == 0, completed.stderr
