"""Launch lifecycle hooks: an instance leaving a warm pool waits in Pending:Wait until its clear
ends, so that it enters service with a clean cache.

Auto Scaling holds the instance until CompleteLifecycleAction (CONTINUE or ABANDON) or the
hook's HeartbeatTimeout, after which it applies the hook's DefaultResult; a heartbeat
(RecordLifecycleActionHeartbeat) restarts that timeout. Both answer ValidationError once the
action is no longer held (completed, or timed out). The functions only ever act on a group of
the stack's ALLOWED_GROUPS (IAM says so too).

Once an instance has cleared under the hook, its "EC2 Instance Launch Successful" event (which
follows when it is InService) has nothing left to do: a marker item says so for a day.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Literal

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from apcu_clear.aws import error_code
from apcu_clear.record import KEY, LifecycleHold

if TYPE_CHECKING:
    from mypy_boto3_autoscaling import AutoScalingClient
    from mypy_boto3_dynamodb import DynamoDBClient

Result = Literal["CONTINUE", "ABANDON"]
CONTINUE: Result = "CONTINUE"
ABANDON: Result = "ABANDON"
MARKER_RETENTION = dt.timedelta(days=1)
_MARKER = "lifecycle#"
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def complete(
    autoscaling: AutoScalingClient, group: str, hold: LifecycleHold, result: Result
) -> bool:
    """Complete the held action; False when it was no longer held."""
    try:
        autoscaling.complete_lifecycle_action(
            LifecycleHookName=hold.hook_name,
            AutoScalingGroupName=group,
            LifecycleActionToken=hold.token,
            LifecycleActionResult=result,
            InstanceId=hold.instance_id,
        )
    except ClientError as error:
        if error_code(error) != "ValidationError":
            raise
        return False
    return True


def heartbeat(autoscaling: AutoScalingClient, group: str, hold: LifecycleHold) -> bool:
    """Keep the action held for another HeartbeatTimeout; False when it is no longer held."""
    try:
        autoscaling.record_lifecycle_action_heartbeat(
            LifecycleHookName=hold.hook_name,
            AutoScalingGroupName=group,
            LifecycleActionToken=hold.token,
            InstanceId=hold.instance_id,
        )
    except ClientError as error:
        if error_code(error) != "ValidationError":
            raise
        return False
    return True


def mark_cleared(
    db: DynamoDBClient, table: str, instance_id: str, clear_id: str, now: dt.datetime
) -> None:
    db.update_item(
        TableName=table,
        Key=_marker(instance_id),
        UpdateExpression="SET clearedBy = :clear, #ttl = :ttl",
        ExpressionAttributeNames={"#ttl": "ttl"},
        ExpressionAttributeValues={
            ":clear": _serializer.serialize(clear_id),
            ":ttl": _serializer.serialize(int((now + MARKER_RETENTION).timestamp())),
        },
    )


def cleared_by(db: DynamoDBClient, table: str, instance_id: str, now: dt.datetime) -> str | None:
    """The clear that cleared the instance under the hook in the last day, or None."""
    found = db.get_item(TableName=table, Key=_marker(instance_id), ConsistentRead=True)
    item = {k: _deserializer.deserialize(v) for k, v in found.get("Item", {}).items()}
    # DynamoDB deletes expired items within days, not at once: the ttl is checked here too.
    if int(item.get("ttl", 0)) < now.timestamp():
        return None
    value = item.get("clearedBy")
    return value if isinstance(value, str) else None


def _marker(instance_id: str) -> Any:
    return {KEY: _serializer.serialize(_MARKER + instance_id)}
