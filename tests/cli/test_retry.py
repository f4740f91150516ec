"""`apcu-flush retry`, the installed program, against the local API: the real dispatcher starts
the retry, a clear of its own whose durable execution sends the command to the instances the
verdict left stale, waits for it, and records the retry's verdict."""

from __future__ import annotations

import json

from harness import aws_emulator as emulator
from harness.stack import GROUP
from tests.cli.fleet import OUTCOMES
from tests.cli.pipeline import FAST, Local
from tests.cli.test_status import UNKNOWN


def _judged_clear(local: Local, outcome: str) -> str:
    sent = local.run("clear", GROUP, "--json")
    assert sent.returncode == 0, sent.stderr
    clear_id = str(json.loads(sent.stdout)["commandId"])
    assert local.judge(clear_id, OUTCOMES[outcome]) == outcome
    return clear_id


def _commands_of(local: Local, clear_id: str) -> list[dict[str, object]]:
    """The commands a clear's execution sent itself: their comment names it."""
    return [c for c in local.commands() if str(c["Comment"]).endswith(f" of {clear_id}")]


def test_retry_re_sends_to_the_instance_that_failed_and_exits_0(local: Local) -> None:
    # Given a clear one web node failed (503), its automatic retry too
    first = _judged_clear(local, "failed")
    failed = sorted(emulator.targeted_instances(first))[0]
    local.fleet.broken.clear()  # APCu back on

    # When the reader of the alert retries it
    completed = local.run("retry", first, "--json")

    # Then exit 0, and the retry sent exactly that instance the same clear again
    assert completed.returncode == 0, completed.stderr
    answer = json.loads(completed.stdout)
    retry_id = answer["commandId"]
    assert (answer["retryOf"], answer["retried"], answer["skipped"]) == (first, [failed], [])
    assert completed.stderr == ""
    assert local.verdict(retry_id) == "ok"
    [command] = _commands_of(local, retry_id)
    assert command["InstanceIds"] == [failed]
    assert command["Parameters"] == {"action": ["clear-apcu"], "prefix": [""]}
    # The verdict a person reads says how to do it
    assert f"apcu-flush retry {first}" in local.run("status", first).stdout


def test_retry_wait_exits_with_the_retrys_verdict(local: Local) -> None:
    first = _judged_clear(local, "failed")
    local.fleet.broken.clear()  # APCu back on

    completed = local.run("retry", first, "--wait", "--timeout", "60", *FAST)

    assert completed.returncode == 0, completed.stderr
    [headline, *_] = completed.stdout.splitlines()
    assert headline.startswith("ok: "), completed.stdout
    [retry_line] = [line for line in completed.stderr.splitlines() if line.startswith("sent:")]
    retry_id = retry_line.split()[2]
    assert retry_line.startswith(f"sent: retry {retry_id} of {first} clears APCu on 1 instance")
    assert retry_id in completed.stdout
    assert local.run("status", retry_id, "--json").returncode == 0


def test_retry_wait_exits_1_when_the_retry_is_an_alert(local: Local) -> None:
    # Given a node whose APCu stays off
    first = _judged_clear(local, "failed")

    completed = local.run("retry", first, "--wait", "--json", "--timeout", "60", *FAST)

    assert completed.returncode == 1, completed.stderr
    answer = json.loads(completed.stdout)
    assert (answer["retryOf"], answer["verdict"]["kind"]) == (first, "failed")


def test_a_clear_that_ended_ok_has_nothing_to_retry_exit_2(local: Local) -> None:
    first = _judged_clear(local, "ok")

    completed = local.run("retry", first)

    assert completed.returncode == 2
    assert "refused (409, commandId)" in completed.stderr
    assert "left no instance stale" in completed.stderr
    assert len(local.commands()) == 1


def test_a_clear_still_running_is_refused_with_2(local: Local) -> None:
    sent = local.run("clear", GROUP, "--json")
    first = json.loads(sent.stdout)["commandId"]

    completed = local.run("retry", first, "--wait", "--json")

    assert completed.returncode == 2
    assert json.loads(completed.stdout)["error"]["rule"] == "clear-in-progress"
    assert len(local.commands()) == 1


def test_a_command_the_stack_never_sent_exits_2(local: Local) -> None:
    completed = local.run("retry", UNKNOWN)

    assert completed.returncode == 2
    assert "refused (404, commandId)" in completed.stderr
    assert local.commands() == []
