# Japanese text uses full-width parentheses, as Japanese writing does.
# ruff: noqa: RUF001
"""Truer verdicts end to end (lambda_handler, moto with the emulator, a webhook on 127.0.0.1):
an alert only when some cache may still be stale, counts that add up, and stored test events
that page no one."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from apcu_notifier.config import Language
from harness import aws_emulator as emu
from harness.aws_emulator import InvocationResult, ok
from tests.notifier.conftest import EVENTS, GROUP, World, text_of
from tests.notifier.test_handler import count_calls, header


def _later(minutes: float = 3) -> dt.datetime:
    """A moment after every command these tests send (moto stamps the request with now)."""
    return dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)


# --- instances outside InService ------------------------------------------------------------


def test_standby_and_warm_pool_instances_that_did_not_run_it_are_named_not_alerted(
    world: World,
) -> None:
    # Given 3 InService instances that cleared, a Standby one whose agent timed out and a
    # warm-pool one that was undeliverable
    members = sorted(emu.create_group(GROUP, 4))
    emu.set_desired_capacity(GROUP, 3)
    emu.set_lifecycle(GROUP, [members[3]], "Standby")
    [warm] = emu.add_warm_pool(GROUP, 1, pool_state="Stopped")
    command_id = world.send()
    emu.settle_command(
        command_id,
        {
            **{i: ok(cleared=10) for i in members[:3]},
            members[3]: InvocationResult("TimedOut", status_details="DeliveryTimedOut"),
            warm: InvocationResult("Undeliverable"),
        },
    )
    world.start()
    world.slack.always()

    result = world.notify(command_id)

    # Then it is ok, with no mention, and both are named with what happened to them
    message = world.slack.message()
    assert header(message) == "✅ APCu cleared on every instance"
    text = text_of(message)
    assert "<!here>" not in text
    assert f"`{members[3]}` Standby: TimedOut (DeliveryTimedOut)" in text
    assert f"`{warm}` not in the group's list (warm pool, or tagged by hand): Undeliverable" in text
    assert "Instances outside InService (Standby, warm pool, terminating)" in text
    assert "*Succeeded*\n3 of 3 wanted" in text
    assert result["outcomes"][0]["verdict"] == "ok"


def test_a_standby_instance_that_ran_it_does_not_make_the_count_say_4_of_3(world: World) -> None:
    members = sorted(emu.create_group(GROUP, 4))
    emu.set_desired_capacity(GROUP, 3)
    emu.set_lifecycle(GROUP, [members[3]], "Standby")
    command_id = world.send()
    emu.settle_command(command_id, {i: ok(cleared=5) for i in members})
    world.start()
    world.slack.always()

    world.notify(command_id)

    text = text_of(world.slack.message())
    assert "*Succeeded*\n3 of 3 wanted" in text
    assert "4 of 3" not in text
    assert "ran the clear: 3 of 3 wanted, 15 entries removed in all." in text


# --- InService instances that started after the request -------------------------------------


def test_an_instance_that_started_after_the_request_joined_after_the_clear(world: World) -> None:
    # Given a group of 3 where one InService instance was launched after the command was sent
    members = sorted(emu.create_group(GROUP, 3))
    command_id = world.send()
    emu.set_launch_time([members[2]], _later())
    emu.settle_command(command_id, {i: ok() for i in members[:2]})
    world.start()
    calls = count_calls(world)
    world.slack.always()

    world.notify(command_id)

    # Then no alert: its cache began empty; and EC2 was asked once, about that instance only
    message = world.slack.message()
    assert header(message) == "✅ APCu cleared on every instance"
    text = text_of(message)
    assert "<!here>" not in text
    assert "InService instances that started after the clear was requested: 1." in text
    assert f"`{members[2]}`" in text
    assert calls["DescribeInstances"] == 1


def test_a_hibernation_configured_instance_that_started_after_is_still_a_miss(
    world: World,
) -> None:
    # Its memory, APCu included, survived the stop: its cache may be stale
    members = sorted(emu.create_group(GROUP, 3))
    command_id = world.send()
    emu.set_launch_time([members[2]], _later())
    emu.set_hibernation_configured([members[2]])
    emu.settle_command(command_id, {i: ok() for i in members[:2]})
    world.start()
    world.slack.always()

    world.notify(command_id)

    message = world.slack.message()
    assert header(message) == "⚠️ APCu clear did not reach the whole group"
    assert message["text"].startswith("<!here> ")
    assert "InService instances that did not run it: 1." in text_of(message)


def test_describe_instances_is_called_only_when_in_service_instances_are_missing(
    world: World,
) -> None:
    members = emu.create_group(GROUP, 3)
    command_id = world.send()
    emu.settle_command(command_id, {i: ok() for i in members})
    world.start()
    calls = count_calls(world)
    world.slack.always()

    world.notify(command_id)

    assert dict(calls) == {
        "ListCommands": 1,
        "ListCommandInvocations": 1,
        "DescribeAutoScalingGroups": 1,
        "GetSecretValue": 1,
    }


def test_an_ok_verdict_never_builds_the_ec2_client(world: World) -> None:
    # EC2's service model is large: a cold start that does not need it does not load it
    members = emu.create_group(GROUP, 3)
    command_id = world.send()
    emu.settle_command(command_id, {i: ok() for i in members})
    rt = world.start()
    world.slack.always()

    world.notify(command_id)

    assert rt.ec2_client is None


# --- hibernated warm pools ------------------------------------------------------------------


def test_a_hibernated_warm_pool_is_said_without_an_alert_or_an_extra_call(world: World) -> None:
    members = emu.create_group(GROUP, 2)
    warm = emu.add_warm_pool(GROUP, 2, pool_state="Hibernated")
    command_id = world.send()
    emu.settle_command(
        command_id,
        {
            **{i: ok() for i in members},
            **{i: InvocationResult("TimedOut", status_details="DeliveryTimedOut") for i in warm},
        },
    )
    world.start()
    calls = count_calls(world)
    world.slack.always()

    world.notify(command_id)

    message = world.slack.message()
    text = text_of(message)
    assert header(message) == "✅ APCu cleared on every instance"
    assert "<!here>" not in text
    assert "The warm pool of web-prod keeps its instances hibernated" in text
    assert "The stack clears each instance as it leaves the warm pool." in text
    assert "DescribeInstances" not in calls and calls["DescribeAutoScalingGroups"] == 1


# --- "no targets" wins over "failed" --------------------------------------------------------


def test_a_failed_command_that_reached_no_instance_is_reported_as_no_targets(
    world: World,
) -> None:
    emu.create_group(GROUP, 3, managed=False)
    command_id = world.send()
    emu.settle_command(command_id, {}, status="Failed", status_details="Failed")
    world.start()
    world.slack.always()

    world.notify(command_id, "command-failed.json")

    message = world.slack.message()
    assert header(message) == "🚨 APCu clear reached no instance"
    assert "reached no instance while web-prod wants 3" in text_of(message)


def test_rate_exceeded_says_ssm_cancelled_it_before_it_ran(world: World) -> None:
    members = emu.create_group(GROUP, 2)
    command_id = world.send()
    emu.settle_command(
        command_id,
        {i: InvocationResult("Cancelled") for i in members},
        status="Cancelled",
        status_details="Rate Exceeded",
    )
    world.start()
    world.slack.always()

    world.notify(command_id, "command-cancelled.json")

    message = world.slack.message()
    assert header(message) == "🚨 APCu clear failed"
    assert "the account's limit of pending invocations was exceeded" in text_of(message)


def test_incomplete_is_partial_even_when_ssm_says_failed(world: World) -> None:
    members = sorted(emu.create_group(GROUP, 3))
    command_id = world.send()
    emu.settle_command(
        command_id,
        {members[0]: ok(), members[1]: ok(), members[2]: InvocationResult("Failed", stderr="x")},
        status="Failed",
        status_details="Incomplete",
    )
    world.start()
    world.slack.always()

    world.notify(command_id, "command-failed.json")

    assert header(world.slack.message()) == "⚠️ APCu clear failed on some instances"


# --- stored test events -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["command-success.json", "command-failed.json", "command-timedout.json"]
)
def test_a_stored_event_on_a_real_stack_says_it_was_a_test_and_pages_no_one(
    world: World, name: str
) -> None:
    # Given a stack whose SSM never ran the stored example's command
    world.start()
    world.slack.always()

    # When the stored event is invoked as it is
    result = world.invoke(json.loads((EVENTS / name).read_text()))

    message = world.slack.message()
    text = text_of(message)
    assert header(message) == "🧪 Test event: nothing was cleared"
    assert "This was a test event" in text
    assert "<!here>" not in text
    assert "console.aws.amazon.com" not in text
    assert result["outcomes"][0]["verdict"] == "test_event"


def test_a_real_unknown_command_is_still_an_alert(world: World) -> None:
    world.start()
    world.slack.always()

    world.notify("5f0c4a1e-8d3b-4c2a-9e7f-1b6d2a9c3e48")

    assert world.slack.message()["text"].startswith("<!here> ")


# --- Japanese ---------------------------------------------------------------------------------


def test_japanese_reads_as_the_reviewer_asked(world: World) -> None:
    members = sorted(emu.create_group(GROUP, 3))
    command_id = world.send()
    emu.settle_command(
        command_id,
        {
            members[0]: ok(cleared=100),
            members[1]: ok(cleared=107),
            members[2]: InvocationResult("Failed", stderr="x"),
        },
    )
    world.language = Language.JA
    world.start()
    world.slack.always()

    world.notify(command_id)

    text = text_of(world.slack.message())
    assert "3 台中 1 台でクリアが完了していません（完了した 2 台で計 207 件を削除）。" in text
    assert "*成功台数*\n希望 3 台中 2 台" in text
    assert "*リクエスト日時*" in text
    assert "実行台数" not in text and "実行日時" not in text


# --- the fleet of 50 --------------------------------------------------------------------------


def test_a_fleet_of_50_with_standby_hibernated_warm_pool_and_late_joiners(world: World) -> None:
    # Given a group that wants 50: 50 InService instances plus 3 in Standby (taken out of
    # DesiredCapacity), and a hibernated warm pool of 2 that keeps the group's tag
    members = sorted(emu.create_group(GROUP, 53))
    emu.set_desired_capacity(GROUP, 50)
    standby = members[50:]
    emu.set_lifecycle(GROUP, standby, "Standby")
    warm = emu.add_warm_pool(GROUP, 2, pool_state="Hibernated")
    command_id = world.send()
    # 4 InService instances were launched after the command was requested (the tag target
    # had already been resolved without them)
    late = members[46:50]
    emu.set_launch_time(late, _later())
    results: dict[str, InvocationResult] = {i: ok(cleared=20) for i in members[:46]}
    results[standby[0]] = ok(cleared=3)
    results[standby[1]] = InvocationResult("Failed", stderr="Error: No such container: nginx")
    results[standby[2]] = InvocationResult("TimedOut", status_details="DeliveryTimedOut")
    results.update(
        {i: InvocationResult("TimedOut", status_details="DeliveryTimedOut") for i in warm}
    )
    emu.settle_command(command_id, results, status="Failed", status_details="Incomplete")
    world.start()
    calls = count_calls(world)
    world.slack.always()

    result = world.notify(command_id, "command-failed.json")

    # Then: ok, no mention; the late joiners, the Standby and warm-pool instances and the
    # hibernated pool are all said; the counts add up
    message = world.slack.message()
    text = text_of(message)
    assert result["outcomes"][0]["verdict"] == "ok"
    assert header(message) == "✅ APCu cleared on every instance"
    assert "<!here>" not in text
    assert "ran it: 46 of 50 wanted, 920 entries removed in all." in text
    assert "InService instances that started after the clear was requested: 4." in text
    assert "that were sent it too: 5." in text
    assert "The warm pool of web-prod keeps its instances hibernated" in text
    assert "*Succeeded*\n46 of 50 wanted" in text
    assert all(f"`{i}`" in text for i in late + standby + warm)
    # And the AWS calls: one page of the command, two of its 51 invocations, the group once,
    # EC2 once for the 4 missing InService instances, the secret once
    assert dict(calls) == {
        "ListCommands": 1,
        "ListCommandInvocations": 2,
        "DescribeAutoScalingGroups": 1,
        "DescribeInstances": 1,
        "GetSecretValue": 1,
    }
