"""An instance leaving the warm pool is cleared on its own: Auto Scaling's "EC2 Instance Launch
Successful" event (Origin WarmPool, Destination AutoScalingGroup), through lambda_handler
against moto, sends the fixed document to that one instance."""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from apcu_dispatcher import handler
from apcu_dispatcher.clients import Clients
from apcu_dispatcher.config import Config
from apcu_dispatcher.dispatch import SendOutcomeUnknown
from apcu_dispatcher.errors import Refusal
from apcu_dispatcher.validation import FlushRequest
from apcu_dispatcher.warm_pool import WarmPoolExit, warm_pool_request
from harness import aws_emulator
from tests.dispatcher.conftest import DOCUMENT, WATCHDOG_GROUP, commands_in_moto, stored_event
from tests.dispatcher.faults import Fault, inject, ssm_error
from tests.dispatcher.test_guard import running_clear
from tests.dispatcher.test_handler import Context
from tests.dispatcher.test_watchdog import item

Invoke = Callable[[object], dict[str, Any]]


@pytest.fixture
def invoke(log: io.StringIO) -> Invoke:
    return lambda event: handler.lambda_handler(event, Context())


def leaving(instance_id: str, **detail: Any) -> dict[str, Any]:
    """The stored event for this instance, with some detail fields changed (None removes one)."""
    event = stored_event("warm-pool-exit.json")
    event["detail"]["EC2InstanceId"] = instance_id
    for key, value in detail.items():
        if value is None:
            del event["detail"][key]
        else:
            event["detail"][key] = value
    return dict(event)


def sent_by(clients: Clients) -> list[dict[str, Any]]:
    """Every SendCommand request these clients make, as botocore is about to serialise it."""
    requests: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        requests.append(copy.deepcopy(params))

    clients.ssm_send.meta.events.register("before-parameter-build.ssm.SendCommand", record)
    return requests


def lines(log: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.getvalue().splitlines() if line.startswith("{")]


def test_the_stored_event_is_a_warm_pool_exit_of_an_allowed_group() -> None:
    event = stored_event("warm-pool-exit.json")
    assert (event["source"], event["detail-type"]) == (
        "aws.autoscaling",
        "EC2 Instance Launch Successful",
    )
    assert (event["detail"]["Origin"], event["detail"]["Destination"]) == (
        "WarmPool",
        "AutoScalingGroup",
    )
    assert event["detail"]["AutoScalingGroupName"] == "web-prod"


def test_a_warm_pool_exit_sends_the_document_to_that_one_instance(
    invoke: Invoke, clients: Clients, web_prod: list[str], settings: Config, log: io.StringIO
) -> None:
    # Given an instance of web-prod that has just left the warm pool
    instance = web_prod[0]
    sent = sent_by(handler.clients())

    # When Auto Scaling's event arrives
    response = invoke(leaving(instance))

    # Then exactly one command went out: the fixed document, the whole cache, that instance
    assert response["statusCode"] == 202
    [command] = commands_in_moto(clients)
    assert response["body"] == {
        "commandId": command["CommandId"],
        "group": "web-prod",
        "instanceId": instance,
        "origin": "warm-pool",
        "action": "clear-apcu",
        "prefix": None,
        "warnings": [],
        "consoleUrl": "https://us-east-1.console.aws.amazon.com/systems-manager/run-command/"
        f"{command['CommandId']}?region=us-east-1",
    }
    assert sent == [
        {
            "InstanceIds": [instance],
            "DocumentName": DOCUMENT,
            "Parameters": {"action": ["clear-apcu"], "prefix": [""]},
            "TimeoutSeconds": 120,
            "MaxConcurrency": "50%",
            "MaxErrors": "100%",
            "Comment": f"warm-pool: {instance} left the warm pool",
            "NotificationConfig": {
                "NotificationArn": settings.topic_arn,
                "NotificationEvents": ["Success", "TimedOut", "Cancelled", "Failed"],
                "NotificationType": "Command",
            },
            "ServiceRoleArn": settings.role_arn,
        }
    ]
    assert command["InstanceIds"] == [instance]
    assert command["Targets"] == []
    assert command["DocumentName"] == DOCUMENT
    assert aws_emulator.targeted_instances(command["CommandId"]) == [instance]
    [decision] = [line for line in lines(log) if line.get("message") == "clear sent"]
    assert (decision["instance_id"], decision["origin"]) == (instance, "warm-pool")


