"""The embedded AWS: moto, extended with the SSM calls it lacks, plus a way to say how a
Run Command ended.

moto answers SendCommand and ListCommands, and resolves a tag target to the instances an
Auto Scaling group launched, but it has no ListCommandInvocations and no
DescribeInstanceInformation, and every command it records has already "succeeded" on every
target. This module adds the two calls to moto's SSM responder and lets a test (or the local
run) decide what each instance's invocation did, which is the part SSM's notification never
tells.

Answers go through moto's serializer, which builds them from botocore's SSM service model,
and the limits checked below (page sizes, filter sizes) are read from that model too; so the
emulator cannot answer in a shape, or accept a request, that the real API would not.

The same module serves `mock_aws` in the tests and moto's ThreadedMotoServer in the local run
and the benchmark: both share moto's in-process backends.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

import boto3
import botocore.model
import botocore.session
from moto.autoscaling.exceptions import ValidationError as AutoScalingValidationError
from moto.autoscaling.models import autoscaling_backends
from moto.autoscaling.responses import AutoScalingResponse
from moto.cloudwatch.models import cloudwatch_backends
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.dynamodb.models import DynamoDBBackend
from moto.ec2.exceptions import InvalidInstanceIdError
from moto.ec2.models import ec2_backends
from moto.ec2.models.core import TaggedEC2Resource
from moto.ec2.models.instances import Instance, InstanceBackend
from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix
from moto.iam.models import iam_backends
from moto.ssm.exceptions import SSMException, ValidationException
from moto.ssm.models import Command, SimpleSystemManagerBackend, ssm_backends
from moto.ssm.responses import SimpleSystemManagerResponse
from moto.sts.models import sts_backends

REGION = "us-east-1"
ACCOUNT_ID = DEFAULT_ACCOUNT_ID
GROUP_TAG = "tag:aws:autoscaling:groupName"

# How SSM's aws:runShellScript joins stdout and stderr in an invocation's Output.
_ERROR_SEPARATOR = "\n----------ERROR-------\n"

# Invocation states that are final; SSM counts these in CompletedCount.
_FINAL_INVOCATION_STATUSES = {
    "Success",
    "Failed",
    "TimedOut",
    "Cancelled",
    "Undeliverable",
    "Terminated",
}


@cache
def _ssm_model() -> botocore.model.ServiceModel:
    return botocore.session.get_session().get_service_model("ssm")


def _limit(operation: str, member: str, bound: str) -> int:
    """A numeric bound (min/max) of a request member, as botocore's model states it."""
    input_shape = _ssm_model().operation_model(operation).input_shape
    assert isinstance(input_shape, botocore.model.StructureShape)
    return int(input_shape.members[member].metadata[bound])


class InvalidCommandId(SSMException):
    def __init__(self) -> None:
        super().__init__("InvalidCommandId", "Invalid command id.")


class InvalidInstanceId(SSMException):
    def __init__(self) -> None:
        super().__init__(
            "InvalidInstanceId",
            "The following supplied instance ids are not valid: the node is not a managed node "
            "SSM knows, or it is not in a valid state.",
        )


class InvalidNextToken(SSMException):
    def __init__(self) -> None:
        super().__init__("InvalidNextToken", "The specified token isn't valid.")


# --- what a test says happened ------------------------------------------------------------


@dataclass(frozen=True)
class InvocationResult:
    """How one instance's invocation of a command ended."""

    status: str = "Success"
    status_details: str | None = None  # defaults to the status, as SSM reports it
    stdout: str = ""
    stderr: str = ""
    response_code: int = 0

    @property
    def details(self) -> str:
        return self.status_details or self.status

    def output(self) -> str:
        text = self.stdout + (_ERROR_SEPARATOR + self.stderr if self.stderr else "")
        # CommandPlugin.Output is capped by the model (2,500 characters); SSM truncates.
        cap = int(_ssm_model().shape_for("CommandPluginOutput").metadata["max"])
        return text[:cap]


def webnode_answer(
    cleared: int, *, host: str = "ip-10-0-0-1", pid: int = 4242, prefix: str | None = None
) -> str:
    """The line apcu.php prints after a clear (see webnode/apcu.php)."""
    return (
        json.dumps(
            {
                "cache": "apcu",
                "status": "cleared",
                "scope": "prefix" if prefix else "all",
                "prefix": prefix,
                "entries_before": cleared,
                "entries_after": 0,
                "cleared": cleared,
                "host": host,
                "pid": pid,
            },
            separators=(",", ":"),
        )
        + "\n"
    )


def ok(cleared: int = 10, host: str = "ip-10-0-0-1") -> InvocationResult:
    return InvocationResult(stdout=webnode_answer(cleared, host=host))


def opcache_answer(
    scripts: int = 1200,
    *,
    host: str = "ip-10-0-0-1",
    caveats: tuple[str, ...] = (),
    waited_ms: int = 3,
) -> str:
    """The line opcache.php's confirm step prints once the restart took (webnode/opcache.php);
    `caveats` are its codes: preload, file_cache, validate_timestamps."""
    return (
        json.dumps(
            {
                "cache": "opcache",
                "status": "reset",
                "host": host,
                "scripts_before": scripts,
                "scripts_after": 1,
                "manual_restarts_before": 0,
                "manual_restarts_after": 1,
                "validate_timestamps": "validate_timestamps" in caveats,
                "preload": "preload" in caveats,
                "file_cache": "file_cache" in caveats,
                "caveats": list(caveats),
                "waited_ms": waited_ms,
            },
            separators=(",", ":"),
        )
        + "\n"
    )


# What opcache.php says when a reset cannot take, by its error code.
OPCACHE_ERRORS = {
    "disabled": "OPcache is off in php-fpm (opcache.enable=0): nothing to reset.",
    "restricted": "opcache.restrict_api=/srv/app refuses /opt/apcu-fleet-flush/opcache.php: set "
    "it to a folder that holds this file (/opt/apcu-fleet-flush/), or leave it empty.",
    "not_restarted": "the OPcache restart is still pending after 5 s: a request that began "
    "before the reset still holds the cache.",
}


