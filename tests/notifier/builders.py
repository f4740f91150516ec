"""Facts for the pure tests: a command, its invocations and its groups, with fixed ids and times.

Invocations go through apcu_notifier.facts.invocation_facts, as ListCommandInvocations' answers
do, so that what the web node printed is read the way the clear reads it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from apcu_clear.command import GROUP_TAG
from apcu_notifier.attempts import Attempt
from apcu_notifier.facts import (
    CommandFacts,
    Facts,
    GroupFacts,
    InstanceLaunch,
    InvocationFacts,
    Target,
    TriggeredAlarm,
    invocation_facts,
)
from apcu_notifier.judge import judge
from apcu_notifier.output import ERROR_SEPARATOR
from apcu_notifier.verdict import OPERATOR_STOPS
from harness.aws_emulator import opcache_answer, opcache_error, webnode_answer

COMMAND_ID = "5f0c4a1e-8d3b-4c2a-9e7f-1b6d2a9c3e48"
REQUESTED = dt.datetime(2026, 3, 2, 9, 15, 3, 981000, tzinfo=dt.UTC)
STOP_ALARM = "web-prod-database-load"


def ids(count: int, start: int = 0) -> list[str]:
    return [f"i-{n:017x}" for n in range(start, start + count)]


def invocation(
    instance_id: str,
    status: str = "Success",
    details: str | None = None,
    *,
    stdout: str | None = None,
    stderr: str = "",
    cleared: int = 12,
) -> InvocationFacts:
    """One invocation as SSM lists it: a Success prints apcu.php's answer unless told otherwise."""
    out = webnode_answer(cleared) if stdout is None and status == "Success" else (stdout or "")
    output = out + (f"\n{ERROR_SEPARATOR}\n{stderr}" if stderr else "")
    return invocation_facts(
        {
            "InstanceId": instance_id,
            "Status": status,
            "StatusDetails": details or status,
            "CommandPlugins": [{"Output": output}],
        }
    )


def reset(
    instance_id: str, *, scripts: int = 400, caveats: tuple[str, ...] = ()
) -> InvocationFacts:
    """A reset-opcache invocation whose restart took, with opcache.php's caveat codes."""
    return invocation(instance_id, stdout=opcache_answer(scripts, caveats=caveats))


def cleared_and_reset(
    instance_id: str, *, cleared: int = 12, scripts: int = 400
) -> InvocationFacts:
    """A clear-all invocation: apcu.php's line, then opcache.php's."""
    return invocation(instance_id, stdout=webnode_answer(cleared) + opcache_answer(scripts))


def reset_refused(instance_id: str, code: str) -> InvocationFacts:
    """A reset that did not take: opcache.php's reason on stdout (curl --fail-with-body)."""
    return invocation(
        instance_id,
        "Failed",
        stdout=opcache_error(code),
        stderr="failed to run commands: exit status 22",
    )


def group(
    name: str,
    members: Sequence[str],
    desired: int | None = None,
    states: dict[str, str] | None = None,
    warm_pool_state: str = "",
) -> GroupFacts:
    states = states or {}
    return GroupFacts(
        name=name,
        desired_capacity=len(members) if desired is None else desired,
        states={i: states.get(i, "InService") for i in members},
        warm_pool_state=warm_pool_state,
    )


def launch(
    instance_id: str, *, minutes_after: float = 3, hibernation: bool = False
) -> InstanceLaunch:
    """EC2's LaunchTime relative to the command's request (negative: started before it)."""
    return InstanceLaunch(instance_id, REQUESTED + dt.timedelta(minutes=minutes_after), hibernation)


def command(
    *,
    status: str = "Success",
    details: str | None = None,
    target_count: int,
    groups: Sequence[str] = ("web-prod",),
    targets: Sequence[Target] | None = None,
    instance_ids: Sequence[str] = (),
    comment: str = "alice@example.com: release 2026.03.02",
    action: str = "clear-apcu",
    alarms: Sequence[TriggeredAlarm] = (),
    command_id: str = COMMAND_ID,
) -> CommandFacts:
    if targets is None:
        targets = (Target(GROUP_TAG, tuple(groups)),) if groups else ()
    return CommandFacts(
        command_id=command_id,
        status=status,
        status_details=details or status,
        target_count=target_count,
        targets=tuple(targets),
        instance_ids=tuple(instance_ids),
        comment=comment,
        requested=REQUESTED,
        action=action,
        alarms=tuple(alarms),
    )


def facts(
    cmd: CommandFacts,
    invocations: Iterable[InvocationFacts] = (),
    groups: Iterable[GroupFacts] = (),
    missing_groups: Sequence[str] = (),
    launches: Iterable[InstanceLaunch] = (),
) -> Facts:
    return Facts(cmd, tuple(invocations), tuple(groups), tuple(missing_groups), tuple(launches))


def healthy_group(size: int = 3, name: str = "web-prod") -> Facts:
    members = ids(size)
    return facts(
        command(target_count=size, groups=(name,)),
        [invocation(i) for i in members],
        [group(name, members)],
    )


def retry_command(instance_ids: Sequence[str], number: int = 2) -> CommandFacts:
    """A retry round's command: the clear's own, sent by instance ids."""
    return command(
        target_count=len(instance_ids),
        targets=[Target("InstanceIds", tuple(instance_ids))],
        comment=f"alice@example.com: attempt {number}.1 of {COMMAND_ID}",
        command_id=f"{number:08d}-8d3b-4c2a-9e7f-1b6d2a9c3e48",
    )


def attempt(
    number: int, results: Sequence[InvocationFacts], sent: Sequence[str] | None = None
) -> Attempt:
    """A retry round as apcu_notifier.rounds judges it: one command to `sent` (the instances
    of `results` unless told), judged by its invocations."""
    targets = tuple(sent if sent is not None else [i.instance_id for i in results])
    judged = judge(facts(retry_command(targets, number), results))
    stop = judged if judged.kind in OPERATOR_STOPS else None
    return Attempt(number, targets, judged.stale, judged.cleared, stopped_by=stop)