def test_a_warm_pool_clear_is_recorded_and_armed_like_a_group_clear(
    invoke: Invoke, clients: Clients, web_prod: list[str]
) -> None:
    # Given an instance of web-prod that has just left the warm pool
    instance = web_prod[0]

    # When Auto Scaling's event arrives
    invoke(leaving(instance))

    # Then its clear has a record marked warm-pool (the notifier posts its verdict only when it
    # is an alert) and a watchdog schedule, so a lost notification cannot mean silence either
    [command] = commands_in_moto(clients)
    command_id = command["CommandId"]
    recorded = item(clients, command_id)
    assert (recorded["origin"], recorded["group"], recorded["prefix"]) == (
        {"S": "warm-pool"},
        {"S": "web-prod"},
        {"S": ""},
    )
    assert recorded["state"] == {"S": "sent"}
    schedule = clients.scheduler.get_schedule(
        Name=f"watchdog-{command_id}", GroupName=WATCHDOG_GROUP
    )
    assert json.loads(schedule["Target"]["Input"])["commandId"] == command_id


def test_the_warm_pool_request_is_a_whole_cache_clear_marked_warm_pool() -> None:
    request = warm_pool_request(WarmPoolExit("web-prod", "i-0123456789abcdef0", None))
    assert request == FlushRequest(
        group="web-prod",
        action="clear-apcu",
        prefix=None,
        comment="i-0123456789abcdef0 left the warm pool",
        dry_run=False,
        requester="warm-pool",
        origin="warm-pool",
    )


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ({"source": "aws.ec2"}, "source", "warm-pool-event"),
        ({"detail-type": "EC2 Instance Launch Unsuccessful"}, "detail-type", "warm-pool-event"),
        # "EC2 Instance-launch Lifecycle Action" goes to the lifecycle hook's handler
        # (tests/dispatcher/test_lifecycle.py), which refuses a launch event without its fields.
        ({"detail-type": "EC2 Instance Terminate Successful"}, "detail-type", "warm-pool-event"),
        ({"detail": "web-prod"}, "detail", "type"),
        ({"detail": {"Origin": "EC2"}}, "detail.Origin", "warm-pool-event"),
        ({"detail": {"Destination": "WarmPool"}}, "detail.Origin", "warm-pool-event"),
        ({"detail": {"Origin": None}}, "detail.Origin", "warm-pool-event"),
        (
            {"detail": {"AutoScalingGroupName": "web-other"}},
            "detail.AutoScalingGroupName",
            "allowed-groups",
        ),
        (
            {"detail": {"AutoScalingGroupName": "WEB-PROD"}},
            "detail.AutoScalingGroupName",
            "allowed-groups",
        ),
        (
            {"detail": {"AutoScalingGroupName": None}},
            "detail.AutoScalingGroupName",
            "allowed-groups",
        ),
        ({"detail": {"EC2InstanceId": None}}, "detail.EC2InstanceId", "pattern"),
        ({"detail": {"EC2InstanceId": "i-123"}}, "detail.EC2InstanceId", "pattern"),
        ({"detail": {"EC2InstanceId": "i-0123456789ABCDEF0"}}, "detail.EC2InstanceId", "pattern"),
        ({"detail": {"EC2InstanceId": "mi-0123456789abcdef0"}}, "detail.EC2InstanceId", "pattern"),
        (
            {"detail": {"EC2InstanceId": "i-0123456789abcdef0\n"}},
            "detail.EC2InstanceId",
            "pattern",
        ),
        ({"detail": {"EC2InstanceId": ["i-0123456789abcdef0"]}}, "detail.EC2InstanceId", "pattern"),
    ],
)
def test_a_bad_warm_pool_event_is_refused_logged_and_sends_nothing(
    invoke: Invoke,
    clients: Clients,
    web_prod: list[str],
    log: io.StringIO,
    change: dict[str, Any],
    field: str,
    rule: str,
) -> None:
    event = leaving(web_prod[0])
    for key, value in change.items():
        if key == "detail" and isinstance(value, dict):
            for name, new in value.items():
                if new is None:
                    del event["detail"][name]
                else:
                    event["detail"][name] = new
        else:
            event[key] = copy.deepcopy(value)

    response = invoke(event)

    assert response["statusCode"] == 400
    error = response["body"]["error"]
    assert (error["field"], error["rule"]) == (field, rule)
    assert commands_in_moto(clients) == []
    [refusal] = [line for line in lines(log) if line.get("message") == "warm-pool event refused"]
    assert (refusal["field"], refusal["rule"]) == (field, rule)
    assert refusal["event_id"] == event["id"]