def opcache_error(code: str, *, host: str = "ip-10-0-0-1") -> str:
    """The line opcache.php prints when the reset did not take (curl --fail-with-body)."""
    body = {
        "cache": "opcache",
        "status": "error",
        "error": code,
        "message": OPCACHE_ERRORS[code],
        "host": host,
    }
    return json.dumps(body, separators=(",", ":")) + "\n"


def opcache_reset(
    scripts: int = 1200, host: str = "ip-10-0-0-1", caveats: tuple[str, ...] = ()
) -> InvocationResult:
    """A reset-opcache invocation whose restart took."""
    return InvocationResult(stdout=opcache_answer(scripts, host=host, caveats=caveats))


def cleared_and_reset(
    cleared: int = 10, scripts: int = 1200, host: str = "ip-10-0-0-1"
) -> InvocationResult:
    """A clear-all invocation: apcu.php's line, then opcache.php's."""
    return InvocationResult(
        stdout=webnode_answer(cleared, host=host) + opcache_answer(scripts, host=host)
    )


def reset_refused(code: str, host: str = "ip-10-0-0-1") -> InvocationResult:
    """A reset-opcache invocation that failed: opcache.php's reason, curl's exit 22."""
    return InvocationResult(
        status="Failed",
        stdout=opcache_error(code, host=host),
        stderr="failed to run commands: exit status 22",
        response_code=22,
    )


@dataclass
class _Invocation:
    instance_id: str
    result: InvocationResult


@dataclass
class _CommandOutcome:
    invocations: list[_Invocation] = field(default_factory=list)


# moto keeps commands in its backend; their outcomes live here, keyed by command id.
_OUTCOMES: dict[str, _CommandOutcome] = {}
# Which instances have a registered SSM agent, and its ping status, per backend.
_MANAGED: dict[tuple[str, str], dict[str, str]] = {}


def _backend(region: str, account_id: str) -> SimpleSystemManagerBackend:
    return ssm_backends[account_id][region]


def settle_command(
    command_id: str,
    results: Mapping[str, InvocationResult],
    *,
    status: str = "Success",
    status_details: str | None = None,
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
) -> None:
    """Record how a command ended: its final status and each targeted instance's invocation.

    The counts follow SSM's definitions (ListCommands): TargetCount is the instances the
    command reached, ErrorCount the Failed and ExecutionTimedOut ones, DeliveryTimedOutCount
    those whose agent never picked it up.
    """
    command = _backend(region, account_id).get_command_by_id(command_id)
    invocations = [_Invocation(i, r) for i, r in results.items()]
    command.status = status
    command.status_details = status_details or (
        "No Instances In Tag" if not results and command.targets else status
    )
    command.target_count = len(invocations)
    command.completed_count = sum(
        1 for i in invocations if i.result.status in _FINAL_INVOCATION_STATUSES
    )
    command.error_count = sum(
        1
        for i in invocations
        if i.result.status == "Failed" or i.result.details == "ExecutionTimedOut"
    )
    command.delivery_timed_out_count = sum(  # type: ignore[attr-defined]
        1 for i in invocations if i.result.details == "DeliveryTimedOut"
    )
    _OUTCOMES[command_id] = _CommandOutcome(invocations)
    _publish(command, status)


# --- the fleet's part: how instances answer a command, and SSM's notification of its end -----

Answer = Callable[[str, list[str]], Mapping[str, InvocationResult] | None]
# How the fleet answers each command as it is sent (fleet_answers), and who is subscribed to
# the notification topic (subscribe): SNS delivering to the notifier.
_FLEET: list[Answer] = []
_SUBSCRIBERS: list[Callable[[dict[str, Any]], object]] = []


def fleet_answers(answer: Answer | None) -> None:
    """From now on, each command sent is settled at once with what `answer(command_id,
    instance_ids)` says each instance's invocation did (None: the command keeps running until
    a test settles it). Tag targets are resolved to the instances moto finds."""
    _FLEET.clear()
    if answer is not None:
        _FLEET.append(answer)


def subscribe(deliver: Callable[[dict[str, Any]], object] | None) -> None:
    """SNS's subscription of the notifier: each final status SSM notifies (the command's
    NotificationConfig says which) is handed to `deliver` as the SNS event. None: no
    subscriber, as when the notification path is broken."""
    _SUBSCRIBERS.clear()
    if deliver is not None:
        _SUBSCRIBERS.append(deliver)


def _publish(command: Command, status: str) -> None:
    config = command.notification_config or {}
    # moto gives a command sent without NotificationConfig a placeholder one (NotificationArn
    # "string", events Success): SSM notifies no one then.
    if not str(config.get("NotificationArn", "")).startswith("arn:"):
        return
    if config.get("NotificationType", "Command") != "Command":
        return
    events = config.get("NotificationEvents") or []
    if status not in events and "All" not in events:
        return
    event = notification(command.command_id, status)
    for deliver in list(_SUBSCRIBERS):
        deliver(event)


def targeted_instances(
    command_id: str, *, region: str = REGION, account_id: str = ACCOUNT_ID
) -> list[str]:
    """The instances moto resolved the command's target to at SendCommand time."""
    return list(_backend(region, account_id).get_command_by_id(command_id).instance_ids)


def register_managed_instances(
    instance_ids: Iterable[str],
    *,
    ping_status: str = "Online",
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
) -> None:
    """Say that these instances run an SSM agent that pings with this status."""
    managed = _MANAGED.setdefault((account_id, region), {})
    for instance_id in instance_ids:
        managed[instance_id] = ping_status


def forget_managed_instances(
    instance_ids: Iterable[str], *, region: str = REGION, account_id: str = ACCOUNT_ID
) -> None:
    """The agent of these instances is gone: they are not managed nodes any more."""
    managed = _MANAGED.setdefault((account_id, region), {})
    for instance_id in instance_ids:
        managed.pop(instance_id, None)


