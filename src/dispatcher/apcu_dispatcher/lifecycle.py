"""A launch lifecycle hook: an instance leaving the warm pool is cleared before it serves.

Auto Scaling holds an instance that leaves the warm pool in Pending:Wait while a launch hook
is on the group, and announces it to EventBridge as "EC2 Instance-launch Lifecycle Action".
For the stack's hook (WARM_POOL_HOOK_NAME) on an allowed group, the dispatcher clears that one
instance; the notifier completes the action when the clear's verdict is reached. Any other
launch (Origin EC2: a new instance, whose php-fpm starts with an empty cache; or one going
into the pool, which is cleared as it leaves it) is completed with CONTINUE at once, and
nothing is sent. The event is checked field by field: anyone allowed lambda:InvokeFunction
can shape one.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from apcu_clear import claim
from apcu_clear.claim import Taken
from apcu_clear.item import LifecycleHold
from apcu_clear.lifecycle import CONTINUE, complete
from apcu_dispatcher import claims
from apcu_dispatcher.budget import Remaining, unlimited
from apcu_dispatcher.clients import Clients
from apcu_dispatcher.config import Config
from apcu_dispatcher.dispatch import SendOutcomeUnknown, send_and_arm
from apcu_dispatcher.errors import Refusal
from apcu_dispatcher.guard import refuse_if_instance_busy
from apcu_dispatcher.responses import Answer, refused
from apcu_dispatcher.validation import ValidationError
from apcu_dispatcher.warm_pool import (
    INSTANCE_ID_PATTERN,
    SOURCE,
    WarmPoolExit,
    accepted_for_instance,
    build_instance_command,
    warm_pool_request,
)

DETAIL_TYPE = "EC2 Instance-launch Lifecycle Action"
TRANSITION = "autoscaling:EC2_INSTANCE_LAUNCHING"
# CompleteLifecycleAction's LifecycleActionToken: 36 characters (Auto Scaling's model), a UUID.
ACTION_TOKEN_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"  # noqa: S105 (a pattern)
WARM_POOL = "WarmPool"
GROUP = "AutoScalingGroup"

logger = Logger(service="apcu-dispatcher", child=True)


@dataclass(frozen=True)
class LaunchAction:
    group: str
    instance_id: str
    hold: LifecycleHold
    origin: str
    destination: str
    event_id: str | None

    @property
    def leaves_warm_pool(self) -> bool:
        return self.origin == WARM_POOL and self.destination == GROUP


def is_lifecycle_event(event: object) -> bool:
    return (
        isinstance(event, dict)
        and event.get("source") == SOURCE
        and event.get("detail-type") == DETAIL_TYPE
    )


def parse_launch_action(
    event: dict[str, Any], allowed_groups: Collection[str], hook_name: str
) -> LaunchAction:
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise ValidationError("detail", "type", "detail must be an object")
    if detail.get("LifecycleTransition") != TRANSITION:
        raise ValidationError(
            "detail.LifecycleTransition", "launch-hook", f"only {TRANSITION} is served"
        )
    if detail.get("LifecycleHookName") != hook_name:
        raise ValidationError(
            "detail.LifecycleHookName",
            "hook-name",
            f"only the stack's hook {hook_name} is served (WARM_POOL_HOOK_NAME)",
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
    token = detail.get("LifecycleActionToken")
    if not isinstance(token, str) or not re.fullmatch(ACTION_TOKEN_PATTERN, token):
        raise ValidationError(
            "detail.LifecycleActionToken", "pattern", "LifecycleActionToken must be a UUID"
        )
    event_id = event.get("id")
    return LaunchAction(
        group=group,
        instance_id=instance_id,
        hold=LifecycleHold(hook_name=hook_name, token=token, instance_id=instance_id),
        origin=str(detail.get("Origin", "")),
        destination=str(detail.get("Destination", "")),
        event_id=event_id if isinstance(event_id, str) else None,
    )


def handle_lifecycle(
    event: dict[str, Any], config: Config, clients: Clients, remaining: Remaining = unlimited
) -> tuple[Answer, str]:
    """The answer and the outcome to count. As for warm-pool exits, throttling and an unknown
    SendCommand outcome raise, so that Lambda retries the event; the instance waits meanwhile,
    and the hook's DefaultResult applies if no retry gets through."""
    taken: Taken | None = None
    try:
        action = parse_launch_action(event, config.allowed_groups, config.warm_pool_hook_name)
        if not action.leaves_warm_pool:
            return continue_at_once(action, clients), "LifecycleContinued"
        # Claimed per instance, as a warm-pool exit is: a redelivered event, or Lambda's retry
        # of this one, is refused instead of sending again.
        taken = claims.take_or_refuse(
            claim.instance_key(action.instance_id),
            f"instance {action.instance_id}",
            config,
            clients.dynamodb,
        )
        refuse_if_instance_busy(action.instance_id, config, clients.ssm)
    except Refusal as refusal:
        if taken is not None:
            claims.give_back(taken, config, clients.dynamodb)
        if refusal.status >= 500:
            raise
        logger.warning(
            "lifecycle event refused",
            extra={
                "status": refusal.status,
                "field": refusal.field,
                "rule": refusal.rule,
                "event_id": event.get("id"),
                "running_command": refusal.details.get("runningCommand"),
            },
        )
        return refused(refusal), "Rejected"
    leaving = WarmPoolExit(action.group, action.instance_id, action.event_id)
    request = replace(warm_pool_request(leaving), hold=action.hold)
    params = build_instance_command(leaving, request, config)
    try:
        command_id, missed = send_and_arm(request, params, config, clients, taken, remaining)
    except SendOutcomeUnknown:
        raise
    except BaseException:
        # Nothing was sent: Lambda's retry of the event may claim the instance again.
        claims.give_back(taken, config, clients.dynamodb)
        raise
    logger.info(
        "clear sent; the instance waits in Pending:Wait for its verdict",
        extra={
            "group": action.group,
            "instance_id": action.instance_id,
            "hook": action.hold.hook_name,
            "event_id": action.event_id,
            "command_id": command_id,
        },
    )
    answer = accepted_for_instance(command_id, leaving, config.region, missed)
    answer.body["lifecycleHook"] = action.hold.hook_name
    return answer, "Accepted"


def continue_at_once(action: LaunchAction, clients: Clients) -> Answer:
    """A launch with nothing stale to clear: let the instance go on at once."""
    reason = (
        "a new instance: php-fpm starts with an empty cache"
        if action.origin != WARM_POOL
        else "it goes into the warm pool; it is cleared as it leaves it"
    )
    try:
        complete(clients.autoscaling, action.group, action.hold, CONTINUE)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ValidationError":
            raise
        # No longer held: completed already (a redelivered event), or timed out.
        logger.info(
            "lifecycle action no longer held; nothing to complete",
            extra={"instance_id": action.instance_id, "event_id": action.event_id},
        )
    logger.info(
        "lifecycle action continued; nothing sent",
        extra={"instance_id": action.instance_id, "origin": action.origin, "reason": reason},
    )
    return Answer(
        200,
        {
            "lifecycleAction": CONTINUE,
            "group": action.group,
            "instanceId": action.instance_id,
            "reason": reason,
        },
    )
