"""Throttling. API Gateway's throttle is shared by every caller: the installed program waits a
429 out. AWS throttling the dispatcher is the API's 503: nothing was sent, exit 4, try later.

The front end answers 429 as API Gateway does when the route's throttle refuses a request,
before the function runs; here a stand-in in front of the real dispatcher plays that part.
`--pause-scale` (hidden) shortens the program's pauses so that these tests take seconds.
"""

from __future__ import annotations

import json
import time
from typing import Any

from harness.stack import GROUP
from tests.cli.fleet import OUTCOMES
from tests.cli.pipeline import FAST, Local
from tests.faults import Faults, injected

# HTTP API's answer to a throttled request: 429 with this body.
TOO_MANY = {
    "statusCode": 429,
    "headers": {"content-type": "application/json"},
    "body": json.dumps({"message": "Too Many Requests"}),
}


def _throttle(local: Local, method: str, times: int | None) -> list[str]:
    """Answer 429 to the first `times` requests of `method` (every one if None); the rest reach
    the dispatcher. Returns the route keys of the requests that reached it, in order."""
    throttled = 0
    reached: list[str] = []

    def front(event: dict[str, Any]) -> dict[str, Any]:
        nonlocal throttled
        if event["routeKey"].startswith(method) and (times is None or throttled < times):
            throttled += 1
            return TOO_MANY
        reached.append(event["routeKey"])
        return local.front.dispatcher(event)

    local.front.stand_in = front
    return reached


def test_a_throttled_clear_is_sent_again_and_sent_once(local: Local) -> None:
    # Given an API whose throttle refuses the next three requests (other pipelines used it),
    reached = _throttle(local, "POST", 3)
    # When a pipeline clears the group,
    completed = local.run("clear", GROUP, *FAST)
    # Then the request is sent again until it passes: exit 0, one command sent.
    assert completed.returncode == 0, completed.stderr
    assert reached == ["POST /flush"]
    [command] = local.commands()
    assert command["CommandId"] in completed.stdout
    assert completed.stderr.count("throttling") == 1, "said once, not at every retry"


def test_throttled_status_reads_are_read_again(local: Local) -> None:
    sent = local.run("clear", GROUP, "--json")
    command_id = json.loads(sent.stdout)["commandId"]
    local.judge(command_id, OUTCOMES["ok"])
    # Given a status route that throttles three reads in a row (more than the three failures
    # in a row a wait allows for server errors),
    _throttle(local, "GET", 3)
    waited = local.run("status", command_id, "--wait", *FAST)
    assert waited.returncode == 0, waited.stderr
    assert waited.stdout.startswith("ok:")
    _throttle(local, "GET", 3)
    read = local.run("status", command_id, "--json", *FAST)
    assert read.returncode == 0, read.stderr
    assert json.loads(read.stdout)["verdict"]["kind"] == "ok"


def test_a_throttle_that_outlasts_the_timeout_exits_4_and_nothing_was_sent(local: Local) -> None:
    reached = _throttle(local, "POST", None)
    started = time.monotonic()
    completed = local.run("clear", GROUP, "--wait", "--timeout", "1", "--json", *FAST)
    took = time.monotonic() - started
    assert completed.returncode == 4, completed.stderr
    answer = json.loads(completed.stdout)
    assert answer["error"]["kind"] == "throttled"
    assert "nothing was sent" in answer["error"]["message"]
    assert "docs/deploy.md" in answer["error"]["message"]
    assert (reached, local.commands()) == ([], [])
    assert 1 <= took < 30, "it gives up at the timeout, not before and not long after"


def test_status_reads_throttled_until_the_timeout_exit_4_naming_the_command(local: Local) -> None:
    _throttle(local, "GET", None)
    completed = local.run("clear", GROUP, "--wait", "--timeout", "1", *FAST)
    assert completed.returncode == 4, completed.stderr
    [command] = local.commands()
    assert "the API throttled the status reads" in completed.stderr
    assert f"apcu-flush status {command['CommandId']} --wait" in completed.stderr


def test_aws_throttling_the_dispatcher_exits_4_and_the_group_is_free_to_clear_again(
    local: Local,
) -> None:
    # Given Auto Scaling throttling the dispatcher's read of the group, past botocore's retries,
    throttle = Faults(operation="DescribeAutoScalingGroups", occurrence=1, kind="throttle")
    with injected(throttle):
        completed = local.run("clear", GROUP, "--wait", "--json", *FAST)
    assert throttle.fired
    # Then the API's 503 says so: exit 4 (try later), its reason printed, nothing sent
    assert completed.returncode == 4, completed.stderr
    error = json.loads(completed.stdout)["error"]
    assert (error["status"], error["rule"]) == (503, "aws-throttled")
    assert "nothing was sent" in error["message"]
    assert local.commands() == []
    # and the group is not held: the same clear, sent again later, goes out.
    again = local.run("clear", GROUP, "--json")
    assert again.returncode == 0, again.stderr
    assert [c["CommandId"] for c in local.commands()] == [json.loads(again.stdout)["commandId"]]