def reset() -> None:
    """Forget every outcome and managed instance (moto's own state is reset by mock_aws)."""
    _OUTCOMES.clear()
    _MANAGED.clear()
    _LIFETIME.clear()
    _FLEET.clear()
    _SUBSCRIBERS.clear()
    _ENDING.clear()
    _READS.clear()
    _HELD.clear()
    _COMPLETED.clear()
    HEARTBEATS.clear()


# --- Auto Scaling groups ---------------------------------------------------------------------


def create_group(
    name: str,
    size: int,
    *,
    region: str = REGION,
    managed: bool = True,
    endpoint_url: str | None = None,
) -> list[str]:
    """Create an Auto Scaling group of `size` InService instances; return their ids.

    The instances carry the aws:autoscaling:groupName tag, so moto's SendCommand resolves
    the group's tag target to them, as SSM does.
    """
    ec2 = boto3.client("ec2", region_name=region, endpoint_url=endpoint_url)
    asg = boto3.client("autoscaling", region_name=region, endpoint_url=endpoint_url)
    template_name = f"{name}-lt"
    try:
        ec2.create_launch_template(
            LaunchTemplateName=template_name,
            LaunchTemplateData={"ImageId": "ami-12c6146b", "InstanceType": "t4g.small"},
        )
    except ec2.exceptions.ClientError as error:
        if "AlreadyExists" not in str(error):
            raise
    asg.create_auto_scaling_group(
        AutoScalingGroupName=name,
        LaunchTemplate={"LaunchTemplateName": template_name, "Version": "$Latest"},
        MinSize=0,
        MaxSize=max(size, 1) * 2,
        DesiredCapacity=size,
        AvailabilityZones=[f"{region}a", f"{region}c"],
    )
    ids = group_instances(name, region=region)
    if managed:
        register_managed_instances(ids, region=region)
    return ids


def group_instances(name: str, *, region: str = REGION, account_id: str = ACCOUNT_ID) -> list[str]:
    group = autoscaling_backends[account_id][region].autoscaling_groups[name]
    return [state.instance.id for state in group.instance_states]


def set_lifecycle(
    name: str,
    instance_ids: Sequence[str],
    state: str,
    *,
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
) -> None:
    """Put instances of a group in a lifecycle state (Pending, Terminating, ...), as when it scales."""
    group = autoscaling_backends[account_id][region].autoscaling_groups[name]
    wanted = set(instance_ids)
    for instance_state in group.instance_states:
        if instance_state.instance.id in wanted:
            instance_state.lifecycle_state = state


def set_desired_capacity(
    name: str, desired: int, *, region: str = REGION, account_id: str = ACCOUNT_ID
) -> None:
    """Change DesiredCapacity without launching or terminating anything (a scale-out that has just begun)."""
    autoscaling_backends[account_id][region].autoscaling_groups[name].desired_capacity = desired


def delete_group(name: str, *, region: str = REGION, account_id: str = ACCOUNT_ID) -> None:
    """Remove a group at once (deleted between SendCommand and the verdict)."""
    del autoscaling_backends[account_id][region].autoscaling_groups[name]


def remove_group(name: str, *, region: str = REGION, account_id: str = ACCOUNT_ID) -> None:
    """Remove a group and every trace of its instances, as if it had never been: a benchmark
    measuring one size after another keeps the earlier sizes from slowing the next."""
    group = autoscaling_backends[account_id][region].autoscaling_groups.pop(name)
    gone = {state.instance.id for state in group.instance_states}
    ec2 = ec2_backends[account_id][region]
    for reservation_id, reservation in list(ec2.reservations.items()):
        reservation.instances = [i for i in reservation.instances if i.id not in gone]
        if not reservation.instances:
            del ec2.reservations[reservation_id]
    for instance_id in gone:
        ec2.tags.pop(instance_id, None)
    forget_managed_instances(sorted(gone), region=region)


# --- the command record and the watchdog (the stack's table and schedule group) --------------


def create_commands_table(
    name: str, *, region: str = REGION, endpoint_url: str | None = None
) -> None:
    """The commands table as template.yaml declares it: partition key commandId, on demand."""
    boto3.client("dynamodb", region_name=region, endpoint_url=endpoint_url).create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "commandId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "commandId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


# --- the two calls moto lacks ----------------------------------------------------------------


def _timestamp(value: Any) -> Any:
    return value if isinstance(value, dt.datetime) else dt.datetime.now(dt.UTC)


def _invocation_shape(
    command: Command, invocation: _Invocation, *, details: bool
) -> dict[str, Any]:
    result = invocation.result
    requested = _timestamp(command.requested_date_time)
    plugins = []
    if details:
        # Without Details=true SSM leaves CommandPlugins empty; output is only here.
        plugins = [
            {
                "Name": "clearApcu",
                "Status": result.status,
                "StatusDetails": result.details,
                "ResponseCode": result.response_code,
                "ResponseStartDateTime": requested,
                "ResponseFinishDateTime": requested,
                "Output": result.output(),
                "StandardOutputUrl": "",
                "StandardErrorUrl": "",
                "OutputS3Region": command.backend_region,
                "OutputS3BucketName": "",
                "OutputS3KeyPrefix": "",
            }
        ]
    return {
        "CommandId": command.command_id,
        "InstanceId": invocation.instance_id,
        "InstanceName": "",
        "Comment": command.comment,
        "DocumentName": command.document_name,
        "DocumentVersion": "$DEFAULT",
        "RequestedDateTime": requested,
        "Status": result.status,
        "StatusDetails": result.details,
        "TraceOutput": "",
        "StandardOutputUrl": "",
        "StandardErrorUrl": "",
        "CommandPlugins": plugins,
        "ServiceRole": command.service_role_arn,
        "NotificationConfig": command.notification_config,
        "CloudWatchOutputConfig": {"CloudWatchOutputEnabled": False},
    }


