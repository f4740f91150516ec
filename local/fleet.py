"""What the fleet does with a scenario's command: each instance's invocation, and the status SSM
gives the command (harness.aws_emulator.settle_command, whose notification SNS then carries).

The request's command runs until the scenario ends it, once the clear waits for it; a retry
round's command is answered as it is sent (FleetAnswers), since the clear looks at its rounds
itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from harness import aws_emulator as emulator
from harness.aws_emulator import InvocationResult
from harness.stack import GROUP
from local.context import Demo


@dataclass(frozen=True)
class Outcome:
    """How the command stands, as SSM would report it."""

    status: str
    summary: str


Fleet = Callable[[Demo, str], Outcome]
Answer = Callable[[list[str]], Mapping[str, InvocationResult]]


def _cleared(instance_ids: list[str], first: int = 0) -> dict[str, InvocationResult]:
    return {
        instance_id: emulator.ok(cleared=100 + 7 * n, host=f"ip-10-0-{n}-10")
        for n, instance_id in enumerate(instance_ids, start=first)
    }


def every_instance_clears(instance_ids: list[str]) -> dict[str, InvocationResult]:
    return _cleared(instance_ids, first=len(instance_ids))


@dataclass
class FleetAnswers:
    """SendCommand's answer, as the fleet gives it: the request's command (the first sent) keeps
    running until the scenario settles it; every later one, a retry, is answered at once."""

    sent: list[tuple[str, list[str]]]
    retry: Answer = every_instance_clears

    def __call__(
        self, command_id: str, instance_ids: list[str]
    ) -> dict[str, InvocationResult] | None:
        self.sent.append((command_id, list(instance_ids)))
        if len(self.sent) == 1:
            return None
        return dict(self.retry(instance_ids))


def everyone_clears(demo: Demo, command_id: str) -> Outcome:
    targets = emulator.targeted_instances(command_id)
    emulator.settle_command(command_id, _cleared(targets))
    return Outcome("Success", f"{len(targets)} of {len(targets)} instances cleared their cache")


def everyone_resets_opcache(demo: Demo, command_id: str) -> Outcome:
    targets = emulator.targeted_instances(command_id)
    # About a Laravel application's compiled scripts per server, as make bench measures.
    emulator.settle_command(
        command_id,
        {
            i: emulator.opcache_reset(scripts=4000 + 13 * n, host=f"ip-10-0-{n}-10")
            for n, i in enumerate(targets)
        },
    )
    return Outcome(
        "Success",
        f"{len(targets)} of {len(targets)} instances reset OPcache, and each restart took",
    )


def nobody_is_managed(demo: Demo, command_id: str) -> Outcome:
    # No instance is a managed node, so the tag target resolves to nothing; SSM still calls the
    # command a Success.
    emulator.settle_command(command_id, {}, status_details="No Instances In Tag")
    return Outcome("Success", "no instance is a managed node; the tag target resolved to nothing")


def group_scales_out(demo: Demo, command_id: str) -> Outcome:
    targets = emulator.targeted_instances(command_id)
    # A scale-out lands while the command runs: the new instance was never targeted, and it is
    # still Pending (booting) when the command ends. (Had it been InService already, it would
    # have started after the request with an empty cache: no miss.)
    demo.aws.client("autoscaling").set_desired_capacity(
        AutoScalingGroupName=GROUP, DesiredCapacity=len(targets) + 1
    )
    launched = [i for i in emulator.group_instances(GROUP) if i not in targets]
    emulator.set_lifecycle(GROUP, launched, "Pending")
    emulator.settle_command(command_id, _cleared(targets))
    return Outcome(
        "Success", f"{len(targets)} instances cleared; the group scaled out to {len(targets) + 1}"
    )


def one_is_undeliverable(demo: Demo, command_id: str) -> Outcome:
    targets = emulator.targeted_instances(command_id)
    results = _cleared(targets)
    # Undeliverable invocations do not count against MaxErrors: the command stays Success.
    results[targets[-1]] = InvocationResult(status="Failed", status_details="Undeliverable")
    emulator.settle_command(command_id, results)
    return Outcome("Success", f"{targets[-1]} was Undeliverable; the command still says Success")


def one_fails(demo: Demo, command_id: str) -> Outcome:
    targets = emulator.targeted_instances(command_id)
    results = _cleared(targets)
    results[targets[0]] = InvocationResult(
        status="Failed",
        stderr="curl: (22) The requested URL returned error: 503\nfailed to run commands: exit status 22",
        response_code=22,
    )
    emulator.settle_command(command_id, results, status="Failed")
    return Outcome("Failed", f"{targets[0]} answered 503 (APCu off); the command Failed")


def one_delivery_times_out(demo: Demo, command_id: str) -> Outcome:
    targets = emulator.targeted_instances(command_id)
    results = _cleared(targets)
    # Its agent was busy (or php-fpm restarting): the invocation was never picked up in time.
    results[targets[-1]] = InvocationResult(status="TimedOut", status_details="DeliveryTimedOut")
    emulator.settle_command(command_id, results, status="TimedOut")
    return Outcome("TimedOut", f"{targets[-1]}'s invocation ended Delivery Timed Out")


# After the fleet's part, the clear reads its command by id when its wait runs out, for the
# stuck alert, then once a look: the 4th read is the second look, half an hour after the alert.
ENDS_AT_READ = 4


def still_running(demo: Demo, command_id: str) -> Outcome:
    targets = emulator.targeted_instances(command_id)
    results = _cleared(targets[:1])
    # An agent that hangs: its invocations do not end, and neither does the command, until
    # the hung agents come back, between two of the clear's looks.
    results.update({i: InvocationResult(status="InProgress") for i in targets[1:]})
    emulator.settle_command(command_id, results, status="InProgress")
    emulator.end_on_read(command_id, ENDS_AT_READ, _cleared(targets))
    return Outcome(
        "InProgress",
        f"{len(targets) - 1} of {len(targets)} instances still run it past its expiry; "
        "their agents come back half an hour later, and SSM's notification of the end is lost",
    )


def alarm_fires_after_the_first_wave(demo: Demo, command_id: str) -> Outcome:
    targets = emulator.targeted_instances(command_id)
    first_wave = targets[: len(targets) // 2]
    # The first wave's misses reach the database; its alarm fires, and SSM starts no further
    # invocation: the ones still pending end Cancelled.
    demo.stack.alarm("ALARM")
    alarm = emulator.trip_alarm(command_id)
    results = _cleared(first_wave)
    results.update({i: InvocationResult(status="Cancelled") for i in targets[len(first_wave) :]})
    emulator.settle_command(command_id, results, status="Cancelled")
    return Outcome(
        "Cancelled",
        f"{len(first_wave)} of {len(targets)} instances cleared, then {alarm} went into ALARM "
        "and SSM ran no more",
    )


def an_operator_cancels(demo: Demo, command_id: str) -> Outcome:
    targets = emulator.targeted_instances(command_id)
    results = _cleared(targets[:1])
    # `aws ssm cancel-command --command-id …`, the runbook's way to stop a clear: SSM cancels
    # the invocations that have not run. (The embedded SSM has no CancelCommand; what it does
    # is said here, as for every other invocation.)
    results.update({i: InvocationResult(status="Cancelled") for i in targets[1:]})
    emulator.settle_command(command_id, results, status="Cancelled")
    return Outcome(
        "Cancelled",
        f"{targets[0]} cleared; then an operator ran `aws ssm cancel-command --command-id "
        f"{command_id}`, and SSM cancelled the other {len(targets) - 1}",
    )
