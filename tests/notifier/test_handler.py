"""The handler end to end: moto + the emulator for AWS, a real HTTP webhook on 127.0.0.1.

One test per row of the verdict table in docs/design.md, each checking the message Slack received.
"""

from __future__ import annotations

import collections
import uuid
from typing import Any

import boto3
import pytest

from apcu_notifier import handler
from apcu_notifier.config import Language
from apcu_notifier.notification import InvalidEvent
from harness import aws_emulator as emu
from harness.aws_emulator import InvocationResult, ok
from tests.notifier.conftest import GROUP, World, load_event, text_of, with_records


def count_calls(world: World) -> collections.Counter[str]:
    """AWS operations the notifier's own clients make, counted with botocore's event hooks."""
    calls: collections.Counter[str] = collections.Counter()
    rt = world.runtime
    assert rt is not None

    def hook(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    # The EC2 client is built on first use; build it now so that its calls are counted too.
    ec2 = getattr(rt, "ec2", None)
    for client in (rt.ssm, rt.autoscaling, rt.secrets.client, ec2() if callable(ec2) else None):
        if client is not None:
            client.meta.events.register("before-call", hook)
    return calls


def header(message: dict[str, Any]) -> str:
    return str(message["blocks"][0]["text"]["text"])


def test_ok_when_every_instance_of_the_group_cleared(world: World) -> None:
    # Given a group of 3 whose every instance ran the clear and reported its entries
    members = emu.create_group(GROUP, 3)
    command_id = world.send()
    emu.settle_command(command_id, {i: ok(cleared=12) for i in members})
    world.start()
    world.slack.always()

    # When SSM's Success notification arrives
    result = world.notify(command_id)

    # Then Slack hears that all 3 cleared, with the entries added up, and no mention
    message = world.slack.message()
    assert header(message) == "✅ APCu cleared on every instance"
    text = text_of(message)
    assert (
        "Every instance in web-prod ran the clear: 3 of 3 wanted, 36 entries removed in all."
        in text
    )
    assert "*Succeeded*\n3 of 3 wanted" in text
    assert "<!here>" not in text
    assert f"run-command/{command_id}?region=us-east-1" in text
    assert result["outcomes"] == [{"command_id": command_id, "verdict": "ok", "posted": True}]


def test_ok_says_nothing_held_a_cache_when_the_group_is_empty(world: World) -> None:
    emu.create_group(GROUP, 0)
    command_id = world.send()
    emu.settle_command(command_id, {})
    world.start()
    world.slack.always()

    world.notify(command_id)

    message = world.slack.message()
    assert header(message) == "✅ Nothing to clear: the group has no instances"
    assert "no server held a cache" in text_of(message)
    assert "<!here>" not in text_of(message)


def test_no_targets_when_success_reached_no_instance(world: World) -> None:
    # Given a group of 3 whose agents never registered: SSM reports Success on zero targets
    emu.create_group(GROUP, 3, managed=False)
    command_id = world.send()
    emu.settle_command(command_id, {}, status="Success", status_details="No Instances In Tag")
    world.start()
    world.slack.always()

    world.notify(command_id)

    message = world.slack.message()
    assert header(message) == "🚨 APCu clear reached no instance"
    text = text_of(message)
    assert message["text"].startswith("<!here> ")
    assert "reached no instance while web-prod wants 3" in text
    assert "*Succeeded*\n0 of 3 wanted" in text


def test_mismatch_names_the_instance_that_did_not_run_it(world: World) -> None:
    # Given a group of 3 where SSM reached only 2 (the third agent was stopped)
    members = emu.create_group(GROUP, 3)
    command_id = world.send()
    reached, silent = sorted(members)[:2], sorted(members)[2]
    emu.settle_command(command_id, {i: ok() for i in reached})
    world.start()
    world.slack.always()

    world.notify(command_id)

    message = world.slack.message()
    assert header(message) == "⚠️ APCu clear did not reach the whole group"
    text = text_of(message)
    assert "web-prod wants 3, but SSM sent the command to 2 of its InService instances." in text
    assert f"`{silent}`" in text
    assert "InService instances that did not run it: 1." in text
    assert "*Succeeded*\n2 of 3 wanted" in text
    assert "is scaling" not in text


def test_mismatch_says_when_the_group_is_scaling(world: World) -> None:
    # Given a scale-out: desired 4, one instance still Pending, the command ran on the 3 others
    members = emu.create_group(GROUP, 4)
    pending = sorted(members)[3]
    emu.set_lifecycle(GROUP, [pending], "Pending")
    command_id = world.send()
    emu.settle_command(command_id, {i: ok() for i in sorted(members)[:3]})
    world.start()
    world.slack.always()

    world.notify(command_id)

    text = text_of(world.slack.message())
    assert "web-prod wants 4, but SSM sent the command to 3 of its InService instances." in text
    assert "The group is scaling: desired 4, InService 3, pending 1, terminating 0." in text
    # The Pending instance could not run it yet and is not blamed as missing.
    assert pending not in text


def test_partial_lists_undeliverable_timed_out_and_denied_instances(world: World) -> None:
    members = sorted(emu.create_group(GROUP, 4))
    command_id = world.send()
    emu.settle_command(
        command_id,
        {
            members[0]: ok(cleared=5),
            members[1]: InvocationResult("Undeliverable"),
            members[2]: InvocationResult("TimedOut", status_details="DeliveryTimedOut"),
            members[3]: InvocationResult("Failed", status_details="Access Denied"),
        },
    )
    world.start()
    world.slack.always()

    world.notify(command_id)

    message = world.slack.message()
    assert header(message) == "⚠️ APCu clear failed on some instances"
    text = text_of(message)
    assert (
        "3 of 4 instances did not finish the clear "
        "(the 1 that succeeded removed 5 entries in all)." in text
    )
    assert f"`{members[1]}` Undeliverable" in text
    assert f"`{members[2]}` TimedOut (DeliveryTimedOut)" in text
    assert f"`{members[3]}` Failed (Access Denied)" in text
    assert "*Succeeded*\n1 of 4 wanted" in text


def test_failed_shows_the_error_output_of_failing_instances(world: World) -> None:
    members = sorted(emu.create_group(GROUP, 2))
    command_id = world.send()
    emu.settle_command(
        command_id,
        {
            members[0]: ok(),
            members[1]: InvocationResult(
                "Failed", stderr="curl: (22) The requested URL returned error: 503"
            ),
        },
        status="Failed",
    )
    world.start()
    world.slack.always()

    world.notify(command_id, "command-failed.json")

    message = world.slack.message()
    assert header(message) == "🚨 APCu clear failed"
    text = text_of(message)
    assert "The command ended *Failed*." in text
    assert f"`{members[1]}` Failed\n```curl: (22) The requested URL returned error: 503```" in text


@pytest.mark.parametrize(
    ("status", "event"),
    [("TimedOut", "command-timedout.json"), ("Cancelled", "command-cancelled.json")],
)
def test_failed_for_timed_out_and_cancelled_commands(world: World, status: str, event: str) -> None:
    members = emu.create_group(GROUP, 2)
    command_id = world.send()
    emu.settle_command(command_id, {i: InvocationResult(status) for i in members}, status=status)
    world.start()
    world.slack.always()

    world.notify(command_id, event)

    message = world.slack.message()
    assert header(message) == "🚨 APCu clear failed"
    assert f"The command ended *{status}*." in text_of(message)


def test_group_not_found_when_the_group_was_deleted_after_the_send(world: World) -> None:
    members = emu.create_group(GROUP, 2)
    command_id = world.send()
    emu.settle_command(command_id, {i: ok() for i in members})
    emu.delete_group(GROUP)
    world.start()
    world.slack.always()

    world.notify(command_id)

    message = world.slack.message()
    assert header(message) == "🚨 APCu clear: Auto Scaling group not found"
    assert "The Auto Scaling group web-prod does not exist any more" in text_of(message)
    assert message["text"].startswith("<!here> ")


def test_several_groups_are_summed_and_a_missing_one_is_named(world: World) -> None:
    blue = emu.create_group("web-blue", 2)
    green = emu.create_group("web-green", 3)
    command_id = world.send(("web-blue", "web-green"))
    emu.settle_command(command_id, {i: ok() for i in blue + green})
    world.start()
    world.slack.always()

    world.notify(command_id)
    assert "Every instance in web-blue, web-green ran the clear: 5 of 5 wanted" in text_of(
        world.slack.message()
    )


def test_instance_id_target_is_judged_by_its_invocations(world: World) -> None:
    members = emu.create_group(GROUP, 2)
    command_id = world.send(instance_ids=members)
    emu.settle_command(command_id, {i: ok() for i in members})
    world.start()
    world.slack.always()

    world.notify(command_id)

    message = world.slack.message()
    text = text_of(message)
    assert header(message) == "✅ APCu cleared on every instance"
    assert "not an Auto Scaling group, so it is judged by its invocations alone" in text
    assert "*Target*\ninstance ids" in text


def test_instance_id_target_with_no_target_is_an_alert(world: World) -> None:
    members = emu.create_group(GROUP, 2)
    command_id = world.send(instance_ids=members)
    emu.settle_command(command_id, {})
    world.start()
    world.slack.always()

    world.notify(command_id)

    message = world.slack.message()
    assert header(message) == "🚨 APCu clear reached no instance"
    assert "not an Auto Scaling group" in text_of(message)


def test_another_tag_target_is_judged_by_its_invocations(world: World) -> None:
    members = emu.create_group(GROUP, 2)
    command_id = world.send(
        targets=[
            {"Key": "tag:aws:autoscaling:groupName", "Values": [GROUP]},
            {"Key": "tag:Role", "Values": ["web"]},
        ]
    )
    emu.settle_command(
        command_id, {members[0]: ok(), members[1]: InvocationResult("Failed", stderr="boom")}
    )
    world.start()
    world.slack.always()

    world.notify(command_id)

    message = world.slack.message()
    assert header(message) == "⚠️ APCu clear failed on some instances"
    assert "tag:Role=web" in text_of(message)


def test_unknown_command_is_an_alert(world: World) -> None:
    world.start()
    world.slack.always()
    stranger = str(uuid.UUID(int=7))

    world.notify(stranger)

    message = world.slack.message()
    assert header(message) == "🚨 APCu clear: SSM does not know this command"
    assert f"SSM has no command {stranger} (notified as Success)" in text_of(message)


def test_unreadable_notification_is_posted_with_an_escaped_excerpt(world: World) -> None:
    world.start()
    world.slack.always()
    event = load_event("command-success.json")
    event["Records"][0]["Sns"]["Message"] = "status=Success <!channel> & more"

    world.invoke(event)

    message = world.slack.message()
    assert header(message) == "🚨 Unreadable Run Command notification"
    text = text_of(message)
    assert "the Message is not JSON" in text
    assert "```status=Success &lt;!channel&gt; &amp; more```" in text
    assert "<!channel>" not in text


@pytest.mark.parametrize("name", ["command-inprogress.json", "invocation-success.json"])
def test_non_final_and_invocation_notifications_post_nothing_and_call_nothing(
    world: World, name: str
) -> None:
    world.start()
    calls = count_calls(world)

    result = world.invoke(load_event(name))

    assert world.slack.messages() == []
    assert sum(calls.values()) == 0
    assert "skipped" in result["outcomes"][0]


def test_event_without_records_raises_a_clear_error(world: World) -> None:
    world.start()
    with pytest.raises(InvalidEvent, match="no Records"):
        world.invoke({"hello": "world"})
    assert world.slack.messages() == []


def test_final_notification_ahead_of_the_live_status_is_retried(world: World) -> None:
    # Given SNS delivered Success while ListCommands still says InProgress
    members = emu.create_group(GROUP, 2)
    command_id = world.send()
    emu.settle_command(
        command_id, {i: InvocationResult("InProgress") for i in members}, status="InProgress"
    )
    world.start()

    # Then the handler raises so that Lambda tries again, and posts nothing yet
    with pytest.raises(handler.NotificationsFailed, match="still reports it InProgress"):
        world.notify(command_id)
    assert world.slack.messages() == []


def test_every_record_is_handled_and_failures_are_raised_together(world: World) -> None:
    members = emu.create_group(GROUP, 2)
    settled = world.send()
    emu.settle_command(settled, {i: ok() for i in members})
    unsettled = world.send()
    emu.settle_command(unsettled, {}, status="InProgress")
    world.start()
    world.slack.always()

    event = with_records(
        load_event("command-success.json", commandId=unsettled),
        load_event("command-success.json", commandId=settled),
    )
    with pytest.raises(handler.NotificationsFailed) as raised:
        world.invoke(event)

    # The second record was still judged and posted; the first is named in the error.
    assert [m["blocks"][0]["text"]["text"] for m in world.slack.messages()] == [
        "✅ APCu cleared on every instance"
    ]
    assert "1 of 2 notification(s) failed: record 1: CommandNotSettled" in str(raised.value)


def test_japanese_message(world: World) -> None:
    members = emu.create_group(GROUP, 3)
    command_id = world.send()
    emu.settle_command(command_id, {i: ok(cleared=4) for i in sorted(members)[:2]})
    world.language = Language.JA
    world.start()
    world.slack.always()

    world.notify(command_id)

    message = world.slack.message()
    assert header(message) == "⚠️ APCu のクリアがグループの全台に届いていません"
    text = text_of(message)
    assert (
        "SSM がコマンドを送ったのは InService インスタンスのうち 2 台ですが、"
        "web-prod の希望台数は 3 台です。" in text
    )
    assert "完了した 2 台で計 8 件のエントリを削除しました。" in text
    assert "*成功台数*\n希望 3 台中 2 台" in text


def test_configuration_is_read_from_the_environment(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    members = emu.create_group(GROUP, 1)
    command_id = world.send()
    emu.settle_command(command_id, {i: ok() for i in members})
    monkeypatch.setenv("SLACK_WEBHOOK_SECRET_ARN", world.secret_arn)
    monkeypatch.setenv("MESSAGE_LANGUAGE", "ja")
    # Without the table, the watchdog's variables (set when the dispatcher's tests ran in
    # this process) would be refused: follow-ups need the record.
    for name in (
        "COMMANDS_TABLE",
        "WATCHDOG_GROUP",
        "WATCHDOG_ROLE_ARN",
        "WATCHDOG_DEAD_LETTER_ARN",
    ):
        monkeypatch.delenv(name, raising=False)
    handler.use_runtime(None)
    world.slack.always()

    world.notify(command_id)

    assert header(world.slack.message()) == "✅ APCu のクリアが全台で完了しました"


def test_minimum_calls_per_verdict_and_one_secret_read_per_container(world: World) -> None:
    # Given a group of 120 (3 pages of invocations) and two commands on it
    members = emu.create_group(GROUP, 120)
    first, second = world.send(), world.send()
    for command_id in (first, second):
        emu.settle_command(command_id, {i: ok() for i in members})
    world.start()
    calls = count_calls(world)
    world.slack.always()

    world.notify(first)
    assert dict(calls) == {
        "ListCommands": 1,
        "ListCommandInvocations": 3,
        "DescribeAutoScalingGroups": 1,
        "GetSecretValue": 1,
    }
    world.notify(second)
    assert calls["GetSecretValue"] == 1
    assert calls["ListCommands"] == 2
    assert len(world.slack.messages()) == 2
    assert boto3.client("secretsmanager", region_name=emu.REGION)  # moto stays the only AWS