def test_a_second_delivery_while_the_first_clear_runs_is_refused(
    invoke: Invoke, clients: Clients, web_prod: list[str], log: io.StringIO
) -> None:
    # EventBridge delivers at least once: the same exit may arrive twice
    first = invoke(leaving(web_prod[0]))
    aws_emulator.set_command_running(first["body"]["commandId"])

    second = invoke(leaving(web_prod[0]))

    assert second["statusCode"] == 409
    error = second["body"]["error"]
    assert error["rule"] == "clear-in-progress"
    assert error["runningCommand"]["commandId"] == first["body"]["commandId"]
    assert f"instance {web_prod[0]}" in error["message"]
    assert len(commands_in_moto(clients)) == 1
    [refusal] = [line for line in lines(log) if line.get("message") == "warm-pool event refused"]
    assert refusal["running_command"]["commandId"] == first["body"]["commandId"]


def test_another_instance_leaving_meanwhile_is_cleared_too(
    invoke: Invoke, clients: Clients, web_prod: list[str]
) -> None:
    first = invoke(leaving(web_prod[0]))
    aws_emulator.set_command_running(first["body"]["commandId"])

    assert invoke(leaving(web_prod[1]))["statusCode"] == 202
    assert len(commands_in_moto(clients)) == 2


def test_a_running_clear_of_the_whole_group_does_not_stand_in_for_it(
    invoke: Invoke, clients: Clients, web_prod: list[str]
) -> None:
    # The group clear's tag target was resolved when it was sent, before this instance left
    # the pool: it may never reach it, so the instance gets its own clear.
    running_clear(clients)

    response = invoke(leaving(web_prod[0]))

    assert response["statusCode"] == 202
    assert len(commands_in_moto(clients)) == 2


def test_throttling_raises_so_that_lambda_retries_the_event(
    invoke: Invoke, clients: Clients, web_prod: list[str], no_backoff: list[float]
) -> None:
    # An asynchronous invocation that returns is done; only an error makes Lambda try again
    handler.clients.cache_clear()
    own = handler.clients()
    inject(own.ssm, "ssm", "ListCommands", Fault(ssm_error("ThrottlingException"), 99))

    with pytest.raises(Refusal, match="throttled ListCommands"):
        invoke(leaving(web_prod[0]))

    assert commands_in_moto(clients) == []


def test_a_throttled_send_raises_too(
    invoke: Invoke, clients: Clients, web_prod: list[str], no_backoff: list[float]
) -> None:
    handler.clients.cache_clear()
    own = handler.clients()
    inject(own.ssm_send, "ssm", "SendCommand", Fault(ssm_error("ThrottlingException"), 99))

    with pytest.raises(ClientError, match="ThrottlingException"):
        invoke(leaving(web_prod[0]))

    assert commands_in_moto(clients) == []


@pytest.mark.parametrize(
    ("name", "origin"), [("console-clear-all.json", "console"), ("api-clear.json", "api")]
)
def test_each_way_in_marks_its_requests_origin(
    monkeypatch: pytest.MonkeyPatch, settings: Config, clients: Clients, name: str, origin: str
) -> None:
    # The command record keeps where a clear came from (api, console or warm-pool)
    seen: list[FlushRequest] = []

    def capture(request: FlushRequest, *_: Any) -> Any:
        seen.append(request)
        raise Refusal(409, "captured")

    monkeypatch.setattr(handler, "dispatch", capture)
    handler.handle(stored_event(name), settings, clients)
    assert [request.origin for request in seen] == [origin]


def test_a_send_that_may_have_run_raises_and_lambdas_retry_is_refused_by_the_claim(
    invoke: Invoke, clients: Clients, web_prod: list[str], no_backoff: list[float]
) -> None:
    # A 500 may come after SSM accepted the command: the instance's claim stays, so Lambda's
    # retry of the event a minute later is refused instead of clearing the instance twice
    handler.clients.cache_clear()
    own = handler.clients()
    fault = inject(
        own.ssm_send, "ssm", "SendCommand", Fault(ssm_error("InternalServerError", 500, "oops"), 1)
    )

    with pytest.raises(SendOutcomeUnknown, match=f"warm-pool: {web_prod[0]} left the warm pool"):
        invoke(leaving(web_prod[0]))
    assert fault.attempts == 1

    retried = invoke(leaving(web_prod[0]))
    assert retried["statusCode"] == 409
    running = retried["body"]["error"]["runningCommand"]
    # No command id: the first attempt never learnt one
    assert running["commandId"] is None
    assert "still being sent" in retried["body"]["error"]["message"]
    assert fault.attempts == 1
