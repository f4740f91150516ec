"""The fault sweep: a clear with one retry round, and one fault at each of its AWS calls in turn
(throttled; a 5xx after AWS did the work; the answer lost after AWS did the work; and, inside
the notifier, the invocation killed right after the call, so that its step runs again), then at
its Slack post. After each fault: one verdict posted, no command sent twice, the group freed,
the clear recorded as judged; or, when the dispatcher refused before sending, nothing sent, the
group free, and a 503 the caller may send again.

The positions are the calls a clean run makes (recorded when the tests are collected): a fault
hits the n-th call of an operation, so the sweep follows the clear however its threads
interleave.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
import pytest
from moto import mock_aws

from harness import aws_emulator
from harness.slack_web_api import WEBHOOK, SlackWebApi
from harness.stack import GROUP, TABLE, Stack
from tests.faults import KINDS, Faults, Recorder, injected
from tests.fleet import DELIVERY_TIMED_OUT

# The harness's own reads (stack.status), not the clear's.
HARNESS = frozenset({("dynamodb", "GetItem")})


def run(stack: Stack) -> tuple[int, dict[str, Any], list[str]]:
    """POST /flush, then the group's command ends with one instance left stale, which the
    clear's retry clears. The answer, and every command the fleet got."""
    slow = stack.instances[2]
    commands: list[str] = []

    def answer(command_id: str, ids: list[str]) -> dict[str, aws_emulator.InvocationResult] | None:
        commands.append(command_id)
        # The group's command runs until the test ends it; the retry is answered at once.
        return None if len(commands) == 1 else {i: aws_emulator.ok(3) for i in ids}

    aws_emulator.fleet_answers(answer)
    status, body = stack.api("POST", "/flush", {"group": GROUP, "action": "clear-apcu"})
    if status == 202:
        clear_id = str(body["commandId"])
        stack.lambda_.waiting(clear_id)
        first = {i: aws_emulator.ok(12) for i in stack.instances[:2]} | {slow: DELIVERY_TIMED_OUT}
        aws_emulator.settle_command(clear_id, first, status="TimedOut")
    return status, body, commands


@cache
def clean_calls() -> tuple[tuple[str, str, int, bool], ...]:
    """(service, operation, occurrence, made by the notifier) of each call of a clean run."""
    aws_emulator.reset()
    with mock_aws(), SlackWebApi() as slack, Stack(slack) as stack, injected(Recorder()) as calls:
        status, body, _ = run(stack)
        assert status == 202
        stack.outcome(str(body["commandId"]))
    aws_emulator.reset()
    return tuple(c for c in calls.occurrences() if c[:2] not in HARNESS)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "fault" not in metafunc.fixturenames:
        return
    faults = [
        (service, operation, occurrence, kind)
        for service, operation, occurrence, notifier in clean_calls()
        for kind in (*KINDS, "crash")
        if kind != "crash" or notifier
    ]
    metafunc.parametrize("fault", faults, ids=[f"{o}#{n}-{k}" for _, o, n, k in faults])


def claim_free() -> bool:
    key = {"commandId": {"S": f"claim#group#{GROUP}"}}
    return "Item" not in boto3.client("dynamodb").get_item(TableName=TABLE, Key=key)


def assert_one_clear(stack: Stack, status: int, body: dict[str, Any], commands: list[str]) -> None:
    if status != 202:
        assert status == 503 and body["error"]["rule"] in (
            "aws-throttled",
            "aws-unavailable",
            "send-outcome-unknown",
        )
        assert commands == [] or body["error"]["rule"] == "send-outcome-unknown"
        assert claim_free() or body["error"]["rule"] == "send-outcome-unknown"
        return
    clear_id = str(body["commandId"])
    verdict = stack.verdict(clear_id)
    assert verdict["kind"] == "ok", verdict
    assert len(commands) == 2, f"commands sent: {commands}"
    assert len(stack.slack.webhook_posts) == 1
    assert claim_free()


def test_a_clean_run_retries_once_and_ends_ok(deployed: Stack) -> None:
    assert any(c[:3] == ("ssm", "SendCommand", 2) for c in clean_calls()), (
        "the retry is in the sweep"
    )
    status, body, commands = run(deployed)
    assert_one_clear(deployed, status, body, commands)


def test_one_fault_at_each_call(deployed: Stack, fault: tuple[str, str, int, str]) -> None:
    _, operation, occurrence, kind = fault
    with injected(Faults(operation=operation, occurrence=occurrence, kind=kind)) as faults:
        status, body, commands = run(deployed)
        assert_one_clear(deployed, status, body, commands)
    assert isinstance(faults, Faults) and faults.fired


@pytest.mark.parametrize("how", ["429", "500", "answer lost"])
def test_one_fault_at_the_slack_post(deployed: Stack, how: str) -> None:
    if how == "answer lost":
        deployed.slack.drop_next(WEBHOOK)
    else:
        deployed.slack.fail_next(
            WEBHOOK, "ratelimited" if how == "429" else "service_unavailable", status=int(how)
        )
    status, body, commands = run(deployed)

    assert_one_clear(deployed, status, body, commands)
    attempts = [name for name, _ in deployed.slack.calls if name == WEBHOOK]
    # A post whose answer was lost was taken: it is not sent again (at most one post).
    assert len(attempts) == (1 if how == "answer lost" else 2)
