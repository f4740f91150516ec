"""An instance leaving a warm pool gets a clear of its own: the same document, to that one
instance, before it serves (launch lifecycle hook) or as soon as it does (Launch Successful).

A warm-pool instance kept Hibernated resumes with php-fpm's memory, and so with APCu as it was
when it entered the pool, possibly older than the last clear of its group. Auto Scaling says so
to EventBridge in two ways, and the stack's rules send only these, for the allowed groups:

- "EC2 Instance-launch Lifecycle Action" for the stack's hook: the instance waits in
  Pending:Wait, and its clear completes the action when it ends (CONTINUE, or ABANDON for a
  clear that failed when WarmPoolUncleared says so). A launch with nothing stale (Origin EC2: a
  new instance starts with an empty cache) is completed with CONTINUE at once, nothing sent.
- "EC2 Instance Launch Successful" with Origin WarmPool: the instance is InService; cleared at
  once, unless it was cleared under the hook already (a marker says so for a day).

Each instance is claimed before its clear is sent, so a redelivered event, or Lambda's retry of
this one, is refused instead of sending again. Events are checked field by field: anyone allowed
lambda:InvokeFunction can shape one, and the instance id ends up in SendCommand.
"""

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
    event_id: str | None

    @property
    def leaves_warm_pool(self) -> bool:
        return self.origin == WARM_POOL and self.destination == GROUP


def is_launch_event(event: object) -> bool:
    return isinstance(event, dict) and "detail-type" in event and "source" in event


def handle_launch(event: dict[str, Any], rt: Runtime) -> tuple[dict[str, Any], str]:
    """The answer and the outcome to count (ACCEPTED when a clear was sent). A malformed event or a claimed instance
    is refused (retrying cannot change that); throttling raises, so that Lambda retries it."""
    launch = parse_launch(event, rt)
    if launch.hold is not None and not launch.leaves_warm_pool:
        reason = (
            "a new instance: php-fpm starts with an empty cache"
            if launch.origin != WARM_POOL
            else "it goes into the warm pool; it is cleared as it leaves it"
        )
        lifecycle.complete(rt.autoscaling, launch.group, launch.hold, lifecycle.CONTINUE)
        logger.info(
            "lifecycle action continued; nothing sent",
            extra={"instance_id": launch.instance_id, "reason": reason},
        )
        continued = {
            "lifecycleAction": lifecycle.CONTINUE,
            "group": launch.group,
            "instanceId": launch.instance_id,
            "reason": reason,
        }
        return continued, "LifecycleContinued"
    if launch.hold is None:
        cleared_by = lifecycle.cleared_by(rt.dynamodb, rt.table, launch.instance_id, rt.now())
        if cleared_by is not None:
            message = (
                f"{launch.instance_id} was cleared by {cleared_by} under the launch lifecycle hook, "
                "before it entered service; nothing was sent"
            )
            cleared = {
                "group": launch.group,
                "instanceId": launch.instance_id,
                "clearedBy": cleared_by,
                "message": message,
            }
            return cleared, "AlreadyCleared"
    key = claim.instance_key(launch.instance_id)
    what = f"instance {launch.instance_id}"
    taken = sending.take(rt, key, what)
    request = FlushRequest(
        group=launch.group,
        action=CLEAR_APCU,
        prefix=None,
        comment=f"{launch.instance_id} left the warm pool",
        dry_run=False,
        requester=REQUESTER,
        origin="warm-pool",
        hold=launch.hold,
    )
    with sending.giving_back(rt, taken):
        guard.refuse_if_running(
            rt, what, lambda c: list(c.get("InstanceIds", [])) == [launch.instance_id]
        )
        params = command.build(
            rt.config.shared.commands,
            action=CLEAR_APCU,
            prefix="",
            comment=command.command_comment(REQUESTER, request.comment or ""),
            instance_ids=[launch.instance_id],
            notify=rt.config.notify,
        )
        sent = sending.send(rt, params)
    warnings = sending.begin(rt, request, sent, taken)
    logger.info(
        "warm-pool clear sent",
        extra={
            "instance_id": launch.instance_id,
            "command_id": sent.command_id,
            "held": launch.hold is not None,
        },
    )
    body: dict[str, Any] = {
        "commandId": sent.command_id,
        "group": launch.group,
        "instanceId": launch.instance_id,
        "origin": "warm-pool",
        "action": CLEAR_APCU,
        "prefix": None,
        "warnings": warnings,
        "consoleUrl": command.console_url(rt.region, sent.command_id),
        **({"lifecycleHook": launch.hold.hook_name} if launch.hold else {}),
    }
    return body, ACCEPTED


def parse_launch(event: dict[str, Any], rt: Runtime) -> Launch:
    kind = event.get("detail-type")
    if event.get("source") != SOURCE or kind not in (LAUNCH_SUCCESSFUL, LIFECYCLE_ACTION):
        raise ValidationError(
            "detail-type",
            "warm-pool-event",
            f"only {SOURCE} events {LAUNCH_SUCCESSFUL!r} and {LIFECYCLE_ACTION!r} are served",
        )
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise ValidationError("detail", "type", "detail must be an object")
    group = detail.get("AutoScalingGroupName")
    if not isinstance(group, str) or group not in rt.config.shared.allowed_groups:
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
    origin, destination = str(detail.get("Origin", "")), str(detail.get("Destination", ""))
    event_id = event.get("id") if isinstance(event.get("id"), str) else None
    if kind == LAUNCH_SUCCESSFUL:
        if origin != WARM_POOL or destination != GROUP:
            raise ValidationError(
                "detail.Origin",
                "warm-pool-event",
                f"only an instance moving from {WARM_POOL} to {GROUP} is cleared on its own",
            )
        return Launch(group, instance_id, origin, destination, None, event_id)
    hook = rt.config.warm_pool_hook_name
    if detail.get("LifecycleTransition") != TRANSITION:
        raise ValidationError(
            "detail.LifecycleTransition", "launch-hook", f"only {TRANSITION} is served"
        )
    if detail.get("LifecycleHookName") != hook:
        raise ValidationError(
            "detail.LifecycleHookName",
            "hook-name",
            f"only the stack's hook {hook} is served (WARM_POOL_HOOK_NAME)",
        )
    token = detail.get("LifecycleActionToken")
    if not isinstance(token, str) or not re.fullmatch(TOKEN_PATTERN, token):
        raise ValidationError(
            "detail.LifecycleActionToken", "pattern", "LifecycleActionToken must be a UUID"
        )
    return Launch(
        group, instance_id, origin, destination, LifecycleHold(hook, token, instance_id), event_id
    )
