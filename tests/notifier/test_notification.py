"""Reading SNS events as SSM sends them, and naming what is wrong with those it does not."""

from __future__ import annotations

import json
from typing import Any

import pytest

from apcu_notifier.notification import (
    CommandNotification,
    InvalidEvent,
    InvocationNotification,
    UnreadableNotification,
    UnreadableReason,
    parse_event,
)
from tests.notifier.conftest import load_event, with_records

COMMAND_ID = "00000000-0000-4000-8000-000000000001"


@pytest.mark.parametrize(
    ("name", "status", "final"),
    [
        ("command-inprogress.json", "InProgress", False),
        ("command-success.json", "Success", True),
        ("command-failed.json", "Failed", True),
        ("command-timedout.json", "TimedOut", True),
        ("command-cancelled.json", "Cancelled", True),
    ],
)
def test_stored_command_events(name: str, status: str, final: bool) -> None:
    [notification] = parse_event(load_event(name))
    assert isinstance(notification, CommandNotification)
    assert notification.command_id == COMMAND_ID
    assert notification.status == status
    assert notification.is_final is final
    assert notification.document_name.startswith("apcu-fleet-flush-FlushDocument-")
    assert notification.event_time.startswith("2026-03-02T09:")


def test_stored_events_look_like_ssm_notifications() -> None:
    event = load_event("command-success.json")
    record = event["Records"][0]
    assert (record["EventSource"], record["EventVersion"]) == ("aws:sns", "1.0")
    assert record["Sns"]["Type"] == "Notification"
    assert record["Sns"]["Subject"] == "EC2 Run Command Notification ap-northeast-1"
    message = json.loads(record["Sns"]["Message"])
    assert list(message) == [
        "commandId",
        "documentName",
        "instanceIds",
        "requestedDateTime",
        "expiresAfter",
        "outputS3BucketName",
        "outputS3KeyPrefix",
        "status",
        "eventTime",
    ]
    assert message["instanceIds"] == []


def test_invocation_event_is_recognised_by_its_instance_id() -> None:
    [notification] = parse_event(load_event("invocation-success.json"))
    assert notification == InvocationNotification(COMMAND_ID, "i-0a1b2c3d4e5f60718", "Success")


def test_several_records_are_read_in_order() -> None:
    event = with_records(load_event("command-inprogress.json"), load_event("command-success.json"))
    assert [n.status for n in parse_event(event) if isinstance(n, CommandNotification)] == [
        "InProgress",
        "Success",
    ]


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ({}, "no Records"),
        ({"Records": []}, "no Records"),
        ({"Records": "x"}, "no Records"),
        ([], "got list"),
        (None, "got NoneType"),
    ],
)
def test_an_event_without_records_raises(event: Any, message: str) -> None:
    with pytest.raises(InvalidEvent, match=message):
        parse_event(event)


def _with_message(message: Any) -> dict[str, Any]:
    event = load_event("command-success.json")
    event["Records"][0]["Sns"]["Message"] = (
        message if isinstance(message, str) else json.dumps(message)
    )
    return event


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"Records": ["x"]}, UnreadableReason.NO_ENVELOPE),
        ({"Records": [{"Sns": None}]}, UnreadableReason.NO_ENVELOPE),
        ({"Records": [{"Sns": {"Message": 42}}]}, UnreadableReason.NO_MESSAGE),
        (_with_message("not json"), UnreadableReason.NOT_JSON),
        (_with_message("[" * 100_000), UnreadableReason.NOT_JSON),
        (_with_message([1, 2]), UnreadableReason.NOT_OBJECT),
        (_with_message({"status": "Success"}), UnreadableReason.NO_COMMAND_ID),
        (_with_message({"commandId": 7, "status": "Success"}), UnreadableReason.NO_COMMAND_ID),
        (
            _with_message({"commandId": "../../etc", "status": "Success"}),
            UnreadableReason.BAD_COMMAND_ID,
        ),
        (
            _with_message({"commandId": COMMAND_ID, "status": "Exploded"}),
            UnreadableReason.UNKNOWN_STATUS,
        ),
        (_with_message({"commandId": COMMAND_ID}), UnreadableReason.UNKNOWN_STATUS),
        (
            _with_message({"commandId": COMMAND_ID, "status": ["Success"]}),
            UnreadableReason.UNKNOWN_STATUS,
        ),
    ],
)
def test_unreadable_records_are_named_not_dropped(
    event: dict[str, Any], reason: UnreadableReason
) -> None:
    [notification] = parse_event(event)
    assert isinstance(notification, UnreadableNotification)
    assert notification.reason is reason
    assert len(notification.excerpt) <= 500
