"""A console test event (the body of POST /flush, invoked directly): the same answers as the API,
with the body an object, as the Lambda console shows it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness import aws_emulator
from harness.stack import GROUP, Stack, api_event
from tests.dispatcher.conftest import commands, group_claim, item
from tests.faults import Faults, injected

JSON = {"content-type": "application/json"}


def console(stack: Stack, event: Any) -> tuple[int, dict[str, Any]]:
    answer = stack.dispatch(event)
    assert answer["headers"] == JSON
    assert isinstance(answer["body"], dict), "the console shows an object, not JSON text"
    json.dumps(answer)
    return int(answer["statusCode"]), answer["body"]


def test_a_console_clear_is_202_with_the_apis_body_and_requester_console(
    deployed: Stack,
) -> None:
    status, body = console(deployed, {"group": GROUP, "action": "clear-apcu", "comment": "flags"})

    assert status == 202
    [sent] = commands()
    assert body["commandId"] == sent["CommandId"]
    assert set(body) == {
        "commandId",
        "group",
        "action",
        "prefix",
        "expect",
        "warnings",
        "consoleUrl",
    }
    assert body["expect"] == {"desiredCapacity": 3, "inService": 3, "managedOnline": 3}
    assert sent["Comment"] == "console: flags"
    record = item(sent["CommandId"])
    assert record is not None
    assert (record["origin"], record["requester"]) == ("console", "console")
    assert sorted(aws_emulator.targeted_instances(sent["CommandId"])) == sorted(deployed.instances)


def test_a_console_dry_run_is_200_and_sends_nothing(deployed: Stack) -> None:
    status, body = console(deployed, {"group": GROUP, "action": "clear-apcu", "dryRun": True})

    assert status == 200
    assert body["dryRun"] is True and body["plan"]["inService"] == sorted(deployed.instances)
    assert commands() == [] and group_claim() is None


@pytest.mark.parametrize(
    ("event", "field", "rule"),
    [
        ({"group": GROUP, "action": "clear-apcu", "prefix": "x; rm -rf /"}, "prefix", "pattern"),
        ({"group": "web-prod-old", "action": "clear-apcu"}, "group", "allowed-groups"),
        ({"group": GROUP, "action": "clear-apcu", "commands": ["id"]}, "commands", "unknown-field"),
        ({"group": GROUP, "action": "reset-opcache", "prefix": "a:"}, "prefix", "not-with-action"),
        ({"group": GROUP}, "action", "required"),
        ({"group": GROUP, "action": "clear-apcu", "dryRun": "false"}, "dryRun", "type"),
        ([], "body", "type"),
        ("clear", "body", "type"),
        (None, "body", "type"),
    ],
)
def test_a_console_event_that_breaks_a_rule_is_400_naming_field_and_rule(
    deployed: Stack, event: Any, field: str, rule: str
) -> None:
    status, body = console(deployed, event)

    assert status == 400
    error = body["error"]
    assert (error["status"], error["field"], error["rule"]) == (400, field, rule)
    assert error["message"]
    assert commands() == [] and group_claim() is None


def test_a_console_refusal_is_the_apis_refusal(deployed: Stack) -> None:
    payload = {"group": GROUP, "action": "clear-apcu", "prefix": "$(reboot)"}

    status, body = console(deployed, payload)
    api_status, api_body = deployed.api("POST", "/flush", payload)

    assert (status, body) == (api_status, api_body)


def test_a_console_event_for_a_group_without_instances_is_409(deployed: Stack) -> None:
    aws_emulator.set_lifecycle(GROUP, deployed.instances, "Pending")

    status, body = console(deployed, {"group": GROUP, "action": "clear-apcu"})

    assert (status, body["error"]["rule"]) == (409, "in-service")
    assert commands() == []


def test_a_console_event_while_a_clear_runs_is_409_naming_it(deployed: Stack) -> None:
    clear_id = deployed.clear()

    status, body = console(deployed, {"group": GROUP, "action": "clear-all"})

    assert (status, body["error"]["rule"]) == (409, "clear-in-progress")
    assert body["error"]["runningCommand"]["commandId"] == clear_id


def test_a_throttled_console_event_is_503_with_nothing_sent(deployed: Stack) -> None:
    with injected(Faults(operation="DescribeAutoScalingGroups", occurrence=1, kind="throttle")):
        status, body = console(deployed, {"group": GROUP, "action": "clear-apcu"})

    assert (status, body["error"]["rule"]) == (503, "aws-throttled")
    assert commands() == [] and group_claim() is None


def test_an_http_event_is_routed_and_answered_with_json_text(
    deployed: Stack,
) -> None:
    # An HTTP event is routed by its route key, never read as a console body.
    event = api_event("POST", "/flush", {"group": GROUP, "action": "clear-apcu"})
    answer = deployed.dispatch(event)
    assert answer["statusCode"] == 202
    assert isinstance(answer["body"], str), "an HTTP answer's body is JSON text"
