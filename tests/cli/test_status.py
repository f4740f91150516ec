"""`--wait` and `apcu-flush status`: the installed program reads GET /flush/{commandId}, served
by the real dispatcher from the clear's record, where the clear's durable execution records its
verdict once the fleet has ended the command."""

from __future__ import annotations

import json
import signal
import subprocess
from dataclasses import dataclass
from typing import Any

import pytest

from harness import aws_emulator as emulator
from harness.aws_emulator import InvocationResult
from harness.durable_lambda import ExecutionFailed
from harness.stack import GROUP
from tests.cli.fleet import OUTCOMES, Fleet
from tests.cli.pipeline import FAST, Local
from tests.faults import Faults, injected

UNKNOWN = "5f1e0c1a-1b2c-4d3e-8f4a-0123456789ab"


@pytest.mark.parametrize(
    ("outcome", "code", "headline"),
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
def test_wait_exits_with_the_verdict(local: Local, outcome: str, code: int, headline: str) -> None:
    # Given `clear --wait` running in a pipeline (no terminal) that has read the status once,
    process = local.start("clear", GROUP, "--wait", "--timeout", "120", *FAST)
    command_id = local.sent_command(process)
    local.status_read(process)
    # When the fleet ends the command and the clear records its verdict,
    assert local.judge(command_id, OUTCOMES[outcome]) == outcome
    stdout, stderr = process.communicate(timeout=120)
    # Then it exits with the verdict, which it prints in a few lines.
    assert process.returncode == code, stderr
    assert stdout.splitlines()[0] == headline
    assert command_id in stdout
    assert f"sent: command {command_id}" in stderr
    assert "running" in stderr, "a pipeline log shows the state while it waits"


def test_an_alert_names_the_instance_at_fault(local: Local) -> None:
    # Given a clear one web node fails (APCu off: 503), When the pipeline waits with --json,
    process = local.start("clear", GROUP, "--wait", "--json", *FAST)
    command_id = local.sent_command(process)
    local.judge(command_id, OUTCOMES["failed"])
    stdout, stderr = process.communicate(timeout=120)
    # Then exit 1, and the JSON names the instance and what it said.
    assert process.returncode == 1
    answer = json.loads(stdout)
    assert (answer["state"], answer["verdict"]["kind"]) == ("judged", "failed")
    [problem] = answer["verdict"]["problems"]
    assert problem["instanceId"] == sorted(emulator.targeted_instances(command_id))[0]
    assert problem["status"] == "Failed"
    assert "503" in problem["detail"]
    assert stderr == "", "--json prints only the final JSON"
    # The same verdict read by a person: the instance on a line of its own.
    shown = local.run("status", command_id)
    assert f"  {problem['instanceId']}  Failed  curl: (22)" in shown.stdout


def test_wait_waits_through_the_clears_automatic_retry_for_its_verdict(local: Local) -> None:
    # Given a clear whose command misses a node (its agent never picked it up in time),
    process = local.start("clear", GROUP, "--wait", "--json", *FAST)
    command_id = local.sent_command(process)
    local.status_read(process)
    slow = sorted(emulator.targeted_instances(command_id))[-1]

    def delivery_times_out(fleet: Fleet, command_id: str) -> None:
        targets = emulator.targeted_instances(command_id)
        results = fleet.results(command_id, targets)
        results[slow] = InvocationResult(status="TimedOut", status_details="DeliveryTimedOut")
        emulator.settle_command(command_id, results, status="TimedOut")

    # When the clear's automatic retry round clears that node,
    assert local.judge(command_id, delivery_times_out) == "ok"
    stdout, stderr = process.communicate(timeout=120)
    # Then the wait ends with the clear's verdict, not the first command's: ok, exit 0.
    assert process.returncode == 0, stderr
    verdict = json.loads(stdout)["verdict"]
    assert (verdict["kind"], verdict["attempts"]) == ("ok", 2)
    assert len(local.fleet.sent_to(slow)) == 2


def test_wait_gives_up_with_3_at_the_timeout(local: Local) -> None:
    # Given a command that never ends, When the timeout passes, Then exit 3 with the last state.
    completed = local.run("clear", GROUP, "--wait", "--timeout", "1", "--json", *FAST)
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
    local.judge(command_id, OUTCOMES["mismatch"])
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
            raise RuntimeError("the function failed")
        return local.front.dispatcher(event)

    local.front.stand_in = flaky
    process = local.start("clear", GROUP, "--wait", *FAST)
    command_id = local.sent_command(process)
    local.status_read(process)
    local.judge(command_id, OUTCOMES["ok"])
    stdout, stderr = process.communicate(timeout=120)
    # Then the wait goes on and ends with the verdict.
    assert process.returncode == 0, stderr
    assert stdout.startswith("ok:")


def test_a_server_error_that_lasts_exits_4(local: Local) -> None:
    def broken(event: dict[str, Any]) -> dict[str, Any]:
        if event["routeKey"].startswith("GET"):
            raise RuntimeError("the function failed")
        return local.front.dispatcher(event)

    local.front.stand_in = broken
    completed = local.run("clear", GROUP, "--wait", *FAST)
    assert completed.returncode == 4
    assert "the API answered 500: Internal Server Error" in completed.stderr


def test_ctrl_c_while_waiting_says_how_to_resume(local: Local) -> None:
    # Whether the tests run from a terminal or as a background job (`nohup make test &`, whose
    # children inherit SIGINT ignored), the program starts as from a terminal.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        process = local.start("clear", GROUP, "--wait", *FAST)
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        command_id = local.sent_command(process)
        local.status_read(process)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()  # nothing if it ended; else it would wait out its 3600 s
    assert process.returncode == 130
    assert f"apcu-flush status {command_id} --wait" in stderr
    # and the clear runs on: its verdict comes, and `status` reads it.
    local.judge(command_id, OUTCOMES["ok"])
    assert local.run("status", command_id).stdout.startswith("ok:")


def test_a_command_sent_without_its_record_exits_4(local: Local) -> None:
    # Given a clear the API accepted but could not record (its status route answers 404),
    def unrecorded(event: dict[str, Any]) -> dict[str, Any]:
        if event["routeKey"].startswith("GET"):
            path = f"/flush/{UNKNOWN}"
            http = {**event["requestContext"]["http"], "path": path}
            event = {
                **event,
                "rawPath": path,
                "pathParameters": {"commandId": UNKNOWN},
                "requestContext": {**event["requestContext"], "http": http},
            }
        return local.front.dispatcher(event)

    local.front.stand_in = unrecorded
    completed = local.run("clear", GROUP, "--wait", *FAST)
    # Then waiting cannot bring its verdict: a server-side failure, not a refusal.
    assert completed.returncode == 4
    assert "the API kept no record of it" in completed.stderr


@dataclass
class Failing(Faults):
    """AWS fails every call of the operation (HTTP 500), past every retry."""

    def hit(self, service: str, operation: str, number: int) -> bool:
        return operation == self.operation


def failing_clear(local: Local) -> tuple[subprocess.Popen[str], str, str, str]:
    """`clear --wait` in a pipeline while SSM fails every read of the command's invocations
    (HTTP 500), past the clear's retries: the program, the command, its stdout and stderr."""
    process = local.start("clear", GROUP, "--wait", "--timeout", "120", *FAST)
    command_id = local.sent_command(process)
    local.status_read(process)
    with injected(Failing(operation="ListCommandInvocations", kind="5xx")):
        local.stack.lambda_.waiting(command_id)
        OUTCOMES["ok"](local.fleet, command_id)
        with pytest.raises(ExecutionFailed):
            local.verdict(command_id)
        stdout, stderr = process.communicate(timeout=60)
    return process, command_id, stdout, stderr


def test_a_clear_that_fails_before_its_verdict_ends_the_wait_with_4(local: Local) -> None:
    # Given `clear --wait` while the clear fails before its verdict,
    process, command_id, _, stderr = failing_clear(local)
    # Then the wait ends at once, not at its timeout: exit 4, saying the clear failed and why
    assert process.returncode == 4, stderr
    last = stderr.splitlines()[-1]
    assert last.startswith(f"apcu-flush: clear {command_id} failed before its verdict (")
    assert "ListCommandInvocations" in last
    # and `status` says the same; the group is free for the next clear.
    shown = local.run("status", command_id, "--json")
    assert shown.returncode == 4
    assert json.loads(shown.stdout)["state"] == "failed"
    assert local.run("clear", GROUP).returncode == 0


def test_wait_on_reset_opcache_shows_its_counts_and_exits_1_on_old_code(local: Local) -> None:
    # Given a pipeline's gate after a deploy: reset OPcache and wait for the verdict
    process = local.start("clear", GROUP, "--action", "reset-opcache", "--wait", *FAST)
    command_id = local.sent_command(process)
    assert local.commands()[0]["Parameters"] == {"action": ["reset-opcache"], "prefix": [""]}
    # When every restart took but one instance keeps its preloaded scripts
    local.judge(command_id, OUTCOMES["old code"])
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
