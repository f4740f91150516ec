"""AWS reads as frozen facts, each a step's checkpointed result, so kept small (an invocation: its
status, the web node's answer, and for the first failures of a run of pages its error's end)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from apcu_clear.aws import error_code
from apcu_clear.command import CACHES, DEFAULT_ACTION, FINAL_STATUSES, GROUP_TAG
from apcu_notifier.output import OpcacheAnswer, error_text, parse_cleared, parse_opcache

if TYPE_CHECKING:
    from mypy_boto3_autoscaling import AutoScalingClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ssm import SSMClient

# ListCommandInvocations returns at most 50 a page (botocore's SSM model, MaxResults).
PAGE_SIZE = 50
PAGES_PER_STEP = 20
EXCERPTS_PER_PAGE = 50
EXCERPT_CHARS = 300
# DescribeInstances: a filter on instance-id (an unknown id in InstanceIds fails the whole
# call; a filter value that matches nothing does not), 200 values a filter.
LAUNCH_BATCH = 200
IN_SERVICE = "InService"
HIBERNATED = "Hibernated"


class UnknownCommand(LookupError):
    """SSM does not know the command (InvalidCommandId, or expired from its history)."""


@dataclass(frozen=True)
class Target:
    key: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class TriggeredAlarm:
    name: str
    # ALARM: the alarm fired and SSM held what had not run. UNKNOWN: SSM could not read it
    # and, with IgnorePollAlarmFailure false, stopped the command all the same.
    state: str


@dataclass(frozen=True)
class CommandFacts:
    command_id: str
    status: str
    status_details: str
    target_count: int
    targets: tuple[Target, ...]
    instance_ids: tuple[str, ...]
    comment: str
    requested: dt.datetime | None
    action: str = DEFAULT_ACTION
    alarms: tuple[TriggeredAlarm, ...] = ()

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES


@dataclass(frozen=True)
class InvocationFacts:
    instance_id: str
    status: str
    status_details: str
    # The entries apcu.php said it removed; None when it said nothing readable.
    cleared: int | None = None
    opcache: OpcacheAnswer | None = None
    # Why it failed: the end of its error output (kept for the first failures of a page run).
    excerpt: str = ""


Invocations = tuple[InvocationFacts, ...]


@dataclass(frozen=True)
class Page:
    invocations: Invocations
    next_token: str


@dataclass(frozen=True)
class GroupFacts:
    name: str
    desired_capacity: int
    # Instance id -> LifecycleState.
    states: Mapping[str, str]
    warm_pool_state: str = ""


# EC2's view: LaunchTime is the last start; an instance configured for hibernation keeps its
# memory (php-fpm and its APCu) across a stop.
@dataclass(frozen=True)
class InstanceLaunch:
    instance_id: str
    launched: dt.datetime | None
    hibernation_configured: bool


@dataclass(frozen=True)
class Facts:
    command: CommandFacts
    invocations: Invocations
    groups: tuple[GroupFacts, ...]
    missing_groups: tuple[str, ...]
    launches: tuple[InstanceLaunch, ...] = ()


def group_target(targets: Sequence[Target]) -> tuple[str, ...]:
    """The group names when the command targeted exactly the group tag, else (). Extra target
    keys narrow the set (SSM ANDs them), so such a command cannot be held to a group's size."""
    if len(targets) == 1 and targets[0].key == GROUP_TAG:
        return tuple(dict.fromkeys(v for v in targets[0].values if v))
    return ()


def read_command(ssm: SSMClient, command_id: str) -> CommandFacts:
    try:
        commands = ssm.list_commands(CommandId=command_id).get("Commands", [])
    except ClientError as error:
        if error_code(error) == "InvalidCommandId":
            raise UnknownCommand(f"SSM does not know command {command_id}") from None
        raise
    if not commands:
        raise UnknownCommand(f"SSM does not know command {command_id}")
    c = commands[0]
    action = (c.get("Parameters", {}).get("action") or [DEFAULT_ACTION])[0]
    return CommandFacts(
        command_id=command_id,
        status=c.get("Status", ""),
        status_details=c.get("StatusDetails", ""),
        target_count=c.get("TargetCount", 0),
        targets=tuple(
            Target(t.get("Key", ""), tuple(t.get("Values", []))) for t in c.get("Targets", [])
        ),
        instance_ids=tuple(c.get("InstanceIds", [])),
        comment=c.get("Comment", ""),
        requested=c.get("RequestedDateTime"),
        action=action if action in CACHES else DEFAULT_ACTION,
        alarms=tuple(
            TriggeredAlarm(a.get("Name", ""), a.get("State", ""))
            for a in c.get("TriggeredAlarms", [])
        ),
    )


