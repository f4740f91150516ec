"""`--wait` and `apcu-flush status`: the installed program reads GET /flush/{commandId}, served
by the real dispatcher from the command record the real notifier fills in."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from typing import Any

import pytest

from harness import aws_emulator as emulator
from local.api_gateway import in_fresh_process
from local.run import function_env, sns_event
from local.scenarios import SCENARIOS
from tests.cli.conftest import GROUP, Local

UNKNOWN = "5f1e0c1a-1b2c-4d3e-8f4a-0123456789ab"
SERVER_ERROR = {"ok": False, "errorType": "ReadTimeoutError", "errorMessage": "DynamoDB"}


def _sent_command(local: Local, process: subprocess.Popen[str]) -> str:
    """The command the background `clear --wait` sent, once the embedded SSM has it."""
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
    """Returns once the waiting program has been answered a status read at least once."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if local.gateway.status_reads_answered():
            return
        time.sleep(0.2)
    raise AssertionError("apcu-flush never read the command's status")


def judge(local: Local, command_id: str, scenario: str) -> str:
    """The fleet answers as the scenario says, SSM notifies, the real notifier records a verdict."""
    outcome = SCENARIOS[scenario].fleet(local.aws, local.stack, command_id)
    event = sns_event(local.aws, local.stack, command_id, outcome.status)
    notifier = in_fresh_process(
        function_env(local.aws, local.stack, "notifier", "en"), local.function.log, "notifier"
    )
    result = notifier(event)
    assert result["ok"], result
    verdicts = [o["verdict"] for o in result["result"]["outcomes"]]
    assert len(verdicts) == 1
    return str(verdicts[0])


@pytest.mark.parametrize(
    ("scenario", "code", "headline"),
    [
        ("ok", 0, "ok: 3 of 3 targeted instances cleared their cache"),
        (
            "mismatch",
            1,
            "ALERT mismatch: 3 of 3 targeted instances cleared their cache; the group expects 4",
        ),
        ("failed", 1, "ALERT failed: 2 of 3 targeted instances cleared their cache"),
    ],
)
def test_wait_exits_with_the_verdict(local: Local, scenario: str, code: int, headline: str) -> None:
    # Given `clear --wait` running in a pipeline (no terminal) that has read the status once,
    process = local.start("clear", GROUP, "--wait", "--timeout", "120")
    command_id = _sent_command(local, process)
    _status_read(local, process)
    # When the fleet answers and the notifier records its verdict,
    judge(local, command_id, scenario)
    stdout, stderr = process.communicate(timeout=120)
    # Then it exits with the verdict, which it prints in a few lines.
    assert process.returncode == code, stderr
    assert stdout.splitlines()[0] == headline
    assert command_id in stdout
    assert f"sent: command {command_id}" in stderr
    assert "running" in stderr, "a pipeline log shows the state while it waits"


def test_an_alert_names_the_instance_at_fault(local: Local) -> None:
    # Given a clear one web node fails (APCu off: 503), When the pipeline waits with --json,
    process = local.start("clear", GROUP, "--wait", "--json")
    command_id = _sent_command(local, process)
    judge(local, command_id, "failed")
    stdout, stderr = process.communicate(timeout=120)
    # Then exit 1, and the JSON names the instance and what it said.
    assert process.returncode == 1
    answer = json.loads(stdout)
    assert (answer["state"], answer["verdict"]["kind"]) == ("judged", "failed")
    [problem] = answer["verdict"]["problems"]
    assert problem["instanceId"] == emulator.targeted_instances(command_id)[0]
    assert problem["status"] == "Failed"
    assert "503" in problem["detail"]
    assert stderr == "", "--json prints only the final JSON"
    # The same verdict read by a person: the instance on a line of its own.
    shown = local.run("status", command_id)
    assert f"  {problem['instanceId']}  Failed  curl: (22)" in shown.stdout


def test_wait_gives_up_with_3_at_the_timeout(local: Local) -> None:
    # Given a command nobody judges, When the timeout passes, Then exit 3 with the last state.
    completed = local.run("clear", GROUP, "--wait", "--timeout", "2", "--json")
    assert completed.returncode == 3
    answer = json.loads(completed.stdout)
    assert answer["error"]["kind"] == "timed-out"
    assert answer["commandId"] == local.commands()[0]["CommandId"]
    assert answer["last"]["state"] == "running"


def test_status_reads_a_running_then_a_judged_command(local: Local) -> None:
    sent = local.run("clear", GROUP, "--json")
    command_id = json.loads(sent.stdout)["commandId"]
    running = local.run("status", command_id)
    assert running.returncode == 0
    assert running.stdout.startswith("running")
    judge(local, command_id, "mismatch")
    judged = local.run("status", command_id)
    assert judged.returncode == 1
    assert judged.stdout.startswith("ALERT mismatch")
    waited = local.run("status", command_id, "--wait", "--json")
    assert waited.returncode == 1
    assert json.loads(waited.stdout)["verdict"]["kind"] == "mismatch"


