"""`--wait` and `apcu-flush status`: the installed program reads GET /flush/{commandId}."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest

from harness import aws_emulator as emulator
from tests.cli.conftest import GROUP, Local
from tests.cli.status_route import StatusRoute

UNKNOWN = "5f1e0c1a-1b2c-4d3e-8f4a-0123456789ab"


@pytest.fixture
def status_route(local: Local) -> StatusRoute:
    route = StatusRoute(local.aws, local.function.dispatcher)
    local.servers.function.stand_in = route
    return route


def _sent_command(local: Local, process: subprocess.Popen[str]) -> str:
    """The command the background `clear --wait` sent, once moto has it."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if commands := local.commands():
            return str(commands[0]["CommandId"])
        if process.poll() is not None:
            break
        time.sleep(0.2)
    process.kill()
    _, stderr = process.communicate()
    raise AssertionError(f"no command was sent; apcu-flush said: {stderr}")


def _status_read(local: Local, process: subprocess.Popen[str]) -> None:
    """Returns once the waiting program has read the status at least once."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if any(e["routeKey"].startswith("GET") for e in local.gateway.events):
            return
        time.sleep(0.2)
    raise AssertionError("apcu-flush never read the command's status")


def _verdict(kind: str, alert: bool, *, succeeded: int, missing: list[str]) -> dict[str, Any]:
    return {
        "kind": kind,
        "alert": alert,
        "expected": 3 + len(missing) if missing else 3,
        "targeted": succeeded,
        "succeeded": succeeded,
        "missingInstances": missing,
        "problems": [],
        "postedAt": "2026-11-29T05:22:41Z",
        "via": "sns",
    }


Judge = Callable[[Local, StatusRoute, str], str]


def judged_ok(local: Local, route: StatusRoute, command_id: str) -> str:
    targets = emulator.targeted_instances(command_id)
    emulator.settle_command(command_id, {i: emulator.ok() for i in targets})
    route.verdicts[command_id] = _verdict("ok", False, succeeded=len(targets), missing=[])
    return "ok"


def judged_mismatch(local: Local, route: StatusRoute, command_id: str) -> str:
    targets = emulator.targeted_instances(command_id)
    emulator.settle_command(command_id, {i: emulator.ok() for i in targets})
    route.verdicts[command_id] = _verdict(
        "mismatch", True, succeeded=len(targets), missing=["i-0123456789abcdef0"]
    )
    return "mismatch"


@pytest.mark.parametrize(
    ("judge", "code", "headline"),
    [
        (judged_ok, 0, "ok: 3 of 3 targeted instances cleared their cache"),
        (
            judged_mismatch,
            1,
            "ALERT mismatch: 3 of 3 targeted instances cleared their cache; the group expects 4",
        ),
    ],
    ids=["ok-exits-0", "alert-exits-1"],
)
def test_wait_exits_with_the_verdict(
    local: Local, status_route: StatusRoute, judge: Judge, code: int, headline: str
) -> None:
    # Given `clear --wait` running in a pipeline (no terminal),
    process = local.start("clear", GROUP, "--wait", "--timeout", "120")
    command_id = _sent_command(local, process)
    _status_read(local, process)
    # When the command is judged,
    judge(local, status_route, command_id)
    stdout, stderr = process.communicate(timeout=120)
    # Then it exits with the verdict, which it prints in a few lines.
    assert process.returncode == code, stderr
    assert stdout.splitlines()[0] == headline
    assert command_id in stdout
    assert f"sent: command {command_id}" in stderr
    assert "running" in stderr, "a pipeline log shows the state while it waits"


def test_an_alert_names_the_instances_that_never_ran_it(
    local: Local, status_route: StatusRoute
) -> None:
    process = local.start("clear", GROUP, "--wait", "--json")
    command_id = _sent_command(local, process)
    judged_mismatch(local, status_route, command_id)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 1
    answer = json.loads(stdout)
    assert answer["state"] == "judged"
    assert answer["verdict"]["missingInstances"] == ["i-0123456789abcdef0"]
    assert stderr == "", "--json prints only the final JSON"


def test_wait_gives_up_with_3_at_the_timeout(local: Local, status_route: StatusRoute) -> None:
    # Given a command nobody judges, When the timeout passes, Then exit 3 with the last state.
    completed = local.run("clear", GROUP, "--wait", "--timeout", "2", "--json")
    assert completed.returncode == 3
    answer = json.loads(completed.stdout)
    assert answer["error"]["kind"] == "timed-out"
    assert answer["commandId"] == local.commands()[0]["CommandId"]
    assert answer["last"]["state"] == "running"


def test_status_reads_a_judged_command(local: Local, status_route: StatusRoute) -> None:
    sent = local.run("clear", GROUP, "--json")
    command_id = json.loads(sent.stdout)["commandId"]
    running = local.run("status", command_id)
    assert running.returncode == 0
    assert running.stdout.startswith("running")
    judged_mismatch(local, status_route, command_id)
    judged = local.run("status", command_id)
    assert judged.returncode == 1
    assert judged.stdout.startswith("ALERT mismatch")
    waited = local.run("status", command_id, "--wait")
    assert waited.returncode == 1


@pytest.mark.parametrize(
    ("command_id", "status"),
    [(UNKNOWN, 404), ("not-a-command-id", 400)],
    ids=["unknown", "malformed"],
)
def test_status_of_a_command_the_stack_never_sent_exits_2(
    local: Local, status_route: StatusRoute, command_id: str, status: int
) -> None:
    completed = local.run("status", command_id, "--wait")
    assert completed.returncode == 2
    assert f"refused ({status})" in completed.stderr


def test_a_server_error_while_waiting_is_retried(local: Local, status_route: StatusRoute) -> None:
    # Given a status read that fails once (API Gateway answers 500),
    failures = iter([True])

    def flaky(event: dict[str, Any]) -> dict[str, Any]:
        if event["routeKey"].startswith("GET") and next(failures, False):
            return {"ok": False, "errorType": "ReadTimeoutError", "errorMessage": "DynamoDB"}
        if event["routeKey"].startswith("GET"):
            judged_ok(local, status_route, event["pathParameters"]["commandId"])
        return status_route(event)

    local.servers.function.stand_in = flaky
    completed = local.run("clear", GROUP, "--wait")
    # Then the wait goes on and ends with the verdict.
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("ok:")


def test_a_server_error_that_lasts_exits_4(local: Local, status_route: StatusRoute) -> None:
    def broken(event: dict[str, Any]) -> dict[str, Any]:
        if event["routeKey"].startswith("GET"):
            return {"ok": False, "errorType": "ReadTimeoutError", "errorMessage": "DynamoDB"}
        return status_route(event)

    local.servers.function.stand_in = broken
    completed = local.run("clear", GROUP, "--wait")
    assert completed.returncode == 4
    assert "the API answered 500: Internal Server Error" in completed.stderr


def test_ctrl_c_while_waiting_says_how_to_resume(local: Local, status_route: StatusRoute) -> None:
    process = local.start("clear", GROUP, "--wait")
    command_id = _sent_command(local, process)
    _status_read(local, process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert f"apcu-flush status {command_id} --wait" in stderr
