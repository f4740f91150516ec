"""The brake's verdict: a command its stop alarm stopped while InService instances were still
stale is "stopped", an alert that names the alarm, what cleared, what did not, and how to
finish. Through lambda_handler against moto (TriggeredAlarms from the emulator), and as pure
judgements."""

from __future__ import annotations

from apcu_notifier.verdict import VerdictKind, judge
from harness import aws_emulator as emu
from harness.aws_emulator import InvocationResult, ok
from tests.notifier import records
from tests.notifier.builders import command, facts, group, ids, invocation
from tests.notifier.conftest import GROUP, World, text_of
from tests.notifier.test_handler import header

ALARM = "web-prod-database-struggling"


def test_a_clear_stopped_by_its_alarm_is_an_alert_naming_the_alarm_and_the_stale(
    world: World,
) -> None:
    # Given a group of 4 whose first wave cleared before the stop alarm fired, and SSM
    # cancelled the rest
    members = sorted(emu.create_group(GROUP, 4))
    records.enable(world)
    command_id = world.send(stop_alarm=ALARM)
    records.dispatched(command_id)
    assert emu.trip_alarm(command_id) == ALARM
    emu.settle_command(
        command_id,
        {
            members[0]: ok(cleared=30),
            members[1]: ok(cleared=31),
            members[2]: InvocationResult("Cancelled"),
            members[3]: InvocationResult("Cancelled"),
        },
        status="Cancelled",
    )
    world.start(commands_table=records.TABLE)
    world.slack.always()

    result = world.notify(command_id, "command-cancelled.json")

    # Then the verdict is "stopped", posted as an alert that says what to do next
    assert result["outcomes"][0]["verdict"] == "stopped"
    message = world.slack.message()
    assert header(message) == "🛑 APCu clear stopped by the stop alarm"
    text = text_of(message)
    assert "<!here>" in text
    assert f"The stop alarm *{ALARM}* went into ALARM" in text
    assert "2 of 4 in web-prod finished before, and 2 InService instances still hold" in text
    assert f"`{members[2]}` Cancelled" in text and f"`{members[3]}` Cancelled" in text
    assert f"`apcu-flush retry {command_id}`" in text
    # And the record a pipeline reads says so too
    verdict = records.item(command_id)["verdict"]["M"]
    assert verdict["kind"] == {"S": "stopped"} and verdict["alert"] == {"BOOL": True}
    assert [p["M"]["instanceId"]["S"] for p in verdict["problems"]["L"]] == members[2:]


def test_an_alarm_that_fired_after_every_instance_cleared_leaves_nothing_stale(
    world: World,
) -> None:
    members = emu.create_group(GROUP, 3)
    command_id = world.send(stop_alarm=ALARM)
    emu.trip_alarm(command_id)
    emu.settle_command(command_id, {i: ok(cleared=5) for i in members})
    world.start()
    world.slack.always()

    result = world.notify(command_id)

    # An alert means a cache may still be stale: none is.
    assert result["outcomes"][0]["verdict"] == "ok"
    assert "<!here>" not in text_of(world.slack.message())


def test_a_command_sent_while_the_alarm_fires_runs_nowhere_and_is_stopped(
    world: World,
) -> None:
    # SSM holds every invocation of a command whose alarm is in ALARM when it is sent.
    emu.create_group(GROUP, 3)
    cloudwatch = emu.boto3.client("cloudwatch", region_name=emu.REGION)
    cloudwatch.put_metric_alarm(
        AlarmName=ALARM,
        Namespace="AWS/RDS",
        MetricName="CPUUtilization",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=80.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="CPU 97%")
    command_id = world.send(stop_alarm=ALARM)
    emu.settle_command(command_id, {}, status="Cancelled", status_details="Cancelled")
    world.start()
    world.slack.always()

    result = world.notify(command_id, "command-cancelled.json")

    assert result["outcomes"][0]["verdict"] == "stopped"
    assert "0 of 3 in web-prod finished before, and 3 InService instances" in text_of(
        world.slack.message()
    )


# --- the rule, as pure judgements -------------------------------------------------------------


def test_stopped_takes_the_place_of_failed_and_partial_when_the_alarm_fired() -> None:
    members = ids(3)
    invocations = [invocation(members[0]), invocation(members[1], "Cancelled")]
    stopped = judge(
        facts(
            command(status="Cancelled", target_count=2, stopped_by=(ALARM,)),
            invocations,
            [group("web-prod", members)],
        )
    )
    assert stopped.kind is VerdictKind.STOPPED and stopped.is_alert
    assert stopped.stopped_by == (ALARM,)
    # The instance never reached is named as missing, the cancelled one as a problem.
    assert stopped.missing_instances == (members[2],)
    assert [p.instance_id for p in stopped.problems] == [members[1]]
    # Without a triggered alarm the same facts are an ordinary failure.
    failed = judge(
        facts(
            command(status="Cancelled", target_count=2),
            invocations,
            [group("web-prod", members)],
        )
    )
    assert failed.kind is VerdictKind.FAILED


def test_a_gone_group_is_still_group_not_found() -> None:
    verdict = judge(
        facts(
            command(status="Cancelled", target_count=0, stopped_by=(ALARM,)),
            [],
            [],
            missing_groups=("web-prod",),
        )
    )
    assert verdict.kind is VerdictKind.GROUP_NOT_FOUND


def test_a_single_instance_clear_can_be_stopped_too() -> None:
    [instance] = ids(1)
    verdict = judge(
        facts(
            command(
                status="Cancelled",
                target_count=1,
                groups=(),
                instance_ids=(instance,),
                stopped_by=(ALARM,),
            ),
            [invocation(instance, "Cancelled")],
        )
    )
    assert verdict.kind is VerdictKind.STOPPED
