"""What the fleet does with the command in each local scenario, and the verdict it must get."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from harness import aws_emulator as emulator
from harness.aws_emulator import InvocationResult
from local.embedded_aws import EmbeddedAws, Stack


@dataclass(frozen=True)
class Outcome:
    """How the command ended, as SSM would report it."""

    status: str
    summary: str


Fleet = Callable[[EmbeddedAws, Stack, str], Outcome]
# What is true of the fleet before the dispatcher runs, so that its preflight sees it too.
Setup = Callable[[EmbeddedAws, Stack], None]


def nothing_to_set_up(aws: EmbeddedAws, stack: Stack) -> None:
    return None


def no_agent_registered(aws: EmbeddedAws, stack: Stack) -> None:
    # The instance profile lacks the SSM permissions: no agent registers, so no instance is a
    # managed node, and the dispatcher's preflight already warns about each of them.
    emulator.forget_managed_instances(stack.instance_ids)


def _cleared(stack: Stack, instance_ids: list[str]) -> dict[str, InvocationResult]:
    return {
        instance_id: emulator.ok(cleared=100 + 7 * n, host=f"ip-10-0-{n}-10")
        for n, instance_id in enumerate(instance_ids)
    }


def everyone_clears(aws: EmbeddedAws, stack: Stack, command_id: str) -> Outcome:
    targets = emulator.targeted_instances(command_id)
    emulator.settle_command(command_id, _cleared(stack, targets))
    return Outcome("Success", f"{len(targets)} of {len(targets)} instances cleared their cache")


def _reset(stack: Stack, instance_ids: list[str]) -> dict[str, InvocationResult]:
    # About a Laravel application's compiled scripts per server, as make bench measures.
    return {
        instance_id: emulator.opcache_reset(scripts=4000 + 13 * n, host=f"ip-10-0-{n}-10")
        for n, instance_id in enumerate(instance_ids)
    }


def everyone_resets_opcache(aws: EmbeddedAws, stack: Stack, command_id: str) -> Outcome:
    targets = emulator.targeted_instances(command_id)
    emulator.settle_command(command_id, _reset(stack, targets))
    return Outcome(
        "Success",
        f"{len(targets)} of {len(targets)} instances reset OPcache, and each restart took",
    )


def nobody_is_managed(aws: EmbeddedAws, stack: Stack, command_id: str) -> Outcome:
    # No instance is a managed node (no_agent_registered), so the tag target resolves to
    # nothing; SSM still calls the command a Success.
    emulator.settle_command(command_id, {}, status_details="No Instances In Tag")
    return Outcome("Success", "no instance is a managed node; the tag target resolved to nothing")


def group_scales_out(aws: EmbeddedAws, stack: Stack, command_id: str) -> Outcome:
    targets = emulator.targeted_instances(command_id)
    # A scale-out lands while the command runs: the new instance was never targeted, and it is
    # still Pending (booting) when the command ends. (Had it been InService already, it would
    # have started after the request with an empty cache: no miss.)
    aws.client("autoscaling").set_desired_capacity(
        AutoScalingGroupName=stack.group, DesiredCapacity=len(targets) + 1
    )
    launched = [i for i in emulator.group_instances(stack.group) if i not in targets]
    emulator.set_lifecycle(stack.group, launched, "Pending")
    emulator.settle_command(command_id, _cleared(stack, targets))
    return Outcome(
        "Success", f"{len(targets)} instances cleared; the group scaled out to {len(targets) + 1}"
    )


def one_is_undeliverable(aws: EmbeddedAws, stack: Stack, command_id: str) -> Outcome:
    targets = emulator.targeted_instances(command_id)
    results = _cleared(stack, targets)
    # Undeliverable invocations do not count against MaxErrors: the command stays Success.
    results[targets[-1]] = InvocationResult(status="Failed", status_details="Undeliverable")
    emulator.settle_command(command_id, results)
    return Outcome("Success", f"{targets[-1]} was Undeliverable; the command still says Success")


def one_fails(aws: EmbeddedAws, stack: Stack, command_id: str) -> Outcome:
    targets = emulator.targeted_instances(command_id)
    results = _cleared(stack, targets)
    results[targets[0]] = InvocationResult(
        status="Failed",
        stderr="curl: (22) The requested URL returned error: 503\nfailed to run commands: exit status 22",
        response_code=22,
    )
    emulator.settle_command(command_id, results, status="Failed")
    return Outcome("Failed", f"{targets[0]} answered 503 (APCu off); the command Failed")


def still_running(aws: EmbeddedAws, stack: Stack, command_id: str) -> Outcome:
    targets = emulator.targeted_instances(command_id)
    results = _cleared(stack, targets[:1])
    # An agent that hangs: its invocation never ends, so neither does the command.
    results.update({i: InvocationResult(status="InProgress") for i in targets[1:]})
    emulator.settle_command(command_id, results, status="InProgress")
    return Outcome(
        "InProgress", f"{len(targets) - 1} of {len(targets)} instances still run it past its expiry"
    )


# The stop alarm of the "stopped" scenario: a metric alarm on the database's CPU.
STOP_ALARM = "web-prod-database-struggling"


def stop_alarm_is_ok(aws: EmbeddedAws, stack: Stack) -> None:
    cloudwatch = aws.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=STOP_ALARM,
        AlarmDescription="RDS CPU above 80% for a minute: stop APCu clears",
        Namespace="AWS/RDS",
        MetricName="CPUUtilization",
        Dimensions=[{"Name": "DBClusterIdentifier", "Value": "app"}],
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=80.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.set_alarm_state(
        AlarmName=STOP_ALARM, StateValue="OK", StateReason="CPU 35% after the deploy"
    )


def alarm_fires_after_the_first_wave(aws: EmbeddedAws, stack: Stack, command_id: str) -> Outcome:
    targets = emulator.targeted_instances(command_id)
    first_wave = targets[: len(targets) // 2]
    # The first wave's misses reach the database; its CPU alarm fires, and SSM starts no
    # further invocation: the ones still pending end Cancelled.
    aws.client("cloudwatch").set_alarm_state(
        AlarmName=STOP_ALARM, StateValue="ALARM", StateReason="CPU 96% for 1 minute"
    )
    emulator.trip_alarm(command_id)
    results = _cleared(stack, first_wave)
    results.update({i: InvocationResult(status="Cancelled") for i in targets[len(first_wave) :]})
    emulator.settle_command(command_id, results, status="Cancelled")
    return Outcome(
        "Cancelled",
        f"{len(first_wave)} of {len(targets)} instances cleared, then {STOP_ALARM} fired "
        "and SSM ran no more",
    )


def one_delivery_times_out(aws: EmbeddedAws, stack: Stack, command_id: str) -> Outcome:
    targets = emulator.targeted_instances(command_id)
    results = _cleared(stack, targets)
    # Its agent was busy (or php-fpm restarting): the invocation was never picked up in time.
    results[targets[-1]] = InvocationResult(status="TimedOut", status_details="DeliveryTimedOut")
    emulator.settle_command(command_id, results, status="TimedOut")
    return Outcome("TimedOut", f"{targets[-1]}'s invocation ended Delivery Timed Out")


def the_retry_clears(aws: EmbeddedAws, stack: Stack, command_id: str) -> Outcome:
    targets = emulator.targeted_instances(command_id)
    emulator.settle_command(command_id, _cleared(stack, targets))
    return Outcome("Success", f"the retry cleared {', '.join(targets)}")


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    expected_verdict: str
    fleet: Fleet
    before_dispatch: Setup = nothing_to_set_up
    # "sns": SSM's notification reaches the notifier; "watchdog": it is lost, and the
    # command's watchdog schedule fires instead.
    delivery: str = "sns"
    # Then the command ends this way, SSM's notification is lost again, and the follow-up
    # watchdog the notifier armed fires: it must bring this verdict.
    ends_later: Fleet | None = None
    follow_up_verdict: str = ""
    # The dispatcher's console event (events/dispatcher/): what the request asks for.
    event: str = "console-clear-all.json"
    # The stack's StopAlarmName, when the scenario deploys it with a brake.
    stop_alarm: str = ""
    # "clear": a console clear of the group; "warm-pool": an instance leaving the warm pool
    # under the launch lifecycle hook (local.run.run_warm_pool); "retry": a clear whose miss
    # the notifier retries on its own (local.run.run_retry).
    flow: str = "clear"
    # For the "retry" flow: what the fleet does with the retry command.
    retry_fleet: Fleet | None = None


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("ok", "every instance clears its cache", "ok", everyone_clears),
        Scenario(
            "no-targets",
            "no instance is managed by SSM",
            "no_targets",
            nobody_is_managed,
            before_dispatch=no_agent_registered,
        ),
        Scenario(
            "mismatch", "the group scales out while the command runs", "mismatch", group_scales_out
        ),
        Scenario("partial", "one invocation is Undeliverable", "partial", one_is_undeliverable),
        Scenario("failed", "one web node answers 503", "failed", one_fails),
        Scenario(
            "lost-notification",
            "SSM's notification is lost; the watchdog brings the verdict",
            "ok",
            everyone_clears,
            delivery="watchdog",
        ),
        Scenario(
            "stuck",
            "the command still runs after its expiry, then ends with SNS lost too",
            "stuck",
            still_running,
            delivery="watchdog",
            ends_later=everyone_clears,
            follow_up_verdict="ok",
        ),
        Scenario(
            "stopped",
            "the database's CPU alarm fires after the first wave; SSM stops the clear",
            "stopped",
            alarm_fires_after_the_first_wave,
            before_dispatch=stop_alarm_is_ok,
            stop_alarm=STOP_ALARM,
        ),
        Scenario(
            "retry",
            "one invocation times out in delivery; the notifier retries it, and it clears",
            "ok",
            one_delivery_times_out,
            flow="retry",
            retry_fleet=the_retry_clears,
        ),
        Scenario(
            "warm-pool",
            "an instance leaves the warm pool under the launch hook and waits to be cleared",
            "ok",
            everyone_clears,
            flow="warm-pool",
        ),
        Scenario(
            "opcache",
            "a deploy's OPcache reset: every instance resets it and proves the restart took",
            "ok",
            everyone_resets_opcache,
            event="console-reset-opcache.json",
        ),
    )
}
