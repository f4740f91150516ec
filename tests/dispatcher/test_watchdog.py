"""After SendCommand: the command record and the watchdog schedule, and a 202 whatever fails."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError

from apcu_dispatcher import handler
from apcu_dispatcher.clients import Clients
from apcu_dispatcher.config import Config
from harness import aws_emulator
from tests.dispatcher.conftest import (
    COMMANDS_TABLE,
    NOTIFIER_ARN,
    WATCHDOG_DLQ_ARN,
    WATCHDOG_GROUP,
    WATCHDOG_ROLE_ARN,
    commands_in_moto,
    stored_event,
)
from tests.dispatcher.faults import Fault, inject, raising, ssm_error

ALICE = "arn:aws:sts::123456789012:assumed-role/PlatformOps/alice"


@pytest.fixture
def schedules(clients: Clients) -> list[dict[str, Any]]:
    """Every CreateSchedule request, as botocore is about to serialise it."""
    requests: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        requests.append(copy.deepcopy(params))

    clients.scheduler.meta.events.register(
        "before-parameter-build.scheduler.CreateSchedule", record
    )
    return requests


def item(clients: Clients, command_id: str) -> dict[str, Any]:
    found = clients.dynamodb.get_item(
        TableName=COMMANDS_TABLE, Key={"commandId": {"S": command_id}}
    )
    return dict(found.get("Item", {}))


def body_of(handled: handler.Handled) -> dict[str, Any]:
    body = handled.response["body"]
    return json.loads(body) if isinstance(body, str) else dict(body)


def test_the_exact_schedule_fires_a_minute_after_the_commands_expiry(
    settings: Config,
    clients: Clients,
    web_prod: list[str],
    schedules: list[dict[str, Any]],
) -> None:
    # When the API asks for a clear
    handled = handler.handle(stored_event("api-clear.json"), settings, clients)

    # Then one schedule is created in the stack's group, for this command, at its expiry
    # (requested + 120 s delivery timeout + 60 s execution timeout) plus a minute, in UTC
    assert handled.response["statusCode"] == 202
    [command] = commands_in_moto(clients)
    command_id = command["CommandId"]
    requested = command["RequestedDateTime"].astimezone(dt.UTC).replace(microsecond=0)
    fires = requested + dt.timedelta(seconds=120 + 60 + 60)
    assert schedules == [
        {
            "Name": f"watchdog-{command_id}",
            "GroupName": WATCHDOG_GROUP,
            "ScheduleExpression": f"at({fires:%Y-%m-%dT%H:%M:%S})",
            "ScheduleExpressionTimezone": "UTC",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "ActionAfterCompletion": "DELETE",
            "Description": f"Judge Run Command {command_id} if SSM's notification is lost",
            "Target": {
                "Arn": NOTIFIER_ARN,
                "RoleArn": WATCHDOG_ROLE_ARN,
                "Input": json.dumps(
                    {"source": "apcu-fleet-flush.watchdog", "commandId": command_id},
                    separators=(",", ":"),
                ),
                "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 10},
                "DeadLetterConfig": {"Arn": WATCHDOG_DLQ_ARN},
            },
        }
    ]
    # And EventBridge Scheduler (moto) holds it as sent
    stored = clients.scheduler.get_schedule(Name=f"watchdog-{command_id}", GroupName=WATCHDOG_GROUP)
    assert stored["ScheduleExpression"] == f"at({fires:%Y-%m-%dT%H:%M:%S})"
    assert stored["Target"]["Arn"] == NOTIFIER_ARN
    assert json.loads(stored["Target"]["Input"])["commandId"] == command_id
    assert stored["ActionAfterCompletion"] == "DELETE"
    assert stored["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert body_of(handled)["warnings"] == []


def test_the_record_says_who_asked_for_what_and_when_it_expires(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    handler.handle(stored_event("api-clear.json"), settings, clients)

    [command] = commands_in_moto(clients)
    requested = command["RequestedDateTime"].astimezone(dt.UTC).replace(microsecond=0)
    expires = requested + dt.timedelta(seconds=180)
    assert item(clients, command["CommandId"]) == {
        "commandId": {"S": command["CommandId"]},
        "group": {"S": "web-prod"},
        "prefix": {"S": "config:"},
        "action": {"S": "clear-apcu"},
        "requester": {"S": ALICE},
        "comment": {"S": "new feature flags"},
        "origin": {"S": "api"},
        "requestedAt": {"S": f"{requested:%Y-%m-%dT%H:%M:%SZ}"},
        "expiresAt": {"S": f"{expires:%Y-%m-%dT%H:%M:%SZ}"},
        "state": {"S": "sent"},
        "ttl": {"N": str(int((requested + dt.timedelta(days=30)).timestamp()))},
        # The claim the notifier ends with the verdict (apcu_clear.claim)
        "clearClaim": {"S": "claim#group#web-prod"},
    }


def test_a_console_clear_is_recorded_as_such_with_an_empty_prefix(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    handler.handle(stored_event("console-clear-all.json"), settings, clients)

    [command] = commands_in_moto(clients)
    recorded = item(clients, command["CommandId"])
    assert recorded["origin"] == {"S": "console"}
    assert recorded["prefix"] == {"S": ""}
    assert recorded["requester"] == {"S": "console"}


def test_a_dry_run_writes_no_record_and_no_schedule(
    settings: Config, clients: Clients, web_prod: list[str], schedules: list[dict[str, Any]]
) -> None:
    handled = handler.handle(stored_event("console-dry-run.json"), settings, clients)

    assert handled.response["statusCode"] == 200
    assert schedules == []
    assert clients.dynamodb.scan(TableName=COMMANDS_TABLE)["Items"] == []


@pytest.mark.parametrize(
    ("service", "operation", "client_name", "step"),
    [
        ("dynamodb", "UpdateItem", "dynamodb", "record"),
        ("scheduler", "CreateSchedule", "scheduler", "schedule"),
    ],
)
def test_the_command_runs_and_the_answer_is_still_202_when_the_watchdog_cannot_be_armed(
    settings: Config,
    clients: Clients,
    web_prod: list[str],
    service: str,
    operation: str,
    client_name: str,
    step: str,
) -> None:
    # Given the record's table or the scheduler refuses every attempt
    client = getattr(clients, client_name)
    inject(client, service, operation, Fault(ssm_error("AccessDeniedException", 400, "no"), 99))

    handled = handler.handle(stored_event("api-clear.json"), settings, clients)

    # Then the command was sent once, and the caller is told not to send it again
    assert handled.response["statusCode"] == 202
    assert handled.outcome == "Accepted"
    assert len(commands_in_moto(clients)) == 1
    [warning] = body_of(handled)["warnings"]
    assert warning["reason"] == "watchdog-not-armed"
    assert f"its {step} could not be written" in warning["message"]
    assert "AccessDeniedException" in warning["message"]
    assert "Do not send it again" in warning["message"]


def test_the_other_half_is_still_written_when_one_fails(
    settings: Config, clients: Clients, web_prod: list[str], schedules: list[dict[str, Any]]
) -> None:
    # A schedule without a record still brings a verdict: the notifier judges unrecorded commands.
    inject(clients.dynamodb, "dynamodb", "UpdateItem", Fault(raising(_timeout), 99))

    handled = handler.handle(stored_event("api-clear.json"), settings, clients)

    assert handled.response["statusCode"] == 202
    assert len(schedules) == 1
    [command] = commands_in_moto(clients)
    assert item(clients, command["CommandId"]) == {}
    assert "ReadTimeoutError" in body_of(handled)["warnings"][0]["message"]


def _timeout(request: Any) -> Exception:
    return ReadTimeoutError(endpoint_url=request.url)


# --- the Lambda entry point: error log, metric ------------------------------------------------


class Context:
    function_name = "apcu-fleet-flush-Dispatcher"
    memory_limit_in_mb = 256
    invoked_function_arn = (
        "arn:aws:lambda:us-east-1:123456789012:function:apcu-fleet-flush-Dispatcher"
    )
    aws_request_id = "6f1b2c3d-0000-4000-8000-000000000002"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def _emitted(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_an_unarmed_watchdog_is_an_error_log_and_a_metric(
    log: io.StringIO, web_prod: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the stack's schedule group exists, but the command's record cannot be written
    # (the clear's claim can: it is a PutItem, the record an UpdateItem)
    boto3.client("scheduler", region_name="us-east-1").create_schedule_group(Name=WATCHDOG_GROUP)
    aws_emulator.create_commands_table(COMMANDS_TABLE)
    inject(
        handler.clients().dynamodb,
        "dynamodb",
        "UpdateItem",
        Fault(ssm_error("AccessDeniedException", 400, "no"), 99),
    )

    response = handler.lambda_handler(stored_event("api-clear.json"), Context())

    assert response["statusCode"] == 202
    [line] = [
        entry
        for entry in _emitted(log.getvalue())
        if entry.get("message", "").startswith("command sent but its watchdog is not armed")
    ]
    assert line["level"] == "ERROR"
    assert line["command_id"] == json.loads(response["body"])["commandId"]
    assert "record" in line["detail"]
    [metric] = _emitted(capsys.readouterr().out)
    assert metric["WatchdogNotArmed"] == [1.0]
    assert metric["Accepted"] == [1.0]
    # The dimension the stack's WatchdogNotArmedAlarm watches
    assert metric["service"] == "apcu-dispatcher"
    assert metric["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "ApcuFleetFlush"


def test_an_armed_watchdog_counts_no_failure(
    log: io.StringIO, web_prod: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    boto3.client("scheduler", region_name="us-east-1").create_schedule_group(Name=WATCHDOG_GROUP)
    aws_emulator.create_commands_table(COMMANDS_TABLE)

    response = handler.lambda_handler(stored_event("api-clear.json"), Context())

    assert json.loads(response["body"])["warnings"] == []
    [metric] = _emitted(capsys.readouterr().out)
    assert "WatchdogNotArmed" not in metric
    assert "not armed" not in log.getvalue()
