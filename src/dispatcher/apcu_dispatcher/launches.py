"""A warm-pool instance resumes with its old APCu, so it gets a clear of its own: held by the launch
hook until it ends, or once InService (unless cleared under the hook); claimed per instance."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from apcu_clear import claim, command, lifecycle
from apcu_clear.observability import logger
from apcu_clear.record import LifecycleHold
from apcu_dispatcher import guard, sending
from apcu_dispatcher.runtime import Runtime
from apcu_dispatcher.validation import CLEAR_APCU, FlushRequest, ValidationError

SOURCE = "aws.autoscaling"
LAUNCH_SUCCESSFUL = "EC2 Instance Launch Successful"
LIFECYCLE_ACTION = "EC2 Instance-launch Lifecycle Action"
TRANSITION = "autoscaling:EC2_INSTANCE_LAUNCHING"
WARM_POOL = "WarmPool"
GROUP = "AutoScalingGroup"
REQUESTER = "warm-pool"
# The outcome of an event whose clear was sent; the others did what they had to at once.
ACCEPTED = "Accepted"
# An EC2 instance id: "i-" and 8 or 17 hexadecimal digits.
INSTANCE_ID_PATTERN = r"^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$"
# CompleteLifecycleAction's LifecycleActionToken: a UUID (Auto Scaling's model: 36 characters).
TOKEN_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"  # noqa: S105 (a pattern)


@dataclass(frozen=True)
class Launch:
    group: str
    instance_id: str
    origin: str
    destination: str
    hold: LifecycleHold | None


def is_launch_event(event: object) -> bool:
    return isinstance(event, dict) and "detail-type" in event and "source" in event


def handle_launch(event: dict[str, Any], rt: Runtime) -> tuple[dict[str, Any], str]:
    """The answer and the outcome to count (ACCEPTED when a clear was sent)."""
    launch = parse_launch(event, rt)
    instance_id = launch.instance_id
    answer: dict[str, Any] = {"group": launch.group, "instanceId": instance_id}
    if launch.hold is not None and (launch.origin, launch.destination) != (WARM_POOL, GROUP):
        reason = "it goes into the warm pool; it is cleared as it leaves it"
        if launch.origin != WARM_POOL:
            reason = "a new instance: php-fpm starts with an empty cache"
        lifecycle.complete(rt.autoscaling, launch.group, launch.hold, lifecycle.CONTINUE)
        logged = {"instance_id": instance_id, "reason": reason}
        logger.info("lifecycle action continued; nothing sent", extra=logged)
        continued = {"lifecycleAction": lifecycle.CONTINUE, **answer, "reason": reason}
        return continued, "LifecycleContinued"
    if launch.hold is None:
        cleared_by = lifecycle.cleared_by(rt.dynamodb, rt.table, instance_id, rt.now())
        if cleared_by is not None:
            message = f"{instance_id} was cleared by {cleared_by} under the launch lifecycle hook, before it entered service; nothing was sent"
            return {**answer, "clearedBy": cleared_by, "message": message}, "AlreadyCleared"
    what = f"instance {instance_id}"
    request = FlushRequest(
        launch.group,
        CLEAR_APCU,
        prefix=None,
        comment=f"{instance_id} left the warm pool",
        dry_run=False,
        requester=REQUESTER,
        origin="warm-pool",
        hold=launch.hold,
    )
    with guard.claimed(rt, claim.instance_key(instance_id), what) as taken:
        guard.refuse_if_running(rt, what, lambda c: list(c.get("InstanceIds", [])) == [instance_id])
        sent = sending.send(rt, sending.parameters(rt, request, instance_ids=[instance_id]))
    warnings = sending.begin(rt, request, sent, taken)
    extra = {"instance_id": instance_id, "command_id": sent.command_id, "held": bool(launch.hold)}
    logger.info("warm-pool clear sent", extra=extra)
    return {
        "commandId": sent.command_id,
        **answer,
        "origin": "warm-pool",
        "action": CLEAR_APCU,
        "prefix": None,
        "warnings": warnings,
        "consoleUrl": command.console_url(rt.region, sent.command_id),
        **({"lifecycleHook": launch.hold.hook_name} if launch.hold else {}),
    }, ACCEPTED


def parse_launch(event: dict[str, Any], rt: Runtime) -> Launch:
    kind = event.get("detail-type")
    if event.get("source") != SOURCE or kind not in (LAUNCH_SUCCESSFUL, LIFECYCLE_ACTION):
        why = f"only {SOURCE} events {LAUNCH_SUCCESSFUL!r} and {LIFECYCLE_ACTION!r} are served"
        raise ValidationError("detail-type", "warm-pool-event", why)
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise ValidationError("detail", "type", "detail must be an object")
    group = detail.get("AutoScalingGroupName")
    if not isinstance(group, str) or group not in rt.config.shared.allowed_groups:
        why = "the group is not one this function may target (ALLOWED_GROUPS)"
        raise ValidationError("detail.AutoScalingGroupName", "allowed-groups", why)
    instance_id = detail.get("EC2InstanceId")
    if not isinstance(instance_id, str) or not re.fullmatch(INSTANCE_ID_PATTERN, instance_id):
        why = f"EC2InstanceId must match {INSTANCE_ID_PATTERN}"
        raise ValidationError("detail.EC2InstanceId", "pattern", why)
    origin, destination = str(detail.get("Origin", "")), str(detail.get("Destination", ""))
    if kind == LAUNCH_SUCCESSFUL:
        if (origin, destination) != (WARM_POOL, GROUP):
            why = f"only an instance moving from {WARM_POOL} to {GROUP} is cleared on its own"
            raise ValidationError("detail.Origin", "warm-pool-event", why)
        return Launch(group, instance_id, origin, destination, None)
    hook = rt.config.warm_pool_hook_name
    if detail.get("LifecycleTransition") != TRANSITION:
        why = f"only {TRANSITION} is served"
        raise ValidationError("detail.LifecycleTransition", "launch-hook", why)
    if detail.get("LifecycleHookName") != hook:
        why = f"only the stack's hook {hook} is served (WARM_POOL_HOOK_NAME)"
        raise ValidationError("detail.LifecycleHookName", "hook-name", why)
    token = detail.get("LifecycleActionToken")
    if not isinstance(token, str) or not re.fullmatch(TOKEN_PATTERN, token):
        why = "LifecycleActionToken must be a UUID"
        raise ValidationError("detail.LifecycleActionToken", "pattern", why)
    return Launch(group, instance_id, origin, destination, LifecycleHold(hook, token, instance_id))
