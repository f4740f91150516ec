"""Launch lifecycle hooks: an instance leaving a warm pool waits in Pending:Wait until its
clear's verdict completes the action, so it enters service with a clean cache.

Auto Scaling holds the instance until CompleteLifecycleAction (CONTINUE or ABANDON) or the
hook's HeartbeatTimeout, after which it applies the hook's DefaultResult. The functions only
ever complete an action for a group of the stack's ALLOWED_GROUPS (IAM says so too).

Once an instance has cleared under the hook, its "EC2 Instance Launch Successful" event (which
follows when it is InService) has nothing left to do: a marker item says so for a day.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Literal

from apcu_clear.item import LifecycleHold

if TYPE_CHECKING:
    from mypy_boto3_autoscaling import AutoScalingClient
    from mypy_boto3_dynamodb import DynamoDBClient

CONTINUE: Literal["CONTINUE"] = "CONTINUE"
ABANDON: Literal["ABANDON"] = "ABANDON"
# The marker outlives any command's lifetime and the time an instance takes into service.
MARKER_RETENTION = dt.timedelta(days=1)
_MARKER_PREFIX = "lifecycle#"


def complete(
    autoscaling: AutoScalingClient,
    group: str,
    hold: LifecycleHold,
    result: Literal["CONTINUE", "ABANDON"],
) -> None:
    """Complete the held launch action. Auto Scaling answers ValidationError when the action
    is no longer held (its HeartbeatTimeout ran out, or it was completed already)."""
    autoscaling.complete_lifecycle_action(
        LifecycleHookName=hold.hook_name,
        AutoScalingGroupName=group,
        LifecycleActionToken=hold.token,
        LifecycleActionResult=result,
        InstanceId=hold.instance_id,
    )


def mark_cleared_before_service(
    dynamodb: DynamoDBClient,
    table: str,
    instance_id: str,
    command_id: str,
    now: dt.datetime | None = None,
) -> None:
    expires = (now or dt.datetime.now(dt.UTC)) + MARKER_RETENTION
    dynamodb.update_item(
        TableName=table,
        Key={"commandId": {"S": _MARKER_PREFIX + instance_id}},
        UpdateExpression="SET clearedBy = :command, #ttl = :ttl",
        ExpressionAttributeNames={"#ttl": "ttl"},
        ExpressionAttributeValues={
            ":command": {"S": command_id},
            ":ttl": {"N": str(int(expires.timestamp()))},
        },
    )


def cleared_before_service(dynamodb: DynamoDBClient, table: str, instance_id: str) -> str | None:
    """The command that cleared the instance under the hook, or None."""
    answer = dynamodb.get_item(
        TableName=table,
        Key={"commandId": {"S": _MARKER_PREFIX + instance_id}},
        ConsistentRead=True,
    )
    item = answer.get("Item", {})
    # DynamoDB deletes expired items within days, not at once: the ttl is checked here too.
    ttl = int(item.get("ttl", {}).get("N", "0"))
    if ttl < dt.datetime.now(dt.UTC).timestamp():
        return None
    value = item.get("clearedBy", {}).get("S")
    return value if isinstance(value, str) else None