@pytest.mark.parametrize(
    ("command_id", "status"),
    [(UNKNOWN, 404), ("not-a-command-id", 400)],
    ids=["unknown", "malformed"],
)
def test_status_of_a_command_the_stack_never_sent_exits_2(
    local: Local, command_id: str, status: int
) -> None:
    completed = local.run("status", command_id, "--wait")
    assert completed.returncode == 2
    assert f"refused ({status}, commandId)" in completed.stderr


def test_a_server_error_while_waiting_is_retried(local: Local) -> None:
    # Given a status read that fails once (the function raises; API Gateway answers 500),
    failures = iter([True])

    def flaky(event: dict[str, Any]) -> dict[str, Any]:
        if event["routeKey"].startswith("GET") and next(failures, False):
            return SERVER_ERROR
        return local.function.dispatcher(event)

    local.function.stand_in = flaky
    process = local.start("clear", GROUP, "--wait")
    command_id = _sent_command(local, process)
    _status_read(local, process)
    judge(local, command_id, "ok")
    stdout, stderr = process.communicate(timeout=120)
    # Then the wait goes on and ends with the verdict.
    assert process.returncode == 0, stderr
    assert stdout.startswith("ok:")


def test_a_server_error_that_lasts_exits_4(local: Local) -> None:
    def broken(event: dict[str, Any]) -> dict[str, Any]:
        if event["routeKey"].startswith("GET"):
            return SERVER_ERROR
        return local.function.dispatcher(event)

    local.function.stand_in = broken
    completed = local.run("clear", GROUP, "--wait")
    assert completed.returncode == 4
    assert "the API answered 500: Internal Server Error" in completed.stderr


def test_ctrl_c_while_waiting_says_how_to_resume(local: Local) -> None:
    # Whether the tests run from a terminal or as a background job (`nohup make test &`, whose
    # children inherit SIGINT ignored), the program starts as from a terminal.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        process = local.start("clear", GROUP, "--wait")
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        command_id = _sent_command(local, process)
        _status_read(local, process)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()  # nothing if it ended; else it would wait out its 3600 s
    assert process.returncode == 130
    assert f"apcu-flush status {command_id} --wait" in stderr


def test_a_command_sent_without_its_record_exits_4(local: Local) -> None:
    # Given a clear the API accepted but could not record (its status route answers 404),
    def unrecorded(event: dict[str, Any]) -> dict[str, Any]:
        if event["routeKey"].startswith("GET"):
            event = {**event, "pathParameters": {"commandId": UNKNOWN}}
        return local.function.dispatcher(event)

    local.function.stand_in = unrecorded
    completed = local.run("clear", GROUP, "--wait")
    # Then waiting cannot bring its verdict: a server-side failure, not a refusal.
    assert completed.returncode == 4
    assert "the API kept no record of it" in completed.stderr


def _resets_with_preload(local: Local, command_id: str) -> None:
    """reset-opcache: every restart took, one left its preloaded scripts (old code runs)."""
    targets = sorted(emulator.targeted_instances(command_id))
    results = {i: emulator.opcache_reset(scripts=4000) for i in targets}
    results[targets[0]] = emulator.opcache_reset(scripts=4000, caveats=("preload",))
    emulator.settle_command(command_id, results)


def test_wait_on_reset_opcache_shows_its_counts_and_exits_1_on_old_code(local: Local) -> None:
    # Given a pipeline's gate after a deploy: reset OPcache and wait for the verdict
    process = local.start("clear", GROUP, "--action", "reset-opcache", "--wait")
    command_id = _sent_command(local, process)
    assert local.commands()[0]["Parameters"] == {"action": ["reset-opcache"], "prefix": [""]}
    # When every restart took but one instance keeps its preloaded scripts
    _resets_with_preload(local, command_id)
    event = sns_event(local.aws, local.stack, command_id, "Success")
    notifier = in_fresh_process(
        function_env(local.aws, local.stack, "notifier", "en"), local.function.log, "notifier"
    )
    assert notifier(event)["ok"]
    stdout, stderr = process.communicate(timeout=120)
    # Then the gate stops (exit 1) and says what was reset and where old code still runs
    assert process.returncode == 1, stderr
    lines = stdout.splitlines()
    assert lines[0] == "ALERT old code: 3 of 3 targeted instances reset OPcache"
    assert "  OPcache: reset on 3 instances, 12000 compiled scripts dropped" in lines
    stale = sorted(emulator.targeted_instances(command_id))[0]
    assert (
        f"  old code may still run, preloaded scripts stay until php-fpm reloads: {stale}" in lines
    )
    assert f"resets OPcache on group {GROUP}" in stderr
    # and --json has the same counts for a program to read
    shown = json.loads(local.run("status", command_id, "--json").stdout)
    assert shown["action"] == "reset-opcache"
    assert shown["verdict"]["opcache"]["preload"] == [stale]
    assert "apcu" not in shown["verdict"]