def read_invocations(ssm: SSMClient, command_id: str, token: str = "") -> Page:
    """Up to PAGES_PER_STEP pages of the command's invocations, from `token` on."""
    found: list[InvocationFacts] = []
    excerpts = EXCERPTS_PER_PAGE
    for _ in range(PAGES_PER_STEP):
        more: Any = {"NextToken": token} if token else {}
        # Output lives only in CommandPlugins, which SSM fills only with Details=true.
        answer = ssm.list_command_invocations(
            CommandId=command_id, Details=True, MaxResults=PAGE_SIZE, **more
        )
        for invocation in answer.get("CommandInvocations", []):
            facts = invocation_facts(invocation, with_excerpt=excerpts > 0)
            excerpts -= bool(facts.excerpt)
            found.append(facts)
        token = answer.get("NextToken", "")
        if not token:
            break
    return Page(tuple(found), token)


def invocation_facts(
    invocation: Mapping[str, Any], *, with_excerpt: bool = True
) -> InvocationFacts:
    output = "\n".join(p.get("Output", "") for p in invocation.get("CommandPlugins", []))
    status = invocation.get("Status", "")
    opcache = parse_opcache(output)
    refused = opcache is not None and not opcache.took
    excerpt = ""
    if with_excerpt and (status != "Success" or refused):
        # opcache.php's message says what to change; curl's exit status on stderr does not.
        excerpt = opcache.message if refused and opcache and opcache.message else error_text(output)
        if len(excerpt) > EXCERPT_CHARS:
            excerpt = "…" + excerpt[-(EXCERPT_CHARS - 1) :]
    return InvocationFacts(
        instance_id=invocation.get("InstanceId", ""),
        status=status,
        status_details=invocation.get("StatusDetails", ""),
        cleared=parse_cleared(output),
        opcache=opcache,
        excerpt=excerpt,
    )


def read_groups(
    autoscaling: AutoScalingClient, names: Sequence[str]
) -> tuple[tuple[GroupFacts, ...], tuple[str, ...]]:
    """All named groups in one DescribeAutoScalingGroups call; names it does not return are gone."""
    found: dict[str, GroupFacts] = {}
    pages = autoscaling.get_paginator("describe_auto_scaling_groups")
    for page in pages.paginate(AutoScalingGroupNames=list(names)):
        for group in page.get("AutoScalingGroups", []):
            name = group.get("AutoScalingGroupName", "")
            found[name] = GroupFacts(
                name=name,
                desired_capacity=group.get("DesiredCapacity", 0),
                states={
                    i.get("InstanceId", ""): i.get("LifecycleState", "")
                    for i in group.get("Instances", [])
                },
                warm_pool_state=group.get("WarmPoolConfiguration", {}).get("PoolState", ""),
            )
    return tuple(found[n] for n in names if n in found), tuple(n for n in names if n not in found)


def in_service(autoscaling: AutoScalingClient, group: str, held: str = "") -> frozenset[str]:
    """The group's InService instances, and `held` if its launch hook holds it (Pending:Wait)."""
    groups, _ = read_groups(autoscaling, [group])
    states = groups[0].states if groups else {}
    serving = {i for i, state in states.items() if state == IN_SERVICE}
    return frozenset({*serving, held} if states.get(held) == "Pending:Wait" else serving)


def missing_in_service(
    groups: Sequence[GroupFacts], invocations: Iterable[InvocationFacts]
) -> tuple[str, ...]:
    """InService instances of the groups with no invocation of the command, sorted."""
    serving = {i for g in groups for i, state in g.states.items() if state == IN_SERVICE}
    return tuple(sorted(serving - instance_ids(invocations)))


def read_launches(ec2: EC2Client, ids: Sequence[str]) -> tuple[InstanceLaunch, ...]:
    found: list[InstanceLaunch] = []
    pages = ec2.get_paginator("describe_instances")
    for start in range(0, len(ids), LAUNCH_BATCH):
        batch = list(ids[start : start + LAUNCH_BATCH])
        for page in pages.paginate(Filters=[{"Name": "instance-id", "Values": batch}]):
            found.extend(
                InstanceLaunch(
                    instance_id=i.get("InstanceId", ""),
                    launched=i.get("LaunchTime"),
                    hibernation_configured=i.get("HibernationOptions", {}).get("Configured", False),
                )
                for r in page.get("Reservations", [])
                for i in r.get("Instances", [])
            )
    return tuple(found)


def read_facts(
    autoscaling: AutoScalingClient, ec2: EC2Client, command: CommandFacts, invocations: Invocations
) -> Facts:
    """The invocations with the command's groups and the launches of InService instances it missed."""
    names = group_target(command.targets)
    groups, missing = read_groups(autoscaling, names) if names else ((), ())
    absent = missing_in_service(groups, invocations)
    launches = read_launches(ec2, absent) if absent else ()
    return Facts(command, invocations, groups, missing, launches)


def instance_ids(items: Iterable[InvocationFacts]) -> frozenset[str]:
    return frozenset(item.instance_id for item in items)
