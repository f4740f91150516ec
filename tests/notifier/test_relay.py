"""The relay: SSM's notifications as SNS delivers them to the notifier's alias, each delivery an
execution of its own (apcu_notifier.handler)."""

from __future__ import annotations

import json
from pathlib import Path

from harness import aws_emulator
from harness.stack import Stack
from tests.fleet import Fleet

EVENTS = Path(__file__).resolve().parents[2] / "events" / "notifier"


def deliver(stack: Stack, event: dict[str, object]) -> dict[str, object]:
    return stack.lambda_.outcome(stack.lambda_.deliver(event))


def sns(message: object) -> dict[str, object]:
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "Sns": {
                    "MessageId": "m-1",
                    "Message": message if isinstance(message, str) else json.dumps(message),
                },
            }
        ]
    }


def test_an_unreadable_notification_is_posted_as_an_alert(deployed: Stack) -> None:
    outcome = deliver(deployed, sns("this is not JSON <!channel>"))

    assert outcome["outcomes"] == [{"verdict": "unreadable"}]
    [post] = deployed.slack.webhook_posts
    assert "&lt;!channel&gt;" in json.dumps(post), "what SNS brought is escaped: it notifies no one"


def test_a_notification_per_instance_and_a_status_that_is_not_final_do_nothing(
    deployed: Stack,
) -> None:
    command = "5f0c4a1e-8d3b-4c2a-9e7f-1b6d2a9c3e48"
    outcome = deliver(
        deployed,
        {
            "Records": [
                *sns(
                    {"commandId": command, "instanceId": "i-0123456789abcdef0", "status": "Success"}
                )["Records"],  # type: ignore[index]
                *sns({"commandId": command, "status": "InProgress"})["Records"],  # type: ignore[index]
            ]
        },
    )

    assert [o["skipped"] for o in outcome["outcomes"]] == ["Success", "InProgress"]  # type: ignore[index]
    assert not deployed.lambda_.started(command)
    assert deployed.slack.webhook_posts == []


def test_a_command_ssm_does_not_know_is_posted_as_an_alert(deployed: Stack) -> None:
    command = "5f0c4a1e-8d3b-4c2a-9e7f-1b6d2a9c3e48"
    deliver(deployed, sns({"commandId": command, "status": "Success", "documentName": "x"}))

    assert deployed.outcome(command)["verdict"] == "unknown_command"
    assert len(deployed.slack.webhook_posts) == 1


def test_the_stored_example_events_page_no_one(deployed: Stack) -> None:
    """Someone who tries events/notifier/*.json on a real stack gets a test-event message, no
    alert: their command ids are of a form SSM never hands out."""
    for path in sorted(EVENTS.glob("command-*.json")):
        event = json.loads(path.read_text())
        status = json.loads(event["Records"][0]["Sns"]["Message"])["status"]
        if status not in ("Success", "Failed", "TimedOut", "Cancelled"):
            continue
        deliver(deployed, event)
        command = json.loads(event["Records"][0]["Sns"]["Message"])["commandId"]
        assert deployed.outcome(command)["verdict"] == "test_event"
        assert deployed.outcome(command)["alert"] is False


def test_a_command_sent_outside_the_dispatcher_is_judged_without_retry(deployed: Stack) -> None:
    """Someone ran the stack's document from the Run Command console: SSM's notification
    starts a clear for it, judged and posted; without a record of the dispatcher's it holds no
    group and is never re-sent."""
    import boto3

    from harness.stack import DOCUMENT, GROUP, TOPIC

    fleet = Fleet(
        {deployed.instances[0]: [aws_emulator.InvocationResult("TimedOut", "DeliveryTimedOut")]}
    ).serve()
    command = boto3.client("ssm").send_command(
        DocumentName=DOCUMENT,
        Targets=[{"Key": "tag:aws:autoscaling:groupName", "Values": [GROUP]}],
        NotificationConfig={
            "NotificationArn": f"arn:aws:sns:us-east-1:123456789012:{TOPIC}",
            "NotificationEvents": ["Success", "TimedOut", "Failed", "Cancelled"],
            "NotificationType": "Command",
        },
    )["Command"]["CommandId"]

    outcome = deployed.outcome(command)

    assert outcome["alert"] is True
    assert len(fleet.sent) == 1, "nothing is re-sent for a command the stack did not record"
    assert len(deployed.slack.webhook_posts) == 1
