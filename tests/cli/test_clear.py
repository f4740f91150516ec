"""`apcu-flush clear`, the installed program, against the local API and the real dispatcher:
what a clear sends, and what answers when it cannot."""

from __future__ import annotations

import json
from typing import Any

from harness.stack import GROUP
from tests.cli.pipeline import ROLE, SESSION, Local


def raises(event: dict[str, Any]) -> dict[str, Any]:
    """A function that fails: API Gateway answers 500 for it."""
    raise RuntimeError("the function failed")


def test_clear_exits_0_and_names_the_command(local: Local) -> None:
    # Given a deployed stack, When a pipeline clears the group without waiting,
    completed = local.run("clear", GROUP, "--comment", "release 2026.11.29")
    # Then it exits 0, names the command, and the command really went out.
    assert completed.returncode == 0, completed.stderr
    commands = local.commands()
    assert len(commands) == 1
    assert commands[0]["CommandId"] in completed.stdout
    assert f"group {GROUP}" in completed.stdout
    # and the clear it started waits for that command.
    local.stack.lambda_.waiting(commands[0]["CommandId"])


def test_the_requester_is_the_signing_identity(local: Local) -> None:
    # The caller names nothing: the Comment says who signed, as API Gateway saw it.
    completed = local.run("clear", GROUP, "--comment", "data fix")
    assert completed.returncode == 0, completed.stderr
    assert local.commands()[0]["Comment"] == f"{ROLE}/{SESSION}: data fix"
    iam = local.gateway.events[0]["requestContext"]["authorizer"]["iam"]
    assert iam["userArn"] == f"arn:aws:sts::123456789012:assumed-role/{ROLE}/{SESSION}"
    assert iam["accessKey"] == local.credentials["AWS_ACCESS_KEY_ID"]


def test_json_prints_only_the_answer(local: Local) -> None:
    completed = local.run("clear", GROUP, "--prefix", "config:", "--json")
    assert completed.returncode == 0, completed.stderr
    answer = json.loads(completed.stdout)
    assert answer["commandId"] == local.commands()[0]["CommandId"]
    assert answer["prefix"] == "config:"
    assert completed.stderr == ""


def test_clear_all_sends_both_caches_in_one_command(local: Local) -> None:
    completed = local.run("clear", GROUP, "--action", "clear-all", "--prefix", "config:", "--json")
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["action"] == "clear-all"
    [command] = local.commands()
    assert command["Parameters"] == {"action": ["clear-all"], "prefix": ["config:"]}


def test_a_group_with_nothing_to_clear_exits_2_with_the_409(local: Local) -> None:
    local.aws.client("autoscaling").update_auto_scaling_group(
        AutoScalingGroupName=GROUP, MinSize=0, DesiredCapacity=0
    )
    completed = local.run("clear", GROUP, "--wait")
    assert completed.returncode == 2
    assert "refused (409, group)" in completed.stderr
    assert "no InService instance" in completed.stderr
    assert local.commands() == []


def test_a_409_names_the_running_command(local: Local) -> None:
    # Given a clear of the group still running (one clear per group at a time),
    first = local.run("clear", GROUP, "--json")
    assert first.returncode == 0, first.stderr
    running = json.loads(first.stdout)["commandId"]
    # When a second pipeline clears it, Then exit 2, naming the running command.
    completed = local.run("clear", GROUP, "--wait")
    assert completed.returncode == 2
    assert "refused (409" in completed.stderr
    assert f"running command: {running} requested " in completed.stderr
    assert f"apcu-flush status {running} --wait" in completed.stderr
    assert len(local.commands()) == 1


def test_a_server_error_exits_4(local: Local) -> None:
    # Given a dispatcher that raises (API Gateway answers 500 for it),
    local.front.stand_in = raises
    completed = local.run("clear", GROUP, "--json")
    # Then exit 4 and the 500 is what --json prints.
    assert completed.returncode == 4
    assert json.loads(completed.stdout) == {"message": "Internal Server Error"}
