"""An instance leaving the warm pool gets its own clear: the same document, to that one instance.

A warm-pool instance kept in the Hibernated state resumes with php-fpm's memory, and so with
APCu as it was when it entered the pool, possibly older than the last clear of its group.
Auto Scaling announces the move to EventBridge as "EC2 Instance Launch Successful" with
detail.Origin "WarmPool" and detail.Destination "AutoScalingGroup"; the stack's rule sends
only those, for the allowed groups, here. The event is still checked field by field: anyone
allowed lambda:InvokeFunction can shape one, and the instance id ends up in SendCommand.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from apcu_clear import claim
from apcu_clear.claim import Taken
from apcu_clear.lifecycle import cleared_before_service
from apcu_dispatcher import claims
from apcu_dispatcher.budget import Remaining, unlimited
from apcu_dispatcher.clients import Clients
from apcu_dispatcher.command import build_send_command, console_url
from apcu_dispatcher.config import Config
from apcu_dispatcher.dispatch import SendOutcomeUnknown, send_and_arm
from apcu_dispatcher.errors import Refusal
from apcu_dispatcher.guard import refuse_if_instance_busy
from apcu_dispatcher.preflight import Plan
from apcu_dispatcher.responses import Answer, not_armed_warning, refused
from apcu_dispatcher.validation import CLEAR_APCU, FlushRequest, ValidationError
from apcu_dispatcher.watchdog import NotArmed

if TYPE_CHECKING:
    from mypy_boto3_ssm.type_defs import SendCommandRequestTypeDef

SOURCE = "aws.autoscaling"
DETAIL_TYPE = "EC2 Instance Launch Successful"
ORIGIN = "WarmPool"
DESTINATION = "AutoScalingGroup"
REQUESTER = "warm-pool"
# An EC2 instance id: "i-" and 8 or 17 hexadecimal digits.
INSTANCE_ID_PATTERN = r"^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$"

logger = Logger(service="apcu-dispatcher", child=True)


@dataclass(frozen=True)
class WarmPoolExit:
    group: str
    instance_id: str
    event_id: str | None


def is_eventbridge_event(event: object) -> bool:
    """An EventBridge event of any kind; only warm-pool exits are served, the rest refused."""
    return isinstance(event, dict) and "detail-type" in event and "source" in event


def parse_warm_pool_exit(event: dict[str, Any], allowed_groups: Collection[str]) -> WarmPoolExit:
    if event.get("source") != SOURCE:
        raise ValidationError("source", "warm-pool-event", f"source must be {SOURCE}")
    if event.get("detail-type") != DETAIL_TYPE:
        raise ValidationError(
            "detail-type", "warm-pool-event", f"detail-type must be {DETAIL_TYPE}"
        )
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise ValidationError("detail", "type", "detail must be an object")
    if detail.get("Origin") != ORIGIN or detail.get("Destination") != DESTINATION:
        raise ValidationError(
            "detail.Origin",
            "warm-pool-event",
            f"only an instance moving from {ORIGIN} to {DESTINATION} is cleared on its own",
        )
    group = detail.get("AutoScalingGroupName")
    if not isinstance(group, str) or group not in allowed_groups:
        raise ValidationError(
            "detail.AutoScalingGroupName",
            "allowed-groups",
            "the group is not one this function may target (ALLOWED_GROUPS)",
        )
    instance_id = detail.get("EC2InstanceId")
    if not isinstance(instance_id, str) or not re.fullmatch(INSTANCE_ID_PATTERN, instance_id):
        raise ValidationError(
            "detail.EC2InstanceId", "pattern", f"EC2InstanceId must match {INSTANCE_ID_PATTERN}"
        )
    event_id = event.get("id")
    return WarmPoolExit(group, instance_id, event_id if isinstance(event_id, str) else None)


def handle_warm_pool(
    event: dict[str, Any], config: Config, clients: Clients, remaining: Remaining = unlimited
) -> tuple[Answer, str]:
    """The answer and the outcome to count.

    Each instance is claimed (apcu_clear.claim) before its clear is sent, so a redelivered
    event, or Lambda's retry of this one, finds the claim and is refused instead of sending
    again. A malformed event or a claimed instance is refused and logged: trying again cannot
    change that. Throttling and an unknown SendCommand outcome raise instead, so that Lambda
    retries the event (asynchronous invocation); after an unknown outcome the claim stays, and
    the retry is refused by it.
    """
    taken: Taken | None = None
    try:
        leaving = parse_warm_pool_exit(event, config.allowed_groups)
        cleared_by = _cleared_under_the_hook(leaving, config, clients)
        if cleared_by is not None:
            logger.info(
                "warm-pool exit already cleared before it entered service; nothing sent",
                extra={"instance_id": leaving.instance_id, "cleared_by": cleared_by},
            )
            return already_cleared(leaving, cleared_by), "AlreadyCleared"
        key = claim.instance_key(leaving.instance_id)
        taken = claims.take_or_refuse(
            key, f"instance {leaving.instance_id}", config, clients.dynamodb
        )
        refuse_if_instance_busy(leaving.instance_id, config, clients.ssm)
    except Refusal as refusal:
        if taken is not None:
            claims.give_back(taken, config, clients.dynamodb)
        if refusal.status >= 500:
            raise
        logger.warning(
            "warm-pool event refused",
            extra={
                "status": refusal.status,
                "field": refusal.field,
                "rule": refusal.rule,
                "event_id": event.get("id"),
                "running_command": refusal.details.get("runningCommand"),
            },
        )
        return refused(refusal), "Rejected"
    try:
        command_id, missed = clear_instance(leaving, config, clients, taken, remaining)
    except SendOutcomeUnknown:
        raise
    except BaseException:
        # Nothing was sent: Lambda's retry of the event may claim the instance again.
        claims.give_back(taken, config, clients.dynamodb)
        raise
    logger.info(
        "clear sent",
        extra={
            "group": leaving.group,
            "instance_id": leaving.instance_id,
            "origin": REQUESTER,
            "event_id": leaving.event_id,
            "command_id": command_id,
        },
    )
    return accepted_for_instance(command_id, leaving, config.region, missed), "Accepted"


def _cleared_under_the_hook(leaving: WarmPoolExit, config: Config, clients: Clients) -> str | None:
    """The command that cleared the instance under the launch hook, before it went InService.
    A read that fails counts as "not cleared": clearing one instance twice is harmless."""
    try:
        return cleared_before_service(
            clients.dynamodb, config.watchdog.commands_table, leaving.instance_id
        )
    except Exception:
        logger.warning("could not read the lifecycle marker; clearing the instance", exc_info=True)
        return None


def already_cleared(leaving: WarmPoolExit, cleared_by: str) -> Answer:
    return Answer(
        200,
        {
            "group": leaving.group,
            "instanceId": leaving.instance_id,
            "clearedBy": cleared_by,
            "message": (
                f"{leaving.instance_id} was cleared by command {cleared_by} under the launch "
                "lifecycle hook, before it entered service; nothing was sent"
            ),
        },
    )


def clear_instance(
    leaving: WarmPoolExit,
    config: Config,
    clients: Clients,
    taken: Taken,
    remaining: Remaining = unlimited,
) -> tuple[str, NotArmed | None]:
    """Send the clear under the instance's claim, then arm its record and watchdog as a group
    clear's are: its verdict is recorded with origin "warm-pool", and the notifier posts it
    only when it is an alert."""
    request = warm_pool_request(leaving)
    params = build_instance_command(leaving, request, config)
    return send_and_arm(request, params, config, clients, taken, remaining)


def warm_pool_request(leaving: WarmPoolExit) -> FlushRequest:
    """The whole cache (no prefix): what the instance kept may be older than any clear."""
    return FlushRequest(
        group=leaving.group,
        action=CLEAR_APCU,
        prefix=None,
        comment=f"{leaving.instance_id} left the warm pool",
        dry_run=False,
        requester=REQUESTER,
        origin="warm-pool",
    )


def build_instance_command(
    leaving: WarmPoolExit, request: FlushRequest, config: Config
) -> SendCommandRequestTypeDef:
    """The group clear's SendCommand, with the one instance as its target instead of the tag.

    IAM still limits it: SendCommand is authorised on the instance's ARN only when the
    instance carries an allowed group's tag (template.yaml, DispatcherRole).
    """
    one_instance = Plan(
        group=leaving.group,
        desired_capacity=1,
        in_service=(leaving.instance_id,),
        pending=0,
        terminating=0,
        managed_online=0,
        warnings=(),
    )
    params = build_send_command(one_instance, request, config)
    del params["Targets"]
    params["InstanceIds"] = [leaving.instance_id]
    return params


def accepted_for_instance(
    command_id: str, leaving: WarmPoolExit, region: str, missed: NotArmed | None = None
) -> Answer:
    return Answer(
        202,
        {
            "commandId": command_id,
            "group": leaving.group,
            "instanceId": leaving.instance_id,
            "origin": "warm-pool",
            "action": CLEAR_APCU,
            "prefix": None,
            "warnings": [not_armed_warning(missed)] if missed else [],
            "consoleUrl": console_url(region, command_id),
        },
    )
