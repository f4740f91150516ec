"""AWS reads: the live command, its invocations and the groups it targeted, as frozen facts.

Calls per verdict: 1 ListCommands, ceil(N/50) ListCommandInvocations and, for a group target,
1 DescribeAutoScalingGroups for all named groups together. Only when InService instances are
missing from the invocations, EC2 DescribeInstances for those instances, to tell the ones that
started after the clear was requested (their cache began empty) from the ones it missed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from apcu_notifier.notification import FINAL_STATUSES

if TYPE_CHECKING:
    from mypy_boto3_autoscaling import AutoScalingClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ssm import SSMClient

GROUP_TAG = "tag:aws:autoscaling:groupName"
# ListCommandInvocations returns at most 50 per page (botocore ssm model, MaxResults).
INVOCATIONS_PAGE_SIZE = 50
# aws:runShellScript joins stdout and stderr in an invocation's Output with this line.
ERROR_SEPARATOR = "----------ERROR-------"
# Instance ids per DescribeInstances request: a filter on instance-id (an unknown id in
# InstanceIds fails the whole call; a filter value that matches nothing does not).
LAUNCH_BATCH = 200
IN_SERVICE = "InService"
# The SSM document's action parameter, and its default (template.yaml's FlushDocument): a
# command sent without it cleared APCu.
ACTION_PARAMETER = "action"
DEFAULT_ACTION = "clear-apcu"
# The caches each action touches (apcu_dispatcher.validation.CACHES says the same).
CACHES = {
    "clear-apcu": frozenset({"apcu"}),
    "reset-opcache": frozenset({"opcache"}),
    "clear-all": frozenset({"apcu", "opcache"}),
}
# TriggeredAlarms' State for an alarm that stopped the command (the other value is UNKNOWN).
ALARM = "ALARM"
# DescribeAutoScalingGroups' WarmPoolConfiguration.PoolState for instances kept hibernated.
HIBERNATED = "Hibernated"


class UnknownCommand(LookupError):
    """SSM does not know the command (InvalidCommandId, or expired from its history)."""

    def __init__(self, command_id: str) -> None:
        super().__init__(f"SSM does not know command {command_id}")
        self.command_id = command_id


class CommandNotSettled(RuntimeError):
    """The notification says final, the live command does not yet: SNS can outrun SSM's own
    ListCommands (eventual consistency), so the handler looks again shortly (or, without the
    watchdog, raises and Lambda tries again)."""

    def __init__(self, command_id: str, notified: str, live: str) -> None:
        self.live = live
        super().__init__(
            f"command {command_id} was notified {notified} but SSM still reports it {live}; "
            "retrying later"
        )


@dataclass(frozen=True)
class TargetFacts:
    key: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class CommandFacts:
    command_id: str
    document_name: str
    status: str
    status_details: str
    target_count: int
    targets: tuple[TargetFacts, ...]
    instance_ids: tuple[str, ...]
    comment: str
    requested: dt.datetime | None
    # The document's action parameter as SendCommand passed it.
    action: str = DEFAULT_ACTION
    # The alarms of its AlarmConfiguration that went into ALARM (TriggeredAlarms): SSM then
    # started none of its pending invocations.
    stopped_by: tuple[str, ...] = ()

    @property
    def caches(self) -> frozenset[str]:
        return CACHES.get(self.action, CACHES[DEFAULT_ACTION])


@dataclass(frozen=True)
class WebNodeAnswer:
    """What apcu.php printed: the entries it cleared."""

    cleared: int


# opcache.php's caveat codes: what a restart that took left alone (webnode/README.md).
CAVEAT_PRELOAD = "preload"
CAVEAT_FILE_CACHE = "file_cache"
CAVEAT_VALIDATE_TIMESTAMPS = "validate_timestamps"
CAVEATS = (CAVEAT_PRELOAD, CAVEAT_FILE_CACHE, CAVEAT_VALIDATE_TIMESTAMPS)
# opcache.php's reasons a reset did not take (the invocation then fails).
OPCACHE_ERRORS = ("disabled", "restricted", "not_restarted")


@dataclass(frozen=True)
class OpcacheAnswer:
    """What opcache.php's confirm step printed: the restart took ("reset", with what it left
    alone) or did not ("error", with opcache.php's code: disabled, restricted, not_restarted)."""

    status: str
    error: str = ""
    # opcache.php's own words for an error: what to change.
    message: str = ""
    scripts_before: int = 0
    caveats: tuple[str, ...] = ()

    @property
    def took(self) -> bool:
        return self.status == "reset"


@dataclass(frozen=True)
class InvocationFacts:
    instance_id: str
    status: str
    status_details: str
    output: str
    answer: WebNodeAnswer | None
    opcache: OpcacheAnswer | None = None


@dataclass(frozen=True)
class GroupInstance:
    instance_id: str
    lifecycle_state: str


@dataclass(frozen=True)
class GroupFacts:
    name: str
    desired_capacity: int
    instances: tuple[GroupInstance, ...]
    # WarmPoolConfiguration.PoolState ("Stopped", "Running", "Hibernated"); "" without a pool.
    warm_pool_state: str = ""


@dataclass(frozen=True)
class InstanceLaunch:
    """EC2's view of an instance: LaunchTime is its last start, and a hibernation-configured
    instance keeps its memory (php-fpm and its APCu) across a stop."""

    instance_id: str
    launched: dt.datetime | None
    hibernation_configured: bool


@dataclass(frozen=True)
class Facts:
    command: CommandFacts
    invocations: tuple[InvocationFacts, ...]
    groups: tuple[GroupFacts, ...]
    missing_groups: tuple[str, ...]
    # Read only for InService instances missing from the invocations.
    launches: tuple[InstanceLaunch, ...] = ()

    @property
    def group_names(self) -> tuple[str, ...]:
        return group_target(self.command.targets)


def group_target(targets: Sequence[TargetFacts]) -> tuple[str, ...]:
    """The group names when the command targeted exactly the group tag, else ().

    Extra target keys narrow the set (SSM ANDs them), so such a command cannot be held to the
    group's size.
    """
    if len(targets) == 1 and targets[0].key == GROUP_TAG:
        return tuple(dict.fromkeys(v for v in targets[0].values if v))
    return ()


def read_facts(
    command_id: str,
    *,
    notified_status: str,
    ssm: SSMClient,
    autoscaling: AutoScalingClient,
    ec2: Callable[[], EC2Client | None] | None = None,
    before_page: Callable[[], None] = lambda: None,
) -> Facts:
    command = read_command(command_id, ssm=ssm)
    if command.status not in FINAL_STATUSES:
        raise CommandNotSettled(command_id, notified_status, command.status)
    return facts_of(command, ssm=ssm, autoscaling=autoscaling, ec2=ec2, before_page=before_page)


def facts_of(
    command: CommandFacts,
    *,
    ssm: SSMClient,
    autoscaling: AutoScalingClient,
    ec2: Callable[[], EC2Client | None] | None = None,
    before_page: Callable[[], None] = lambda: None,
) -> Facts:
    """What a verdict on this (already read) command needs: its invocations, its groups, and
    the launch times of InService instances it missed."""
    invocations = read_invocations(command.command_id, ssm=ssm, before_page=before_page)
    names = group_target(command.targets)
    groups, missing = read_groups(names, autoscaling=autoscaling) if names else ((), ())
    absent = missing_in_service(groups, invocations)
    # EC2 is asked (and its client built) only when InService instances are missing.
    client = ec2() if absent and ec2 is not None else None
    launches = read_launches(absent, ec2=client) if client is not None else ()
    return Facts(command, invocations, groups, missing, launches)


def missing_in_service(
    groups: Sequence[GroupFacts], invocations: Iterable[InvocationFacts]
) -> tuple[str, ...]:
    """InService instances of the groups that have no invocation of the command, sorted."""
    reached = instance_ids(invocations)
    return tuple(
        sorted(
            {
                i.instance_id
                for g in groups
                for i in g.instances
                if i.lifecycle_state == IN_SERVICE and i.instance_id not in reached
            }
        )
    )


def read_launches(ids: Sequence[str], *, ec2: EC2Client) -> tuple[InstanceLaunch, ...]:
    found: list[InstanceLaunch] = []
    paginator = ec2.get_paginator("describe_instances")
    for start in range(0, len(ids), LAUNCH_BATCH):
        batch = list(ids[start : start + LAUNCH_BATCH])
        for page in paginator.paginate(Filters=[{"Name": "instance-id", "Values": batch}]):
            for reservation in page.get("Reservations", []):
                for instance in reservation.get("Instances", []):
                    found.append(
                        InstanceLaunch(
                            instance_id=instance.get("InstanceId", ""),
                            launched=instance.get("LaunchTime"),
                            hibernation_configured=bool(
                                instance.get("HibernationOptions", {}).get("Configured", False)
                            ),
                        )
                    )
    return tuple(found)


def read_command(command_id: str, *, ssm: SSMClient) -> CommandFacts:
    try:
        answer = ssm.list_commands(CommandId=command_id)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "InvalidCommandId":
            raise UnknownCommand(command_id) from None
        raise
    commands = answer.get("Commands", [])
    if not commands:
        raise UnknownCommand(command_id)
    command = commands[0]
    return CommandFacts(
        command_id=command_id,
        document_name=command.get("DocumentName", ""),
        status=command.get("Status", ""),
        status_details=command.get("StatusDetails", ""),
        target_count=command.get("TargetCount", 0),
        targets=tuple(
            TargetFacts(t.get("Key", ""), tuple(t.get("Values", [])))
            for t in command.get("Targets", [])
        ),
        instance_ids=tuple(command.get("InstanceIds", [])),
        comment=command.get("Comment", ""),
        requested=command.get("RequestedDateTime"),
        action=_action(command.get("Parameters", {})),
        stopped_by=tuple(
            a["Name"] for a in command.get("TriggeredAlarms", []) if a.get("State") == ALARM
        ),
    )


def _action(parameters: Mapping[str, Sequence[str]]) -> str:
    values = parameters.get(ACTION_PARAMETER) or [DEFAULT_ACTION]
    return values[0] if values[0] in CACHES else DEFAULT_ACTION


def read_invocations(
    command_id: str, *, ssm: SSMClient, before_page: Callable[[], None] = lambda: None
) -> tuple[InvocationFacts, ...]:
    """`before_page` runs before each ListCommandInvocations call: it raises to stop when the
    invocation has too little time left."""
    pages = ssm.get_paginator("list_command_invocations").paginate(
        CommandId=command_id,
        # Output lives only in CommandPlugins, which SSM fills only with Details=true.
        Details=True,
        PaginationConfig={"PageSize": INVOCATIONS_PAGE_SIZE},
    )
    found: list[InvocationFacts] = []
    iterator = iter(pages)
    while True:
        before_page()
        page = next(iterator, None)
        if page is None:
            break
        for invocation in page.get("CommandInvocations", []):
            output = "\n".join(
                plugin.get("Output", "") for plugin in invocation.get("CommandPlugins", [])
            )
            found.append(
                InvocationFacts(
                    instance_id=invocation.get("InstanceId", ""),
                    status=invocation.get("Status", ""),
                    status_details=invocation.get("StatusDetails", ""),
                    output=output,
                    answer=parse_answer(output),
                    opcache=parse_opcache(output),
                )
            )
    return tuple(found)


def read_groups(
    names: Sequence[str], *, autoscaling: AutoScalingClient
) -> tuple[tuple[GroupFacts, ...], tuple[str, ...]]:
    """All named groups in one DescribeAutoScalingGroups call; names it does not return are gone."""
    pages = autoscaling.get_paginator("describe_auto_scaling_groups").paginate(
        AutoScalingGroupNames=list(names)
    )
    found: dict[str, GroupFacts] = {}
    for page in pages:
        for group in page.get("AutoScalingGroups", []):
            name = group.get("AutoScalingGroupName", "")
            found[name] = GroupFacts(
                name=name,
                desired_capacity=group.get("DesiredCapacity", 0),
                instances=tuple(
                    GroupInstance(i.get("InstanceId", ""), i.get("LifecycleState", ""))
                    for i in group.get("Instances", [])
                ),
                warm_pool_state=group.get("WarmPoolConfiguration", {}).get("PoolState", ""),
            )
    groups = tuple(found[n] for n in names if n in found)
    return groups, tuple(n for n in names if n not in found)


def parse_answer(output: str) -> WebNodeAnswer | None:
    """apcu.php's answer: the last output line that is a JSON object with an integer "cleared"
    and, when it has one, "cache":"apcu" (older apcu.php printed no "cache")."""
    for value in reversed(_json_lines(_stdout(output))):
        if value.get("cache", "apcu") != "apcu":
            continue
        cleared = value.get("cleared")
        if _count(cleared):
            return WebNodeAnswer(cleared)
    return None


def parse_opcache(output: str) -> OpcacheAnswer | None:
    """opcache.php's last "reset" or "error" line. A refusal is printed by curl
    --fail-with-body before the script fails, so stderr is searched too."""
    for value in reversed(_json_lines(output)):
        if value.get("cache") != "opcache":
            continue
        status = value.get("status")
        if status == "reset":
            caveats = value.get("caveats")
            before = value.get("scripts_before")
            return OpcacheAnswer(
                status="reset",
                scripts_before=before if _count(before) else 0,
                caveats=tuple(c for c in CAVEATS if isinstance(caveats, list) and c in caveats),
            )
        if status == "error":
            error, message = value.get("error"), value.get("message")
            return OpcacheAnswer(
                status="error",
                error=error if isinstance(error, str) else "",
                message=message if isinstance(message, str) else "",
            )
    return None


def _json_lines(text: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for line in text.splitlines():
        candidate = line.strip()
        if not candidate.startswith("{"):
            continue
        try:
            value: Any = json.loads(candidate)
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


def _count(value: object) -> bool:
    # bool is an int in Python; true is not a count.
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _stdout(output: str) -> str:
    return output.split(ERROR_SEPARATOR, 1)[0]


def error_text(output: str) -> str:
    """The part of an invocation's output that explains a failure: stderr when there is one."""
    head, separator, tail = output.partition(ERROR_SEPARATOR)
    return (tail if separator else head).strip()


def instance_ids(items: Iterable[InvocationFacts]) -> frozenset[str]:
    return frozenset(item.instance_id for item in items)
