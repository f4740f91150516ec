"""One clear per group, claimed atomically before anything is sent.

Two requests "at the same moment" are two threads whose first sending call (the dispatcher's
SendCommand, or for a retry its Lambda Invoke of the retry's execution) is held until the other
request has reached it too, or has answered: the widest window a check-then-send guard could
leave open. With the claim, only its holder gets there.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import threading
from collections.abc import Callable
from typing import Any

import boto3

from apcu_clear import claim
from apcu_dispatcher import api
from apcu_dispatcher.sending import MARGIN
from harness import aws_emulator
from harness.slack_web_api import SlackWebApi
from harness.stack import GROUP, STOP_ALARM, TABLE, Stack, api_event
from tests.dispatcher.conftest import GROUP_CLAIM, commands, deployed_with, group_claim
from tests.faults import Faults, injected
from tests.fleet import Fleet, failed

Answer = dict[str, Any]


class Held:
    """Holds each call of `event` on a client until every request of the race has reached it
    too, or has answered."""

    def __init__(self, client: Any, event: str, racers: int) -> None:
        self.racers = racers
        self.arrived = 0
        self.finished = 0
        self._turn = threading.Condition()
        client.meta.events.register(event, self._hold)

    def _hold(self, **_: Any) -> None:
        with self._turn:
            self.arrived += 1
            self._turn.notify_all()
            self._turn.wait_for(lambda: self.arrived + self.finished >= self.racers, timeout=10)

    def done(self) -> None:
        with self._turn:
            self.finished += 1
            self._turn.notify_all()


def race(held: Held, *requests: Callable[[], Answer]) -> list[Answer]:
    """Run the requests at once, each in its own thread; their answers, in order."""
    start = threading.Barrier(len(requests))
    answers: list[Answer] = [{} for _ in requests]

    def run(index: int, request: Callable[[], Answer]) -> None:
        start.wait(timeout=10)
        try:
            answers[index] = request()
        finally:
            held.done()

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def request(stack: Stack, event: Any) -> Callable[[], Answer]:
    def call() -> Answer:
        answer = stack.dispatch(copy.deepcopy(event))
        body = answer["body"]
        return {
            "statusCode": answer["statusCode"],
            "body": json.loads(body) if isinstance(body, str) else body,
        }

    return call


def held_sends(racers: int) -> Held:
    return Held(api.runtime.ssm_send, "before-call.ssm.SendCommand", racers)


CLEAR = {"group": GROUP, "action": "clear-apcu"}


def api_clear() -> dict[str, Any]:
    return api_event("POST", "/flush", CLEAR)


def assert_one_sent_and_one_refused(answers: list[Answer]) -> Answer:
    assert sorted(a["statusCode"] for a in answers) == [202, 409], answers
    assert len(commands()) == 1
    [refused] = [a for a in answers if a["statusCode"] == 409]
    error = refused["body"]["error"]
    assert error["rule"] == "clear-in-progress"
    return error


# --- two requests at the same moment ------------------------------------------------------------


def test_two_api_requests_at_the_same_moment_send_one_clear(deployed: Stack) -> None:
    answers = race(held_sends(2), request(deployed, api_clear()), request(deployed, api_clear()))

    error = assert_one_sent_and_one_refused(answers)
    # Its SendCommand was held, so the holder had no command id yet: the answer says so.
    assert error["runningCommand"]["commandId"] is None
    assert error["runningCommand"]["requestedAt"]
    assert "still being sent" in error["message"]


def test_an_api_request_and_a_console_event_at_once_send_one_clear(deployed: Stack) -> None:
    answers = race(held_sends(2), request(deployed, api_clear()), request(deployed, dict(CLEAR)))

    assert_one_sent_and_one_refused(answers)


def test_two_retries_of_a_clear_at_once_start_one_retry(deployed: Stack) -> None:
    broken = deployed.instances[2]
    fleet = Fleet({broken: [failed()]}).serve()
    clear_id = deployed.clear()
    deployed.outcome(clear_id)
    retry = api_event("POST", f"/flush/{clear_id}/retry")
    held = Held(api.runtime.lambda_, "before-call.lambda.Invoke", 2)

    answers = race(held, request(deployed, retry), request(deployed, retry))

    assert sorted(a["statusCode"] for a in answers) == [202, 409], answers
    [accepted] = [a for a in answers if a["statusCode"] == 202]
    [refused] = [a for a in answers if a["statusCode"] == 409]
    assert refused["body"]["error"]["rule"] == "clear-in-progress"
    retry_id = accepted["body"]["commandId"]
    deployed.outcome(retry_id)
    assert fleet.commands_to(broken) == 3, "the clear's two attempts, and one retry"


def test_a_clear_and_a_warm_pool_exit_at_once_each_send_to_their_own_target(
    deployed: Stack,
) -> None:
    # A warm-pool exit claims its instance, not the group: the group's tag target was resolved
    # without the instance, whose APCu may be older than any clear.
    pooled = aws_emulator.add_warm_pool(GROUP, 1)[0]
    event = {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "EC2 Instance Launch Successful",
        "source": "aws.autoscaling",
        "detail": {
            "Origin": "WarmPool",
            "Destination": "AutoScalingGroup",
            "AutoScalingGroupName": GROUP,
            "EC2InstanceId": pooled,
        },
    }

    answers = race(held_sends(2), request(deployed, api_clear()), request(deployed, event))

    assert [a["statusCode"] for a in answers] == [202, 202], answers
    assert sorted(bool(c["Targets"]) for c in commands()) == [False, True]


# --- the claim while the clear runs, and after ----------------------------------------------------


def test_the_claim_names_the_clear_until_ssms_expiry_of_its_command_plus_the_margin(
    deployed: Stack,
) -> None:
    clear_id = deployed.clear()

    [sent] = commands()
    held = group_claim()
    assert held is not None and held["holder"] == clear_id
    assert int(held["until"]) == int((sent["ExpiresAfter"] + MARGIN).timestamp())
    assert int(held["ttl"]) == int(held["until"]) + 86_400


def test_once_the_clear_ends_the_group_is_free_for_the_next(deployed: Stack) -> None:
    Fleet().serve()
    first = deployed.clear()
    deployed.outcome(first)
    assert group_claim() is None

    assert deployed.clear() != first
    assert len(commands()) == 2


def test_a_claim_past_its_until_is_taken_over(deployed: Stack) -> None:
    # An invocation that claimed the group long ago and died before sending.
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    claim.take(
        boto3.client("dynamodb"),
        TABLE,
        GROUP_CLAIM,
        now=long_ago,
        until=long_ago + dt.timedelta(minutes=8),
    )

    clear_id = deployed.clear()

    held = group_claim()
    assert held is not None and held["holder"] == clear_id
    assert len(commands()) == 1


def test_a_claim_not_yet_past_its_until_refuses_with_no_command_named(deployed: Stack) -> None:
    now = dt.datetime.now(dt.UTC)
    claim.take(boto3.client("dynamodb"), TABLE, GROUP_CLAIM, now=now, until=now + MARGIN)

    status, body = deployed.api("POST", "/flush", CLEAR)

    assert status == 409
    running = body["error"]["runningCommand"]
    assert running == {"commandId": None, "requestedAt": running["requestedAt"], "consoleUrl": None}
    assert commands() == []


def test_a_command_of_the_document_sent_outside_the_dispatcher_refuses_a_clear(
    deployed: Stack,
) -> None:
    # Sent from the Run Command console: no claim knows it, ListCommands does.
    outside = boto3.client("ssm").send_command(
        DocumentName=deployed.env["DOCUMENT_NAME"],
        Targets=[{"Key": "tag:aws:autoscaling:groupName", "Values": [GROUP]}],
        Parameters={"action": ["clear-apcu"], "prefix": [""]},
    )["Command"]["CommandId"]

    status, body = deployed.api("POST", "/flush", CLEAR)

    assert (status, body["error"]["rule"]) == (409, "clear-in-progress")
    assert body["error"]["runningCommand"]["commandId"] == outside
    assert group_claim() is None, "the refusal gives the claim back"


# --- given back, or kept --------------------------------------------------------------------------


def test_a_refusal_before_sendcommand_gives_the_claim_back(aws: None, slack: SlackWebApi) -> None:
    with deployed_with(slack, STOP_ALARM_NAME=STOP_ALARM) as stack:
        stack.alarm("ALARM")
        status, body = stack.api("POST", "/flush", CLEAR)
        assert (status, body["error"]["rule"]) == (409, "alarm-firing")
        assert body["error"]["alarm"]["state"] == "ALARM"
        assert group_claim() is None and commands() == []

        stack.alarm("OK")
        assert stack.api("POST", "/flush", CLEAR)[0] == 202


def test_a_failure_before_sendcommand_gives_the_claim_back(deployed: Stack) -> None:
    with injected(Faults(operation="ListCommands", occurrence=1, kind="timeout")):
        status, body = deployed.api("POST", "/flush", CLEAR)

    assert (status, body["error"]["rule"]) == (503, "aws-unavailable")
    assert group_claim() is None and commands() == []
    assert deployed.api("POST", "/flush", CLEAR)[0] == 202


def test_a_throttled_send_gives_the_claim_back(deployed: Stack) -> None:
    faults = Faults(operation="SendCommand", occurrence=1, kind="throttle")
    with injected(faults):
        status, _ = deployed.api("POST", "/flush", CLEAR)

    # Throttled means AWS ran nothing: the send is tried again at once, and goes out.
    assert faults.fired and status == 202
    assert len(commands()) == 1
