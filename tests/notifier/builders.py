"""Facts for the pure tests: a command, its invocations and its groups, with fixed ids and times."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence

from apcu_notifier.facts import (
    GROUP_TAG,
    CommandFacts,
    Facts,
    GroupFacts,
    GroupInstance,
    InstanceLaunch,
    InvocationFacts,
    TargetFacts,
    parse_answer,
    parse_opcache,
)
from harness.aws_emulator import opcache_answer, opcache_error

COMMAND_ID = "5f0c4a1e-8d3b-4c2a-9e7f-1b6d2a9c3e48"
DOCUMENT = "apcu-fleet-flush-FlushDocument-Xk2P9QmL7RtA"
REQUESTED = dt.datetime(2026, 3, 2, 9, 15, 3, 981000, tzinfo=dt.UTC)
ERROR_SEPARATOR = "\n----------ERROR-------\n"


def ids(count: int, start: int = 0) -> list[str]:
    return [f"i-{n:017x}" for n in range(start, start + count)]


def answer(cleared: int) -> str:
    return (
        json.dumps(
            {
                "status": "cleared",
                "scope": "all",
                "prefix": None,
                "entries_before": cleared,
                "entries_after": 0,
                "cleared": cleared,
                "host": "ip-10-0-1-5",
                "pid": 4242,
            },
            separators=(",", ":"),
        )
        + "\n"
    )


def invocation(
    instance_id: str,
    status: str = "Success",
    details: str | None = None,
    *,
    stdout: str | None = None,
    stderr: str = "",
    cleared: int = 12,
) -> InvocationFacts:
    out = answer(cleared) if stdout is None and status == "Success" else (stdout or "")
    output = out + (ERROR_SEPARATOR + stderr if stderr else "")
    return InvocationFacts(
        instance_id,
        status,
        details or status,
        output,
        parse_answer(output),
        parse_opcache(output),
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
    return invocation(instance_id, stdout=answer(cleared) + opcache_answer(scripts))


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
        instances=tuple(GroupInstance(i, states.get(i, "InService")) for i in members),
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
    targets: Sequence[TargetFacts] | None = None,
    instance_ids: Sequence[str] = (),
    comment: str = "alice: release 2026.03.02",
    action: str = "clear-apcu",
    stopped_by: Sequence[str] = (),
) -> CommandFacts:
    if targets is None:
        targets = (TargetFacts(GROUP_TAG, tuple(groups)),) if groups else ()
    return CommandFacts(
        command_id=COMMAND_ID,
        document_name=DOCUMENT,
        status=status,
        status_details=details or status,
        target_count=target_count,
        targets=tuple(targets),
        instance_ids=tuple(instance_ids),
        comment=comment,
        requested=REQUESTED,
        action=action,
        stopped_by=tuple(stopped_by),
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
