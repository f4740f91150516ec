"""POST /flush/{commandId}/retry through the handler, against moto: what is re-sent (read back
from moto), what is refused, and what throttling does."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import threading
from typing import Any

import boto3
import pytest

from apcu_clear import claim as clear_claim
from apcu_clear import converge, store
from apcu_clear.item import RecordedProblem, RecordedVerdict
from apcu_dispatcher import handler
from apcu_dispatcher.clients import Clients
from apcu_dispatcher.config import Config
from harness import aws_emulator
from tests.dispatcher.conftest import (
    COMMANDS_TABLE,
    DOCUMENT,
    ROLE_ARN,
    TOPIC_ARN,
    WATCHDOG_GROUP,
    commands_in_moto,
    stored_event,
)
from tests.dispatcher.faults import Fault, inject, ssm_error

UNKNOWN_ID = "5f0c4a1e-8d3b-4c2a-9e7f-1b6d2a9c3e48"


def retry_event(command_id: Any, body: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = stored_event("api-retry.json")
    event["pathParameters"] = {"commandId": command_id}
    if body is not None:
        event["body"] = body
    return event


def ask(event: dict[str, Any], settings: Config, clients: Clients) -> tuple[int, dict[str, Any]]:
    response = handler.handle(event, settings, clients).response
    return response["statusCode"], json.loads(response["body"])


def clear(settings: Config, clients: Clients) -> str:
    event = stored_event("api-clear.json")
    response = handler.handle(event, settings, clients).response
    assert response["statusCode"] == 202, response
    return str(json.loads(response["body"])["commandId"])


def judge(clients: Clients, command_id: str, stale: list[str], *, kind: str = "partial") -> None:
    """Record the verdict the notifier would: `stale` failed (an empty list: ok). Its clear's
    claim on the group ends then, as the notifier ends it."""
    clear_claim.end(clients.dynamodb, COMMANDS_TABLE, clear_claim.group_key("web-prod"), command_id)
    claim = store.claim_verdict(
        clients.dynamodb, COMMANDS_TABLE, command_id, now=dt.datetime.now(dt.UTC), hold_seconds=60
    )
    verdict = RecordedVerdict(
        kind=kind if stale else "ok",
        alert=bool(stale),
        expected=None,
        targeted=len(stale),
        succeeded=0,
        missing_instances=(),
        problems=tuple(RecordedProblem(i, "Failed", "Undeliverable") for i in stale[:20]),
        posted_at="2026-11-29T05:30:00Z",
        via="sns",
        stale_instances=tuple(sorted(stale)),
        stale_count=len(stale),
    )
    assert store.record_verdict(clients.dynamodb, COMMANDS_TABLE, command_id, claim.token, verdict)


def sent_after(clients: Clients, first: str) -> list[dict[str, Any]]:
    """The commands moto holds besides the first clear, oldest first."""
    return sorted(
        (c for c in commands_in_moto(clients) if c["CommandId"] != first),
        key=lambda c: len(c["InstanceIds"]),
        reverse=True,
    )


def test_a_partial_clears_stale_instances_are_re_sent_exactly(
    settings: Config, clients: Clients, web_prod: list[str], sent: list[dict[str, Any]]
) -> None:
    # Given a clear of web-prod (prefix config:) whose verdict left two instances stale
    first = clear(settings, clients)
    judge(clients, first, web_prod[1:])

    # When someone retries it, with a body that tries to choose the instances and the script
    status, body = ask(
        retry_event(first, body='{"instanceIds": ["i-0bad"], "commands": ["rm -rf /"]}'),
        settings,
        clients,
    )

    # Then exactly those two get the same command; nothing from the body reached SSM
    assert status == 202, body
    [command] = sent_after(clients, first)
    assert sorted(command["InstanceIds"]) == web_prod[1:]
    assert command["Targets"] == []
    assert command["DocumentName"] == DOCUMENT
    assert command["Parameters"] == {"action": ["clear-apcu"], "prefix": ["config:"]}
    assert command["NotificationConfig"] == {
        "NotificationArn": TOPIC_ARN,
        "NotificationEvents": ["Success", "TimedOut", "Cancelled", "Failed"],
        "NotificationType": "Command",
    }
    assert command["ServiceRole"] == ROLE_ARN
    # Everything but the target and the comment is the first clear's request, word for word
    clear_request, retry_request = sent
    differs = {"Targets", "InstanceIds", "Comment"}
    assert {k: v for k, v in retry_request.items() if k not in differs} == {
        k: v for k, v in clear_request.items() if k not in differs
    }
    assert retry_request["InstanceIds"] == web_prod[1:]
    assert retry_request["Comment"] == f"PlatformOps/alice: retry of {first}"
    assert body["commandIds"] == [command["CommandId"]]
    assert body["retryOf"] == first
    assert sorted(body["retried"]) == web_prod[1:]
    assert body["skipped"] == []
    assert body["consoleUrl"].endswith(f"{command['CommandId']}?region=us-east-1")
    # And the retry is recorded as one, and armed with a watchdog like any command
    record = store.read(clients.dynamodb, COMMANDS_TABLE, command["CommandId"])
    assert record is not None
    assert (record.origin, record.retry_of, record.group, record.prefix) == (
        "retry",
        first,
        "web-prod",
        "config:",
    )
    clients.scheduler.get_schedule(
        Name=f"watchdog-{command['CommandId']}", GroupName=WATCHDOG_GROUP
    )
    original = store.read(clients.dynamodb, COMMANDS_TABLE, first)
    assert original is not None
    assert original.retries == (command["CommandId"],)


def test_sixty_stale_instances_take_two_commands_of_fifty_and_ten(
    settings: Config, clients: Clients
) -> None:
    members = sorted(aws_emulator.create_group("web-prod", 60))
    first = clear(settings, clients)
    judge(clients, first, members, kind="no_targets")

    status, body = ask(retry_event(first), settings, clients)

    assert status == 202, body
    commands = sent_after(clients, first)
    assert [len(c["InstanceIds"]) for c in commands] == [50, 10]
    assert sorted(i for c in commands for i in c["InstanceIds"]) == members
    assert sorted(body["commandIds"]) == sorted(c["CommandId"] for c in commands)
    original = store.read(clients.dynamodb, COMMANDS_TABLE, first)
    assert original is not None
    assert sorted(original.retries) == sorted(body["commandIds"])


def test_an_instance_that_left_in_service_is_skipped(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    first = clear(settings, clients)
    judge(clients, first, web_prod[1:])
    aws_emulator.set_lifecycle("web-prod", [web_prod[2]], "Terminating")

    status, body = ask(retry_event(first), settings, clients)

    assert status == 202, body
    [command] = sent_after(clients, first)
    assert command["InstanceIds"] == [web_prod[1]]
    assert (body["retried"], body["skipped"]) == ([web_prod[1]], [web_prod[2]])


def test_nothing_to_retry_when_every_stale_instance_left_in_service(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    first = clear(settings, clients)
    judge(clients, first, [web_prod[2]])
    aws_emulator.set_lifecycle("web-prod", [web_prod[2]], "Standby")

    status, body = ask(retry_event(first), settings, clients)

    assert status == 409
    assert body["error"]["rule"] == "nothing-to-retry"
    assert body["error"]["skipped"] == [web_prod[2]]
    assert sent_after(clients, first) == []


def test_nothing_to_retry_after_an_ok_clear(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    first = clear(settings, clients)
    judge(clients, first, [])

    status, body = ask(retry_event(first), settings, clients)

    assert (status, body["error"]["rule"]) == (409, "nothing-to-retry")
    assert sent_after(clients, first) == []


def test_a_command_not_yet_judged_is_refused(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    first = clear(settings, clients)

    status, body = ask(retry_event(first), settings, clients)

    assert (status, body["error"]["rule"]) == (409, "clear-in-progress")
    assert sent_after(clients, first) == []


def test_a_second_retry_waits_for_the_first_until_its_verdict_or_its_expiry(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    first = clear(settings, clients)
    judge(clients, first, web_prod)
    status, body = ask(retry_event(first), settings, clients)
    assert status == 202
    [retry_id] = body["commandIds"]

    # While the retry runs, neither the clear nor the retry's own id can be retried
    status, body = ask(retry_event(first), settings, clients)
    assert (status, body["error"]["rule"]) == (409, "clear-in-progress")
    assert body["error"]["runningCommand"]["commandId"] == retry_id
    status, body = ask(retry_event(retry_id), settings, clients)
    assert (status, body["error"]["rule"]) == (409, "clear-in-progress")
    assert len(sent_after(clients, first)) == 1

    # Once its expiry has passed without a verdict (SSM's final notification ended the claim,
    # but no verdict came), the clear can be retried again
    clear_claim.end(clients.dynamodb, COMMANDS_TABLE, clear_claim.group_key("web-prod"), retry_id)
    clients.dynamodb.update_item(
        TableName=COMMANDS_TABLE,
        Key={"commandId": {"S": retry_id}},
        UpdateExpression="SET expiresAt = :past",
        ExpressionAttributeValues={":past": {"S": "2026-01-01T00:00:00Z"}},
    )
    status, body = ask(retry_event(first), settings, clients)
    assert status == 202, body
    assert len(sent_after(clients, first)) == 2
    # And it says that retrying the retry would have re-sent less
    [warning] = body["warnings"]
    assert (warning["reason"], retry_id in warning["message"]) == ("retried-before", True)


def test_a_retry_of_a_retry_belongs_to_the_same_clear(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    first = clear(settings, clients)
    judge(clients, first, web_prod)
    [retry_id] = ask(retry_event(first), settings, clients)[1]["commandIds"]
    # The retry reached all but one
    judge(clients, retry_id, [web_prod[0]])

    status, body = ask(retry_event(retry_id), settings, clients)

    assert status == 202, body
    [second] = body["commandIds"]
    record = store.read(clients.dynamodb, COMMANDS_TABLE, second)
    assert record is not None and record.retry_of == first
    assert body["retried"] == [web_prod[0]]
    original = store.read(clients.dynamodb, COMMANDS_TABLE, first)
    assert original is not None and original.retries == (retry_id, second)
    # The status route links them both ways
    status_event = stored_event("api-status.json")
    status_event["pathParameters"] = {"commandId": first}
    shown = ask(status_event, settings, clients)[1]
    assert shown["retries"] == {"count": 2, "latest": [retry_id, second]}
    status_event["pathParameters"] = {"commandId": second}
    assert ask(status_event, settings, clients)[1]["retryOf"] == first


def test_a_command_this_stack_never_sent_is_not_found(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    # Even a real command in SSM: without a record it is never re-sent
    ssm = boto3.client("ssm", region_name="us-east-1")
    other = ssm.send_command(DocumentName="AWS-RunShellScript", InstanceIds=web_prod[:1])
    other_id = other["Command"]["CommandId"]

    for command_id in (UNKNOWN_ID, other_id):
        status, body = ask(retry_event(command_id), settings, clients)
        assert (status, body["error"]["rule"]) == (404, "unknown-command")
    assert len(commands_in_moto(clients)) == 1


@pytest.mark.parametrize("command_id", ["not-a-uuid", "", None, UNKNOWN_ID + "0"])
def test_a_malformed_command_id_is_a_400(
    settings: Config, clients: Clients, command_id: Any
) -> None:
    status, body = ask(retry_event(command_id), settings, clients)

    assert status == 400
    assert (body["error"]["field"], body["error"]["rule"]) == ("commandId", "pattern")


def test_a_send_throttled_once_is_sent_again_once(
    settings: Config, clients: Clients, web_prod: list[str], no_backoff: list[float]
) -> None:
    first = clear(settings, clients)
    judge(clients, first, web_prod[1:])
    fault = inject(
        clients.ssm_send, "ssm", "SendCommand", Fault(ssm_error("ThrottlingException"), 1)
    )

    status, body = ask(retry_event(first), settings, clients)

    assert status == 202, body
    assert fault.attempts == 2
    [command] = sent_after(clients, first)
    assert sorted(command["InstanceIds"]) == web_prod[1:]


def test_a_send_throttled_throughout_is_a_503_with_nothing_sent(
    settings: Config, clients: Clients, web_prod: list[str], no_backoff: list[float]
) -> None:
    first = clear(settings, clients)
    judge(clients, first, web_prod[1:])
    inject(clients.ssm_send, "ssm", "SendCommand", Fault(ssm_error("ThrottlingException"), 99))

    status, body = ask(retry_event(first), settings, clients)

    assert (status, body["error"]["rule"]) == (503, "aws-throttled")
    assert sent_after(clients, first) == []
    original = store.read(clients.dynamodb, COMMANDS_TABLE, first)
    assert original is not None and original.retries == ()


def test_the_handler_counts_a_retry(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    first = clear(settings, clients)
    judge(clients, first, web_prod[1:])

    handled = handler.handle(retry_event(first), settings, clients)

    assert handled.outcome == "RetryAccepted"


def test_a_throttled_retry_leaves_the_group_free_for_the_next(
    settings: Config, clients: Clients, web_prod: list[str], no_backoff: list[float]
) -> None:
    first = clear(settings, clients)
    judge(clients, first, web_prod[1:])
    fault = inject(
        clients.ssm_send, "ssm", "SendCommand", Fault(ssm_error("ThrottlingException"), 3)
    )
    assert ask(retry_event(first), settings, clients)[0] == 503
    assert fault.attempts == 3

    # Nothing was sent, so its claim was given back: the caller's next try goes through.
    status, body = ask(retry_event(first), settings, clients)

    assert status == 202, body
    assert len(sent_after(clients, first)) == 1


def test_two_retries_at_once_send_one(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    # Given a judged clear, and two people pressing retry at the same moment: each request's
    # SendCommand is held until both have got that far, or until one was refused
    first = clear(settings, clients)
    judge(clients, first, web_prod)
    arrived = threading.Barrier(2, timeout=5)
    answers: list[tuple[int, dict[str, Any]]] = []

    def hold(**_: Any) -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            arrived.wait()

    clients.ssm_send.meta.events.register("before-call.ssm.SendCommand", hold)

    def press() -> None:
        answer = ask(retry_event(first), settings, clients)
        answers.append(answer)
        if answer[0] != 202:
            arrived.abort()

    threads = [threading.Thread(target=press) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # Then exactly one retry command went out; the other press was told which is running
    assert sorted(status for status, _ in answers) == [202, 409]
    [refused] = [body for status, body in answers if status == 409]
    assert refused["error"]["rule"] == "clear-in-progress"
    assert len(sent_after(clients, first)) == 1


def test_a_retry_while_the_stop_alarm_fires_is_refused_and_sends_nothing(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    # Given a stack with a stop alarm, in ALARM
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    cloudwatch.put_metric_alarm(
        AlarmName="db-struggling",
        Namespace="AWS/RDS",
        MetricName="CPUUtilization",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=80.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    braked = dataclasses.replace(settings, stop_alarm_name="db-struggling")
    with_alarm = dataclasses.replace(clients, cloudwatch=cloudwatch)
    first = clear(braked, with_alarm)
    judge(clients, first, web_prod)
    cloudwatch.set_alarm_state(AlarmName="db-struggling", StateValue="ALARM", StateReason="CPU 97%")

    status, body = ask(retry_event(first), braked, with_alarm)

    assert (status, body["error"]["rule"]) == (409, "alarm-firing")
    assert "db-struggling" in body["error"]["message"]
    assert sent_after(clients, first) == []

    # Once it is OK, the retry carries the alarm as every command does
    cloudwatch.set_alarm_state(AlarmName="db-struggling", StateValue="OK", StateReason="CPU 40%")
    status, body = ask(retry_event(first), braked, with_alarm)
    assert status == 202, body
    [command] = sent_after(clients, first)
    assert aws_emulator.sent_alarm_configuration(command["CommandId"]) == {
        "Alarms": [{"Name": "db-struggling"}],
        "IgnorePollAlarmFailure": False,
    }


def test_a_throttle_after_the_first_command_answers_what_was_not_sent(
    settings: Config, clients: Clients, no_backoff: list[float]
) -> None:
    # Given 60 stale instances, and SSM throttling every SendCommand after the first
    members = sorted(aws_emulator.create_group("web-prod", 60))
    first = clear(settings, clients)
    judge(clients, first, members, kind="no_targets")
    throttle = Fault(ssm_error("ThrottlingException"), 99)
    calls: list[str] = []

    def after_the_first(request: Any, **kwargs: Any) -> Any:
        calls.append("SendCommand")
        return throttle(request, **kwargs) if len(calls) > 1 else None

    clients.ssm_send.meta.events.register("before-send.ssm.SendCommand", after_the_first)

    status, body = ask(retry_event(first), settings, clients)

    # Then the 202 names the command sent and the 10 instances it could not send to
    assert status == 202, body
    [command] = sent_after(clients, first)
    assert len(command["InstanceIds"]) == 50
    assert sorted(body["notSent"]) == sorted(set(members) - set(command["InstanceIds"]))
    assert any("throttled" in w["message"] for w in body["warnings"])
    # And the clear's claim stays with the command that runs: a retry now is refused
    again, refused = ask(retry_event(first), settings, clients)
    assert (again, refused["error"]["rule"]) == (409, "clear-in-progress")


def _clear_verdict(stale: list[str]) -> RecordedVerdict:
    return RecordedVerdict(
        "partial",
        True,
        3,
        3,
        3 - len(stale),
        (),
        (),
        "2026-11-29T05:40:00Z",
        "sns",
        stale_instances=tuple(stale),
        stale_count=len(stale),
    )


def test_a_clear_the_notifier_retried_re_sends_only_what_its_last_attempt_left_stale(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    # Given a clear whose first attempt left two instances stale, and whose automatic retry
    # cleared one of them
    first = clear(settings, clients)
    judge(clients, first, web_prod[1:])
    attempt = converge.Attempt(first, 0, dict.fromkeys(web_prod[1:], "Failed"))
    assert converge.start_round(clients.dynamodb, COMMANDS_TABLE, first, 1, "t", attempt)

    # While that retry runs, a retry on demand is refused
    status, body = ask(retry_event(first), settings, clients)
    assert (status, body["error"]["rule"]) == (409, "clear-in-progress")

    converge.judge_clear(clients.dynamodb, COMMANDS_TABLE, first, _clear_verdict(web_prod[2:]))

    # Then a retry on demand sends only the instance still stale
    status, body = ask(retry_event(first), settings, clients)
    assert status == 202, body
    assert body["retried"] == web_prod[2:]
