"""Launch lifecycle hooks (docs/facts.md, IAM and Auto Scaling), and the day's marker that tells an
instance's "Launch Successful" event it was cleared under the hook, so nothing is left to do."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

from apcu_clear.aws import error_code
from apcu_clear.record import LifecycleHold, read_item, update

if TYPE_CHECKING:
    from mypy_boto3_autoscaling import AutoScalingClient
    from mypy_boto3_dynamodb import DynamoDBClient

Result = Literal["CONTINUE", "ABANDON"]
CONTINUE: Result = "CONTINUE"
ABANDON: Result = "ABANDON"
MARKER_RETENTION = dt.timedelta(days=1)
_MARKER = "lifecycle#"


def complete(
    autoscaling: AutoScalingClient, group: str, hold: LifecycleHold, result: Result
) -> bool:
    """Complete the held action; False when it was no longer held."""
    complete_action = autoscaling.complete_lifecycle_action
    return _while_held(complete_action, group, hold, LifecycleActionResult=result)


def heartbeat(autoscaling: AutoScalingClient, group: str, hold: LifecycleHold) -> bool:
    """Keep the action held for another HeartbeatTimeout; False when it is no longer held."""
    return _while_held(autoscaling.record_lifecycle_action_heartbeat, group, hold)


def _while_held(
    call: Callable[..., object], group: str, hold: LifecycleHold, **params: Any
) -> bool:
    # Both calls answer ValidationError once the action is no longer held (completed, timed out).
    try:
        call(
            LifecycleHookName=hold.hook_name,
            AutoScalingGroupName=group,
            LifecycleActionToken=hold.token,
            InstanceId=hold.instance_id,
            **params,
        )
    except ClientError as error:
        if error_code(error) != "ValidationError":
            raise
        return False
    return True


def mark_cleared(
    db: DynamoDBClient, table: str, instance_id: str, clear_id: str, now: dt.datetime
) -> None:
    expires = int((now + MARKER_RETENTION).timestamp())
    update(db, table, _MARKER + instance_id, {"clearedBy": clear_id, "ttl": expires})


def cleared_by(db: DynamoDBClient, table: str, instance_id: str, now: dt.datetime) -> str | None:
    item = read_item(db, table, _MARKER + instance_id)
    # DynamoDB deletes expired items within days, not at once: the ttl is checked here too.
    return str(item["clearedBy"]) if item.get("ttl", 0) >= now.timestamp() else None