def _page(items: Any, token: str | None, size: int) -> tuple[list[Any], str | None]:
    """A page of `items` (anything with len() and slicing) from the NextToken's offset."""
    try:
        start = int(token) if token else 0
    except ValueError:
        raise InvalidNextToken() from None
    if start < 0 or start > len(items):
        raise InvalidNextToken()
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


def _check_range(operation: str, member: str, value: int) -> None:
    low, high = _limit(operation, member, "min"), _limit(operation, member, "max")
    if not low <= value <= high:
        raise ValidationException(
            f"1 validation error detected: Value '{value}' at '{member[0].lower()}{member[1:]}' failed to "
            f"satisfy constraint: Member must have value between {low} and {high}"
        )


def _invocations_of(command: Command) -> list[_Invocation]:
    outcome = _OUTCOMES.get(command.command_id)
    if outcome:
        return outcome.invocations
    # A command nobody settled is still being delivered: SSM lists its targets as Pending.
    return [_Invocation(i, InvocationResult(status="Pending")) for i in command.instance_ids]


@dataclass(frozen=True)
class _OneCommand:
    """One command's invocations as (command, invocation) rows, sliced without copying them
    all."""

    command: Command
    invocations: list[_Invocation]

    def __len__(self) -> int:
        return len(self.invocations)

    def __getitem__(self, window: slice) -> list[tuple[Command, _Invocation]]:
        return [(self.command, inv) for inv in self.invocations[window]]


def list_command_invocations(self: SimpleSystemManagerResponse) -> ActionResult:
    command_id = self._get_param("CommandId")
    instance_id = self._get_param("InstanceId")
    max_results = self._get_int_param("MaxResults") or _limit(
        "ListCommandInvocations", "MaxResults", "max"
    )
    _check_range("ListCommandInvocations", "MaxResults", max_results)
    details = bool(self._get_param("Details", False))
    backend = self.ssm_backend
    commands = [backend.get_command_by_id(command_id)] if command_id else list(backend._commands)
    rows: list[tuple[Command, _Invocation]] | _OneCommand
    if len(commands) == 1 and not instance_id:
        # The notifier's case, one command page by page: the page is cut from the command's
        # own list, so that paging through a large fleet costs what it does in SSM: linear in
        # the fleet, not in the fleet times the pages.
        rows = _OneCommand(commands[0], _invocations_of(commands[0]))
    else:
        rows = [
            (command, inv)
            for command in commands
            for inv in _invocations_of(command)
            if not instance_id or inv.instance_id == instance_id
        ]
    selected, next_token = _page(rows, self._get_param("NextToken"), max_results)
    page = [_invocation_shape(command, inv, details=details) for command, inv in selected]
    body: dict[str, Any] = {"CommandInvocations": page}
    if next_token:
        body["NextToken"] = next_token
    return ActionResult(body)


def _instance_filter(self: SimpleSystemManagerResponse) -> list[str] | None:
    max_values = int(_ssm_model().shape_for("InstanceInformationFilterValueSet").metadata["max"])
    wanted: list[str] | None = None
    for key in ("Filters", "InstanceInformationFilterList"):
        for entry in self._get_param(key, []) or []:
            name = entry.get("Key") or entry.get("key")
            values = entry.get("Values") or entry.get("valueSet") or []
            if name != "InstanceIds":
                raise SSMException(
                    "InvalidFilterKey", f"The emulator filters by InstanceIds only, not {name}."
                )
            if len(values) > max_values:
                raise ValidationException(
                    f"At most {max_values} values per filter, got {len(values)}."
                )
            wanted = (wanted or []) + list(values)
    return wanted


def describe_instance_information(self: SimpleSystemManagerResponse) -> ActionResult:
    max_results = self._get_int_param("MaxResults") or _limit(
        "DescribeInstanceInformation", "MaxResults", "max"
    )
    _check_range("DescribeInstanceInformation", "MaxResults", max_results)
    managed = _MANAGED.get((self.current_account, self.region), {})
    wanted = _instance_filter(self)
    # SSM refuses the whole call when one id is not a node it manages, naming none of them
    # (API reference: "If you specify a node ID that isn't valid ..., you receive an error").
    if wanted is not None and any(i not in managed for i in wanted):
        raise InvalidInstanceId()
    ids = [i for i in (wanted if wanted is not None else list(managed)) if i in managed]
    now = dt.datetime.now(dt.UTC)
    rows = [
        {
            "InstanceId": i,
            "PingStatus": managed[i],
            "LastPingDateTime": now,
            "AgentVersion": "3.3.2746.0",
            "IsLatestVersion": True,
            "PlatformType": "Linux",
            "PlatformName": "Amazon Linux",
            "PlatformVersion": "2023",
            "ResourceType": "EC2Instance",
            "ComputerName": f"{i}.ec2.internal",
        }
        for i in ids
    ]
    page, next_token = _page(rows, self._get_param("NextToken"), max_results)
    body: dict[str, Any] = {"InstanceInformationList": page}
    if next_token:
        body["NextToken"] = next_token
    return ActionResult(body)


# --- ListCommands with its filters (moto ignores them) ---------------------------------------

# The values CommandFilter's documentation lists for ListCommands (botocore SSM model); the model
# has no enum for them, so tests check these lists against that documentation text.
COMMAND_STATUS_FILTER_VALUES = (
    "Pending",
    "InProgress",
    "Success",
    "Cancelled",
    "Failed",
    "TimedOut",
    "AccessDenied",
    "DeliveryTimedOut",
    "ExecutionTimedOut",
    "Incomplete",
    "NoInstancesInTag",
    "LimitExceeded",
)
EXECUTION_STAGES = ("Executing", "Complete")
# Command statuses that are not final: the "Executing" stage.
_EXECUTING_STATUSES = frozenset({"Pending", "InProgress", "Cancelling"})
# The timestamp form the documentation gives for InvokedAfter/InvokedBefore (2024-07-07T00:00:00Z).
_FILTER_TIME_FORMATS = ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ")


