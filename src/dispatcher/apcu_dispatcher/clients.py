"""The AWS clients, built once per container, and what counts as a request AWS never ran."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError

from apcu_dispatcher.budget import READ_CONFIG, RECORD_CONFIG, SEND_CONFIG

if TYPE_CHECKING:
    from mypy_boto3_autoscaling import AutoScalingClient
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_scheduler import EventBridgeSchedulerClient
    from mypy_boto3_ssm import SSMClient

# Error codes AWS uses for "rejected, try later" (botocore's standard retry mode knows them too).
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
    }
)


@dataclass(frozen=True)
class Clients:
    autoscaling: AutoScalingClient
    ssm: SSMClient
    # SendCommand has no idempotency token: after a 5xx or a read timeout the command may
    # already be running, and a retry would clear every cache (and notify) twice. Its client
    # makes exactly one attempt per call; dispatch.send_command decides what may be tried
    # again, on any botocore version the runtime brings.
    ssm_send: SSMClient
    # The command record and the watchdog schedule, written after SendCommand.
    dynamodb: DynamoDBClient
    scheduler: EventBridgeSchedulerClient
    # The stop alarm's state, read before a clear; None when the stack has no stop alarm.
    cloudwatch: CloudWatchClient | None = None


def build_clients(region: str, *, stop_alarm: bool = False) -> Clients:
    """The clients for one container. CloudWatch's only when there is a stop alarm to read:
    building a client costs the cold start its service model."""
    # Timeouts and attempts come from budget.py, where their worst case is checked against
    # the function's Timeout.
    return Clients(
        autoscaling=boto3.client("autoscaling", region_name=region, config=READ_CONFIG),
        ssm=boto3.client("ssm", region_name=region, config=READ_CONFIG),
        ssm_send=boto3.client("ssm", region_name=region, config=SEND_CONFIG),
        dynamodb=boto3.client("dynamodb", region_name=region, config=RECORD_CONFIG),
        scheduler=boto3.client("scheduler", region_name=region, config=RECORD_CONFIG),
        cloudwatch=(
            boto3.client("cloudwatch", region_name=region, config=READ_CONFIG)
            if stop_alarm
            else None
        ),
    )


def was_rejected(error: Exception) -> bool:
    """True when AWS cannot have run the request: it was throttled, or never connected."""
    if isinstance(error, ConnectTimeoutError | EndpointConnectionError):
        return True
    response = getattr(error, "response", None)
    status = (
        response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if isinstance(response, dict)
        else None
    )
    return is_throttling(error) or status == 429


def is_throttling(error: Exception) -> bool:
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return False
    return response.get("Error", {}).get("Code") in THROTTLING_CODES
