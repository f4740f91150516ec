"""`apcu-flush retry`, the installed program, against the local API, the real dispatcher, and
the real notifier recording each verdict."""

from __future__ import annotations

import json
import subprocess
import time

from harness import aws_emulator as emulator
from tests.cli.conftest import GROUP, Local
from tests.cli.test_status import UNKNOWN, _status_read, judge


def _judged_clear(local: Local, scenario: str) -> str:
    sent = local.run("clear", GROUP, "--json")
    assert sent.returncode == 0, sent.stderr
    command_id = str(json.loads(sent.stdout)["commandId"])
    judge(local, command_id, scenario)
    return command_id


def _retries(local: Local, first: str) -> list[dict[str, object]]:
    return [c for c in local.commands() if c["CommandId"] != first]


def test_retry_re_sends_to_the_instance_that_failed_and_exits_0(local: Local) -> None:
    # Given a clear one web node failed (503)
    first = _judged_clear(local, "failed")
    failed = emulator.targeted_instances(first)[0]

    # When the reader of the alert retries it
    completed = local.run("retry", first, "--json")

    # Then exit 0, and exactly that instance got the same command again
    assert completed.returncode == 0, completed.stderr
    answer = json.loads(completed.stdout)
    [command] = _retries(local, first)
    assert command["InstanceIds"] == [failed]
    assert command["Parameters"] == {"action": ["clear-apcu"], "prefix": [""]}
    assert answer["commandIds"] == [command["CommandId"]]
    assert (answer["retried"], answer["skipped"]) == ([failed], [])
    assert completed.stderr == ""
    # The verdict a person reads says how to do it
    assert f"apcu-flush retry {first}" in local.run("status", first).stdout


def test_retry_wait_exits_with_the_retrys_verdict(local: Local) -> None:
    first = _judged_clear(local, "failed")
    process = local.start("retry", first, "--wait", "--timeout", "120")
    retry_id = _sent_command_other_than(local, first, process)
    _status_read(local, process)

    judge(local, retry_id, "ok")
    stdout, stderr = process.communicate(timeout=120)

    assert process.returncode == 0, stderr
    assert stdout.splitlines()[0] == "ok: 1 of 1 targeted instances cleared their cache"
    assert retry_id in stdout
    assert f"sent: retry of {first}" in stderr


def test_retry_wait_exits_1_when_the_retry_is_an_alert(local: Local) -> None:
    first = _judged_clear(local, "failed")
    process = local.start("retry", first, "--wait", "--json", "--timeout", "120")
    retry_id = _sent_command_other_than(local, first, process)

    judge(local, retry_id, "failed")
    stdout, _ = process.communicate(timeout=120)

    assert process.returncode == 1
    assert json.loads(stdout)["verdict"]["kind"] == "failed"


def test_a_clear_that_ended_ok_has_nothing_to_retry_exit_2(local: Local) -> None:
    first = _judged_clear(local, "ok")

    completed = local.run("retry", first)

    assert completed.returncode == 2
    assert "refused (409, commandId)" in completed.stderr
    assert "left no instance stale" in completed.stderr
    assert _retries(local, first) == []


def test_a_clear_still_running_is_refused_with_2(local: Local) -> None:
    sent = local.run("clear", GROUP, "--json")
    first = json.loads(sent.stdout)["commandId"]

    completed = local.run("retry", first, "--wait", "--json")

    assert completed.returncode == 2
    assert json.loads(completed.stdout)["error"]["rule"] == "clear-in-progress"
    assert _retries(local, first) == []


def test_a_command_the_stack_never_sent_exits_2(local: Local) -> None:
    completed = local.run("retry", UNKNOWN)

    assert completed.returncode == 2
    assert "refused (404, commandId)" in completed.stderr
    assert local.commands() == []


def _sent_command_other_than(local: Local, first: str, process: subprocess.Popen[str]) -> str:
    """The retry command the background `retry --wait` sent."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if others := _retries(local, first):
            return str(others[0]["CommandId"])
        if process.poll() is not None:
            break
        time.sleep(0.2)
    process.kill()
    _, stderr = process.communicate()
    raise AssertionError(f"no retry was sent; apcu-flush said: {stderr}")