class InvalidFilterKey(SSMException):
    def __init__(self, key: object) -> None:
        super().__init__("InvalidFilterKey", f"The specified key isn't valid: {key}.")


class InvalidFilterValue(SSMException):
    def __init__(self, key: str, value: object) -> None:
        super().__init__("InvalidFilterValue", f"The filter value {value!r} isn't valid for {key}.")


def _filter_time(key: str, value: str) -> dt.datetime:
    for form in _FILTER_TIME_FORMATS:
        try:
            return dt.datetime.strptime(value, form).replace(tzinfo=dt.UTC)
        except ValueError:
            continue
    raise InvalidFilterValue(key, value)


def _command_filters(self: SimpleSystemManagerResponse) -> list[tuple[str, str]]:
    """ListCommands' Filters, checked as the model bounds them: 1..5 filters, known keys,
    values of 1..128 characters, and each key's documented values."""
    entries = self._get_param("Filters")
    if entries is None:
        return []
    model = _ssm_model()
    low, high = (int(model.shape_for("CommandFilterList").metadata[b]) for b in ("min", "max"))
    if not low <= len(entries) <= high:
        raise ValidationException(
            f"1 validation error detected: Value at 'filters' failed to satisfy constraint: "
            f"Member must have length between {low} and {high}"
        )
    key_shape = model.shape_for("CommandFilterKey")
    assert isinstance(key_shape, botocore.model.StringShape)
    keys = key_shape.enum
    value_shape = model.shape_for("CommandFilterValue").metadata
    filters: list[tuple[str, str]] = []
    for entry in entries:
        key, value = entry.get("key"), entry.get("value")
        if key not in keys:
            raise InvalidFilterKey(key)
        if not isinstance(value, str) or not (
            int(value_shape["min"]) <= len(value) <= int(value_shape["max"])
        ):
            raise InvalidFilterValue(key, value)
        # SSM does not document how two filters on one key combine; refuse rather than guess.
        if any(key == seen for seen, _ in filters):
            raise InvalidFilterKey(f"{key} (given twice)")
        documented = {"Status": COMMAND_STATUS_FILTER_VALUES, "ExecutionStage": EXECUTION_STAGES}
        if key in ("InvokedAfter", "InvokedBefore"):
            _filter_time(key, value)
        elif key in documented and value not in documented[key]:
            raise InvalidFilterValue(key, value)
        filters.append((key, value))
    return filters


def _requested(command: Command) -> dt.datetime:
    # moto keeps naive UTC datetimes.
    requested: dt.datetime = _timestamp(command.requested_date_time)
    return requested if requested.tzinfo else requested.replace(tzinfo=dt.UTC)


def _command_matches(command: Command, key: str, value: str) -> bool:
    if key == "DocumentName":
        return bool(command.document_name == value)
    if key == "InvokedAfter":
        return _requested(command) >= _filter_time(key, value)
    if key == "InvokedBefore":
        return _requested(command) < _filter_time(key, value)
    if key == "ExecutionStage":
        return (command.status in _EXECUTING_STATUSES) == (value == "Executing")
    # Status: a command status, or a StatusDetails value written without spaces
    # ("No Instances In Tag" as NoInstancesInTag); TimedOut covers both time-outs.
    details = str(command.status_details or "").replace(" ", "")
    if value == "TimedOut":
        return command.status == value or details in {"DeliveryTimedOut", "ExecutionTimedOut"}
    return bool(command.status == value or details == value)


# Commands that end when they have been read by id a number of times (end_on_read).
_ENDING: dict[str, tuple[int, Mapping[str, InvocationResult], str]] = {}
_READS: dict[str, int] = {}


def end_on_read(
    command_id: str, read: int, results: Mapping[str, InvocationResult], *, status: str = "Success"
) -> None:
    """The command ends (as settle_command says) just before ListCommands reads it by its id
    for the `read`-th time: a command that ends late, at a moment a test can name even where
    the runner skips the waits between the reads."""
    _ENDING[command_id] = (read, results, status)


def list_commands_filtered(self: SimpleSystemManagerResponse) -> ActionResult:
    """ListCommands honouring Filters, MaxResults and NextToken, as SSM does."""
    wanted = self._get_param("CommandId")
    if wanted in _ENDING:
        _READS[wanted] = _READS.get(wanted, 0) + 1
        read, results, status = _ENDING[wanted]
        if _READS[wanted] == read:
            del _ENDING[wanted]
            settle_command(
                wanted, results, status=status, region=self.region, account_id=self.current_account
            )
    max_results = self._get_int_param("MaxResults") or _limit("ListCommands", "MaxResults", "max")
    _check_range("ListCommands", "MaxResults", max_results)
    filters = _command_filters(self)
    commands = self.ssm_backend.list_commands(
        self._get_param("CommandId"), self._get_param("InstanceId")
    )
    rows = [c for c in commands if all(_command_matches(c, k, v) for k, v in filters)]
    page, next_token = _page(rows, self._get_param("NextToken"), max_results)
    body: dict[str, Any] = {"Commands": [command.response_object() for command in page]}
    if next_token:
        body["NextToken"] = next_token
    return ActionResult(body)


def set_command_running(
    command_id: str,
    *,
    status: str = "InProgress",
    requested_at: dt.datetime | None = None,
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
) -> None:
    """Say that a command is still running (moto finishes every command at once), optionally
    requested at another time (naive UTC, as moto keeps it)."""
    assert status in _EXECUTING_STATUSES, f"{status} is a final status; use settle_command"
    command = _backend(region, account_id).get_command_by_id(command_id)
    command.status = status
    command.status_details = status
    if requested_at is not None:
        command.requested_date_time = requested_at.astimezone(dt.UTC).replace(tzinfo=None)


def _get_command_by_id(self: SimpleSystemManagerBackend, command_id: str) -> Command:
    for command in self._commands:
        if command.command_id == command_id:
            return command
    raise InvalidCommandId()


