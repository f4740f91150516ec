"""The README's exit-code table, row by row, against the installed `apcu-flush`.

A pipeline branches on these codes, and learns them from README.md's table ("From a
pipeline"). The table is read from README.md: each case below names the words of the row it
proves, runs the program into that situation against the local API and the real dispatcher
(and the clear's durable execution, for a verdict), and checks the code. The table must list exactly the codes the
program has, each proved by at least one case.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from apcu_flush.exits import Exit
from harness.stack import GROUP
from tests.cli.fleet import OUTCOMES
from tests.cli.pipeline import FAST, Local
from tests.cli.test_api_url import closed_port
from tests.cli.test_clear import raises
from tests.cli.test_status import failing_clear

README = Path(__file__).resolve().parents[2] / "README.md"
TABLE_HEADER = "| exit | meaning | a pipeline should |"


def readme_exit_codes() -> dict[int, str]:
    """README.md's exit-code table: each code and its meaning, as a reader sees it."""
    text = README.read_text(encoding="utf-8")
    assert text.count(TABLE_HEADER) == 1, f"README.md has no single table {TABLE_HEADER}"
    lines = text[text.index(TABLE_HEADER) :].splitlines()
    assert re.fullmatch(r"\|(-+\|)+", lines[1]), lines[1]
    rows: dict[int, str] = {}
    for line in lines[2:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split(" | ")]
        assert len(cells) == 3 and cells[0].isdigit(), (
            f"not a row of code, meaning, what to do: {line}"
        )
        assert int(cells[0]) not in rows, f"code {cells[0]} twice in the table"
        rows[int(cells[0])] = cells[1]
    return rows


@dataclass(frozen=True)
class Ended:
    code: int
    stdout: str
    stderr: str


def _run(
    local: Local, *args: str, env: dict[str, str] | None = None, api_url: bool = True
) -> Ended:
    done = local.run(*args, env=env, api_url=api_url)
    return Ended(done.returncode, done.stdout, done.stderr)


def _waited_for(verdict: str) -> Callable[[Local], Ended]:
    """`clear --wait` in a pipeline while the fleet answers and the clear judges `verdict`."""

    def case(local: Local) -> Ended:
        process = local.start("clear", GROUP, "--wait", "--timeout", "120", *FAST)
        command_id = local.sent_command(process)
        assert local.judge(command_id, OUTCOMES[verdict]) == verdict
        stdout, stderr = process.communicate(timeout=120)
        return Ended(process.returncode, stdout, stderr)

    return case


def _no_region(local: Local) -> Ended:
    # A URL that names no region (not an execute-api host), and none configured
    return _run(local, "clear", GROUP, env=local.env(AWS_REGION=None, AWS_DEFAULT_REGION=None))


def _no_region_for_the_stack(local: Local) -> Ended:
    env = local.env(AWS_REGION=None, AWS_DEFAULT_REGION=None)
    return _run(local, "clear", GROUP, "--stack", "apcu-fleet-flush-local", env=env, api_url=False)


def _no_credentials(local: Local) -> Ended:
    env = local.env(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None, AWS_SESSION_TOKEN=None)
    return _run(local, "clear", GROUP, env=env)


def _failed_before_its_verdict(local: Local) -> Ended:
    process, _, stdout, stderr = failing_clear(local)
    return Ended(process.returncode, stdout, stderr)


def _server_error(local: Local) -> Ended:
    local.front.stand_in = raises
    return _run(local, "clear", GROUP, "--wait")


@dataclass(frozen=True)
class Case:
    code: int
    row_says: str  # words of the README's row for `code` that this case proves
    run: Callable[[Local], Ended]


CASES = {
    "ok verdict": Case(0, "the verdict is ok", _waited_for("ok")),
    "accepted without --wait": Case(
        0, "the command was accepted", lambda local: _run(local, "clear", GROUP)
    ),
    "alert verdict": Case(1, "the verdict is an alert", _waited_for("mismatch")),
    "refused by the API": Case(
        2,
        "the API refused the request",
        lambda local: _run(local, "clear", GROUP, "--prefix", "a b;rm -rf /", "--wait"),
    ),
    "no API URL": Case(2, "no API URL", lambda local: _run(local, "clear", GROUP, api_url=False)),
    "not a URL": Case(
        2,
        "an API URL that is not a URL",
        lambda local: _run(local, "clear", GROUP, "--api-url", "notaurl", api_url=False),
    ),
    "no region to sign for": Case(2, "no region to sign for", _no_region),
    "no region for --stack": Case(2, "no region", _no_region_for_the_stack),
    "wait gave up": Case(
        3,
        "`--wait` gave up",
        lambda local: _run(local, "clear", GROUP, "--wait", "--timeout", "1", *FAST),
    ),
    "no credentials": Case(4, "no credentials", _no_credentials),
    "no network": Case(
        4,
        "no network",
        lambda local: _run(
            local,
            "clear",
            GROUP,
            "--api-url",
            f"http://127.0.0.1:{closed_port()}/flush",
            api_url=False,
        ),
    ),
    "server error": Case(4, "a server error (5xx)", _server_error),
    "failed before its verdict": Case(
        4, "a clear that failed before its verdict", _failed_before_its_verdict
    ),
}


def test_the_readme_lists_exactly_the_codes_the_program_exits_with() -> None:
    documented = set(readme_exit_codes())
    assert documented == {int(code) for code in Exit}, "README.md's table against apcu_flush.exits"
    assert documented == {case.code for case in CASES.values()}, "a row no case below proves"


@pytest.mark.parametrize("name", CASES)
def test_each_row_of_the_readmes_table_is_the_code_the_program_exits_with(
    local: Local, name: str
) -> None:
    case = CASES[name]
    rows = readme_exit_codes()
    # The README says this situation is this code
    assert case.code in rows, f"README.md's table has no row {case.code}"
    assert case.row_says in rows[case.code], (case.code, rows[case.code])

    ended = case.run(local)

    # and the installed program exits with it, its last word on stderr saying why when it is
    # not a verdict
    assert ended.code == case.code, (ended.stdout, ended.stderr)
    if case.code in (Exit.REFUSED, Exit.TIMED_OUT, Exit.FAILED):
        assert ended.stderr.splitlines()[-1].startswith("apcu-flush: "), ended.stderr
