"""What `apcu-flush --help` tells a newcomer: where the API URL comes from, and the exit codes."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from apcu_flush.exits import Exit

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("command", [[], ["clear"], ["status"]], ids=["top", "clear", "status"])
def test_every_help_names_the_environment_variable_for_the_api_url(
    apcu_flush: Path, command: list[str]
) -> None:
    shown = subprocess.run(
        [str(apcu_flush), *command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "APCU_FLUSH_API_URL" in shown
    assert "--pause-scale" not in shown, "the tests' own option stays hidden"


def test_the_readmes_exit_table_has_the_callers_mistakes_under_2() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### From a pipeline") :]
    rows = dict(re.findall(r"^\| (\d) \| (.+?) \|", section, flags=re.MULTILINE))
    assert sorted(int(code) for code in rows) == sorted(int(e) for e in Exit)
    for mistake in ("no API URL", "not a URL", "no region"):
        assert mistake in rows[str(int(Exit.REFUSED))], mistake
        assert mistake not in rows[str(int(Exit.FAILED))], mistake
    assert "throttled" in rows[str(int(Exit.FAILED))]