_original_response_object = Command.response_object


def _response_object(self: Command) -> dict[str, Any]:
    # moto always reports DeliveryTimedOutCount 0; report what settle_command recorded.
    body = _original_response_object(self)
    body["DeliveryTimedOutCount"] = getattr(self, "delivery_timed_out_count", 0)
    # ListCommands returns what the command was sent with, and the alarms that stopped it.
    if alarm := getattr(self, "alarm_configuration", None):
        body["AlarmConfiguration"] = alarm
    if triggered := getattr(self, "triggered_alarms", None):
        body["TriggeredAlarms"] = triggered
    if self.targets:
        # SSM lists InstanceIds only for commands sent to instance ids; moto fills in the
        # instances it resolved a tag target to, which SSM never shows.
        body["InstanceIds"] = []
    return body


_original_instances_from_targets = Command._get_instance_ids_from_targets


def _instances_from_targets_only_when_targeted(self: Command) -> list[str]:
    # moto resolves an empty Targets list to every instance of the region; a command sent to
    # InstanceIds has no targets and reaches exactly those instances.
    return list(_original_instances_from_targets(self)) if self.targets else []


# --- launch lifecycle hooks: CompleteLifecycleAction, which moto lacks -------------------------


@dataclass(frozen=True)
class _HeldLaunch:
    group: str
    hook: str
    instance_id: str


# Launch actions Auto Scaling holds (Pending:Wait), by token, and how each was completed.
_HELD: dict[str, _HeldLaunch] = {}
_COMPLETED: dict[str, str] = {}


def hold_launch(
    group: str,
    instance_id: str,
    hook: str,
    *,
    transition: str = "autoscaling:EC2_INSTANCE_LAUNCHING",
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
) -> str:
    """Auto Scaling puts the group's launch hook on the instance: it waits in Pending:Wait
    until the action is completed. The hook is created on the group if it has none by that
    name. Returns the action's token, as the EventBridge event carries it."""
    backend = autoscaling_backends[account_id][region]
    if not backend.describe_lifecycle_hooks(group, [hook]):
        backend.create_lifecycle_hook(
            name=hook, as_name=group, transition=transition, timeout=900, result="CONTINUE"
        )
    token = str(uuid.uuid4())
    _HELD[token] = _HeldLaunch(group, hook, instance_id)
    set_lifecycle(group, [instance_id], "Pending:Wait", region=region, account_id=account_id)
    return token


def lifecycle_state(
    group: str, instance_id: str, *, region: str = REGION, account_id: str = ACCOUNT_ID
) -> str:
    """The instance's LifecycleState in the group (InService, Pending:Wait, ...)."""
    states = autoscaling_backends[account_id][region].autoscaling_groups[group].instance_states
    return next(s.lifecycle_state for s in states if s.instance.id == instance_id)


def lifecycle_result(token: str) -> str | None:
    """CONTINUE or ABANDON once the held action was completed; None while it is held."""
    return _COMPLETED.get(token)


def complete_lifecycle_action(self: AutoScalingResponse) -> ActionResult:
    """CompleteLifecycleAction: the held instance goes InService (CONTINUE) or is terminated
    (ABANDON). A token no action holds, or one held for another group, hook or instance, is
    refused with ValidationError as Auto Scaling does."""
    token = self._get_param("LifecycleActionToken")
    held = _HELD.get(token)
    asked = _HeldLaunch(
        self._get_param("AutoScalingGroupName"),
        self._get_param("LifecycleHookName"),
        self._get_param("InstanceId") or (held.instance_id if held else ""),
    )
    if held is None or held != asked:
        raise AutoScalingValidationError(f"No active Lifecycle Action found with token {token}")
    result = self._get_param("LifecycleActionResult")
    if result not in ("CONTINUE", "ABANDON"):
        raise AutoScalingValidationError(f"LifecycleActionResult {result!r} is not valid")
    del _HELD[token]
    _COMPLETED[token] = result
    set_lifecycle(
        held.group,
        [held.instance_id],
        "InService" if result == "CONTINUE" else "Terminating",
        region=self.region,
        account_id=self.current_account,
    )
    return EmptyResult()


# Heartbeats recorded for each held action, by token.
HEARTBEATS: dict[str, int] = {}


def record_lifecycle_action_heartbeat(self: AutoScalingResponse) -> ActionResult:
    """RecordLifecycleActionHeartbeat: the held action's timeout starts again; refused with
    ValidationError for an action no longer held, as Auto Scaling does."""
    token = self._get_param("LifecycleActionToken")
    held = _HELD.get(token)
    if held is None or held.group != self._get_param("AutoScalingGroupName"):
        raise AutoScalingValidationError(f"No active Lifecycle Action found with token {token}")
    HEARTBEATS[token] = HEARTBEATS.get(token, 0) + 1
    return EmptyResult()


# --- the stop alarm: SendCommand's AlarmConfiguration and Command.TriggeredAlarms ----------

_original_send_command = SimpleSystemManagerResponse.send_command


def send_command_with_alarm(self: SimpleSystemManagerResponse) -> ActionResult:
    """moto drops AlarmConfiguration; SSM keeps it on the command and, when the alarm is in
    ALARM already, runs none of the command's invocations (TriggeredAlarms says why)."""
    result = _original_send_command(self)
    body = result.result
    assert isinstance(body, dict)
    command = self.ssm_backend.get_command_by_id(body["Command"]["CommandId"])
    # moto ends every command at once; SSM's run until their invocations end (settle_command),
    # and count none completed before then.
    command.status = command.status_details = "InProgress"
    command.completed_count = 0
    if _LIFETIME:
        command.expires_after = command.requested_date_time + _LIFETIME[-1]
    alarm = self._get_param("AlarmConfiguration")
    if alarm:
        command.alarm_configuration = alarm  # type: ignore[attr-defined]
        name = alarm["Alarms"][0]["Name"]
        watched = cloudwatch_backends[self.current_account][self.region].alarms.get(name)
        if watched is not None and watched.state_value == "ALARM":
            command.triggered_alarms = [{"Name": name, "State": "ALARM"}]  # type: ignore[attr-defined]
    body["Command"] = command.response_object()
    for answer in list(_FLEET):
        results = answer(command.command_id, list(command.instance_ids))
        if results is not None:
            settle_command(
                command.command_id,
                results,
                status=_status_of(results),
                region=self.region,
                account_id=self.current_account,
            )
    return result


