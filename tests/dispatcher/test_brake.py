"""The brake: with a stop alarm set, every command carries it, and a clear requested while it
fires is refused with nothing sent. Through lambda_handler against moto's CloudWatch."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from apcu_dispatcher import handler
from apcu_dispatcher.clients import build_clients
from apcu_dispatcher.config import Config, ConfigError
from harness import aws_emulator
from tests.dispatcher.conftest import ENV, commands_in_moto, stored_event
from tests.dispatcher.test_handler import Context

ALARM = "web-prod-database-struggling"
CLEAR = {"group": "web-prod", "action": "clear-apcu", "comment": "release 2026.12.03"}
Invoke = Callable[[object], dict[str, Any]]


@pytest.fixture
def invoke(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Invoke]:
    """lambda_handler of a stack whose StopAlarmName is ALARM, with its clients built in moto."""
    monkeypatch.setattr(
        handler, "config", dataclasses.replace(handler.config, stop_alarm_name=ALARM)
    )
    handler.clients.cache_clear()
    aws_emulator.create_commands_table(ENV["COMMANDS_TABLE"])
    boto3.client("scheduler", region_name="us-east-1").create_schedule_group(
        Name=ENV["WATCHDOG_GROUP"]
    )
    yield lambda event: handler.lambda_handler(event, Context())
    handler.clients.cache_clear()


def cloudwatch() -> Any:
    return boto3.client("cloudwatch", region_name="us-east-1")


def put_alarm(
    state: str = "OK", reason: str = "Threshold Crossed: 1 datapoint [12.0] < 80.0"
) -> None:
    cloudwatch().put_metric_alarm(
        AlarmName=ALARM,
        Namespace="AWS/RDS",
        MetricName="CPUUtilization",
        Dimensions=[{"Name": "DBClusterIdentifier", "Value": "app"}],
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=80.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    # moto starts a new alarm in OK; CloudWatch in INSUFFICIENT_DATA. Say the state outright.
    cloudwatch().set_alarm_state(AlarmName=ALARM, StateValue=state, StateReason=reason)


def test_every_clear_carries_the_stop_alarm(invoke: Invoke, web_prod: list[str]) -> None:
    put_alarm("OK")

    response = invoke(CLEAR)

    assert response["statusCode"] == 202, response
    command_id = response["body"]["commandId"]
    # What SSM received, and what ListCommands shows of it.
    expected = {"Alarms": [{"Name": ALARM}], "IgnorePollAlarmFailure": False}
    assert aws_emulator.sent_alarm_configuration(command_id) == expected
    [listed] = [c for c in commands_in_moto(handler.clients()) if c["CommandId"] == command_id]
    assert listed["AlarmConfiguration"] == expected
    assert response["body"]["stopAlarm"]["state"] == "OK"


def test_a_clear_while_the_alarm_fires_is_refused_naming_it_and_sends_nothing(
    invoke: Invoke, web_prod: list[str]
) -> None:
    put_alarm("ALARM", "Threshold Crossed: 3 datapoints were greater than 80.0")

    response = invoke(CLEAR)

    assert response["statusCode"] == 409
    error = response["body"]["error"]
    assert error["rule"] == "alarm-firing"
    assert ALARM in error["message"] and "greater than 80.0" in error["message"]
    assert error["alarm"]["name"] == ALARM and error["alarm"]["state"] == "ALARM"
    assert error["alarm"]["since"]
    assert commands_in_moto(handler.clients()) == []


def test_the_api_gets_the_same_409(invoke: Invoke, web_prod: list[str]) -> None:
    put_alarm("ALARM")
    event = stored_event("api-clear.json")

    response = invoke(event)

    assert response["statusCode"] == 409
    assert json.loads(response["body"])["error"]["rule"] == "alarm-firing"
    assert commands_in_moto(handler.clients()) == []


def test_a_dry_run_is_refused_too_and_otherwise_shows_the_alarm(
    invoke: Invoke, web_prod: list[str]
) -> None:
    put_alarm("ALARM")
    refused = invoke({**CLEAR, "dryRun": True})
    assert refused["statusCode"] == 409
    assert refused["body"]["error"]["rule"] == "alarm-firing"

    cloudwatch().set_alarm_state(AlarmName=ALARM, StateValue="OK", StateReason="recovered")
    planned = invoke({**CLEAR, "dryRun": True})

    assert planned["statusCode"] == 200, planned
    assert planned["body"]["stopAlarm"] == {
        "name": ALARM,
        "state": "OK",
        "reason": "recovered",
        "since": planned["body"]["stopAlarm"]["since"],
    }
    assert planned["body"]["wouldSend"]["AlarmConfiguration"]["Alarms"] == [{"Name": ALARM}]
    assert commands_in_moto(handler.clients()) == []


def test_insufficient_data_does_not_hold_a_clear(invoke: Invoke, web_prod: list[str]) -> None:
    # SSM stops a command only in ALARM; a new alarm starts in INSUFFICIENT_DATA.
    put_alarm("INSUFFICIENT_DATA")

    response = invoke(CLEAR)

    assert response["statusCode"] == 202, response
    assert response["body"]["stopAlarm"]["state"] == "INSUFFICIENT_DATA"


def test_a_stop_alarm_that_does_not_exist_sends_nothing_and_says_what_to_fix(
    invoke: Invoke, web_prod: list[str]
) -> None:
    response = invoke(CLEAR)

    assert response["statusCode"] == 409
    error = response["body"]["error"]
    assert error["rule"] == "alarm-not-found"
    assert ALARM in error["message"] and "StopAlarmName" in error["message"]
    assert commands_in_moto(handler.clients()) == []


def test_a_throttled_alarm_read_is_a_503_with_nothing_sent(
    invoke: Invoke, web_prod: list[str]
) -> None:
    put_alarm("OK")
    clients = handler.clients()
    assert clients.cloudwatch is not None

    def throttle(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "DescribeAlarms"
        )

    clients.cloudwatch.meta.events.register("before-send.cloudwatch.DescribeAlarms", throttle)

    response = invoke(CLEAR)

    assert response["statusCode"] == 503
    assert "DescribeAlarms" in response["body"]["error"]["message"]
    assert commands_in_moto(clients) == []


def test_a_warm_pool_clear_carries_the_alarm_too(invoke: Invoke, web_prod: list[str]) -> None:
    put_alarm("OK")
    event = stored_event("warm-pool-exit.json")
    event["detail"]["EC2InstanceId"] = web_prod[0]

    response = invoke(event)

    assert response["statusCode"] == 202, response
    command_id = response["body"]["commandId"]
    assert aws_emulator.sent_alarm_configuration(command_id) == {
        "Alarms": [{"Name": ALARM}],
        "IgnorePollAlarmFailure": False,
    }


def test_without_a_stop_alarm_no_command_carries_one_and_cloudwatch_is_not_called(
    clients: Any, web_prod: list[str], settings: Config
) -> None:
    assert settings.stop_alarm_name is None and clients.cloudwatch is None

    answer = handler.handle(CLEAR, settings, clients)

    assert answer.response["statusCode"] == 202
    assert aws_emulator.sent_alarm_configuration(answer.response["body"]["commandId"]) is None
    assert "stopAlarm" not in answer.response["body"]


def test_only_a_stack_with_a_stop_alarm_builds_a_cloudwatch_client() -> None:
    assert build_clients("us-east-1").cloudwatch is None
    assert build_clients("us-east-1", stop_alarm=True).cloudwatch is not None


@pytest.mark.parametrize("name", ["x" * 256, "bad\nname"])
def test_an_unusable_alarm_name_is_a_configuration_error(name: str) -> None:
    with pytest.raises(ConfigError, match="STOP_ALARM_NAME"):
        Config.from_env({**ENV, "STOP_ALARM_NAME": name})


def test_an_empty_alarm_name_means_no_brake() -> None:
    assert Config.from_env({**ENV, "STOP_ALARM_NAME": "  "}).stop_alarm_name is None
    assert Config.from_env({**ENV, "STOP_ALARM_NAME": ALARM}).stop_alarm_name == ALARM