def _status_of(results: Mapping[str, InvocationResult]) -> str:
    """The command status SSM reports when every invocation has ended (MaxErrors 100%)."""
    statuses = {r.status for r in results.values()}
    if not results or statuses == {"Success"}:
        return "Success"
    return (
        "Failed" if "Failed" in statuses else ("TimedOut" if "TimedOut" in statuses else "Success")
    )


def trip_alarm(
    command_id: str, *, state: str = "ALARM", region: str = REGION, account_id: str = ACCOUNT_ID
) -> str:
    """Say that the command's stop alarm stopped it while it ran, as SSM reports it in
    TriggeredAlarms: it went into ALARM, or (UNKNOWN) SSM could not read it; settle_command
    then says which invocations ran before. Returns the alarm's name."""
    command = _backend(region, account_id).get_command_by_id(command_id)
    alarm = getattr(command, "alarm_configuration", None)
    assert alarm, f"command {command_id} was sent without an AlarmConfiguration"
    name: str = alarm["Alarms"][0]["Name"]
    command.triggered_alarms = [{"Name": name, "State": state}]  # type: ignore[attr-defined]
    return name


# A command lifetime for the commands sent while it is set (expire_commands).
_LIFETIME: list[dt.timedelta] = []


def expire_commands(after: dt.timedelta | None) -> None:
    """From now on, SendCommand's ExpiresAfter is `after` past the request (None: moto's own,
    the delivery timeout). A test that needs a clear's wait to run out sets it short, or even
    negative: the clear waits until a minute past the expiry, in real time."""
    _LIFETIME.clear()
    if after is not None:
        _LIFETIME.append(after)


def notification(
    command_id: str, status: str, *, region: str = REGION, account_id: str = ACCOUNT_ID
) -> dict[str, Any]:
    """The SNS event SSM publishes for a command's status (Type Command, tag target: no
    instance ids), as Lambda receives it from the topic."""
    command = _backend(region, account_id).get_command_by_id(command_id)
    requested = command.requested_date_time.replace(tzinfo=dt.UTC)
    now = dt.datetime.now(dt.UTC)
    message = {
        "commandId": command_id,
        "documentName": command.document_name,
        "instanceIds": [] if command.targets else list(command.instance_ids),
        "requestedDateTime": requested.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "expiresAfter": command.expires_after.replace(tzinfo=dt.UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
        "outputS3BucketName": "",
        "outputS3KeyPrefix": "",
        "status": status,
        "eventTime": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    topic = f"arn:aws:sns:{region}:{account_id}:apcu-fleet-flush-NotificationTopic"
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic}:{uuid.uuid4()}",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": str(uuid.uuid4()),
                    "TopicArn": topic,
                    "Subject": f"EC2 Run Command Notification {region}",
                    "Message": json.dumps(message, separators=(",", ":")),
                    "Timestamp": message["eventTime"],
                    "MessageAttributes": {},
                },
            }
        ]
    }


def sent_alarm_configuration(
    command_id: str, *, region: str = REGION, account_id: str = ACCOUNT_ID
) -> dict[str, Any] | None:
    """The AlarmConfiguration the command was sent with, as SSM received it."""
    command = _backend(region, account_id).get_command_by_id(command_id)
    return getattr(command, "alarm_configuration", None)


# --- who signed a request: the keys moto issued, for the local API front end ----------------


@dataclass(frozen=True)
class SigningIdentity:
    """An access key's secret and the principal it belongs to, as IAM and STS know them."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None
    arn: str  # arn:aws:iam::…:user/name, or arn:aws:sts::…:assumed-role/role/session
    user_id: str  # AIDA… for a user; AROA…:session for a role session
    account_id: str


def signing_identity(
    access_key_id: str, *, account_id: str = ACCOUNT_ID, partition: str = "aws"
) -> SigningIdentity | None:
    """The identity behind an access key moto issued: an active IAM user key, or an unexpired
    STS role session. None for any other key, which AWS would refuse as an invalid token.

    moto keeps the secrets it hands out in its IAM and STS backends; a server that checks
    SigV4 signatures (API Gateway's IAM authoriser) needs exactly that secret.
    """
    for session in sts_backends[account_id][partition].assumed_roles:
        if session.access_key_id == access_key_id:
            if session.expiration <= utcnow():
                return None
            return SigningIdentity(
                access_key_id=session.access_key_id,
                secret_access_key=session.secret_access_key,
                session_token=session.session_token,
                arn=session.arn,
                user_id=session.user_id,
                account_id=session.account_id,
            )
    iam = iam_backends[account_id][partition]
    for user in list(iam.users.values()):
        for key in user.access_keys:
            if key.access_key_id == access_key_id and key.status == "Active":
                return SigningIdentity(
                    access_key_id=key.access_key_id,
                    secret_access_key=key.secret_access_key,
                    session_token=None,
                    arn=user.arn,
                    user_id=user.id,
                    account_id=user.account_id,
                )
    return None


def _get_instance_newest_first(self: InstanceBackend, instance_id: str) -> Instance:
    """moto's lookup of one instance, searching the newest reservations and instances first.

    moto's own `get_instance` lists every instance of the account for each lookup, and
    RunInstances looks up each instance it launches, so seeding a group costs the square of its
    size: 10,000 instances took minutes. Ids are unique, so the answer is the same; the instance
    just launched is found at once.
    """
    for reservation in reversed(self.reservations.values()):
        for instance in reversed(reservation.instances):
            if instance.id == instance_id:
                return instance
    raise InvalidInstanceIdError(instance_id)


def _get_tags_by_id(self: TaggedEC2Resource) -> list[dict[str, str]]:
    """moto's tags of one EC2 resource, read from its own entry.

    moto's `get_tags` runs DescribeTags with a resource-id filter, which matches that filter
    against every tag of the account; SSM's tag target (and DescribeInstances' tag filter) asks
    for each instance's tags, so resolving a group's target costs the square of its size, 237 s
    of a 10,000-instance verdict. The answer is the same rows, in the same shape.
    """
    if not self.id:  # type: ignore[attr-defined]
        return []
    resource_id: str = self.id  # type: ignore[attr-defined]
    # .get, not [...]: the backend's tags are a defaultdict, and a read must not add a key.
    tags: dict[str, str] = self.ec2_backend.tags.get(resource_id, {})  # type: ignore[attr-defined]
    resource_type = EC2_PREFIX_TO_RESOURCE.get(get_prefix(resource_id), "")
    return [
        {"resource_id": resource_id, "key": key, "value": value, "resource_type": resource_type}
        for key, value in tags.items()
    ]


# --- DynamoDB's conditional writes, atomic as in AWS ------------------------------------------

# moto checks a write's condition and then applies it as two steps of Python; two threads (two
# requests at the same moment, in the tests or in the local run's threaded server) can both
# pass the check before either writes. DynamoDB applies a conditional write atomically, so the
# emulator serialises moto's item writes under one lock: a reader of the claim sees what AWS
# would, and a test of two requests at once tests the dispatcher, not moto's race.
_ITEM_WRITES = ("put_item", "update_item", "delete_item")
_item_write_lock = threading.RLock()


def _serialised(write: Any) -> Any:
    if getattr(write, "_serialised", False):
        return write

    @functools.wraps(write)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _item_write_lock:
            return write(*args, **kwargs)

    locked._serialised = True  # type: ignore[attr-defined]
    return locked


def install() -> None:
    """Teach moto's SSM the missing calls, seed large groups quickly, and make DynamoDB's
    conditional writes atomic. Idempotent; done on import."""
    InstanceBackend.get_instance = _get_instance_newest_first  # type: ignore[method-assign]
    TaggedEC2Resource.get_tags = _get_tags_by_id  # type: ignore[method-assign]
    SimpleSystemManagerResponse.list_command_invocations = list_command_invocations  # type: ignore[attr-defined]
    SimpleSystemManagerResponse.describe_instance_information = describe_instance_information  # type: ignore[attr-defined]
    SimpleSystemManagerResponse.list_commands = list_commands_filtered  # type: ignore[method-assign]
    SimpleSystemManagerResponse.send_command = send_command_with_alarm  # type: ignore[method-assign]
    AutoScalingResponse.complete_lifecycle_action = complete_lifecycle_action  # type: ignore[attr-defined]
    AutoScalingResponse.record_lifecycle_action_heartbeat = record_lifecycle_action_heartbeat  # type: ignore[attr-defined]
    # moto raises a generic error for an unknown command id; AWS answers InvalidCommandId.
    SimpleSystemManagerBackend.get_command_by_id = _get_command_by_id  # type: ignore[method-assign]
    Command.response_object = _response_object  # type: ignore[method-assign]
    Command._get_instance_ids_from_targets = _instances_from_targets_only_when_targeted  # type: ignore[method-assign]
    for name in _ITEM_WRITES:
        setattr(DynamoDBBackend, name, _serialised(getattr(DynamoDBBackend, name)))


install()


# --- EC2 launch facts and warm pools ---------------------------------------------------------


def set_launch_time(
    instance_ids: Iterable[str],
    launched: dt.datetime,
    *,
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
) -> None:
    """Say when instances last started (EC2 LaunchTime), e.g. after a command was requested."""
    backend = ec2_backends[account_id][region]
    for instance_id in instance_ids:
        # moto keeps LaunchTime as a naive UTC datetime; EC2 reports it to the second.
        backend.get_instance(instance_id).launch_time = launched.astimezone(dt.UTC).replace(
            tzinfo=None, microsecond=0
        )


def set_hibernation_configured(
    instance_ids: Iterable[str],
    configured: bool = True,
    *,
    region: str = REGION,
    account_id: str = ACCOUNT_ID,
) -> None:
    """Configure instances for hibernation (EC2 HibernationOptions.Configured)."""
    backend = ec2_backends[account_id][region]
    for instance_id in instance_ids:
        backend.get_instance(instance_id).hibernation_options = {"Configured": configured}


def add_warm_pool(
    name: str,
    size: int,
    *,
    pool_state: Literal["Hibernated", "Running", "Stopped"] = "Hibernated",
    region: str = REGION,
    endpoint_url: str | None = None,
) -> list[str]:
    """Give a group a warm pool of `size` instances in `pool_state`; return their ids.

    Warm-pool instances are launched by the group, so they carry its aws:autoscaling:groupName
    tag and a tag target reaches them; DescribeAutoScalingGroups does not list them among the
    group's Instances, and reports the pool's state in WarmPoolConfiguration.PoolState.
    """
    asg = boto3.client("autoscaling", region_name=region, endpoint_url=endpoint_url)
    asg.put_warm_pool(AutoScalingGroupName=name, PoolState=pool_state, MinSize=size)
    ec2 = boto3.client("ec2", region_name=region, endpoint_url=endpoint_url)
    launched = ec2.run_instances(
        ImageId="ami-12c6146b",
        InstanceType="t4g.small",
        MinCount=size,
        MaxCount=size,
        HibernationOptions={"Configured": pool_state == "Hibernated"},
    )
    ids = [i["InstanceId"] for i in launched["Instances"]]
    # The aws: tag prefix is reserved for AWS, so the API refuses it; tag through the backend.
    backend = ec2_backends[ACCOUNT_ID][region]
    backend.create_tags(ids, {"aws:autoscaling:groupName": name})
    register_managed_instances(ids, region=region)
    return ids
