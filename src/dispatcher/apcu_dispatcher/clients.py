"""The AWS clients, built once per container, and the one retry rule botocore lacks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError

if TYPE_CHECKING:
    from mypy_boto3_autoscaling import AutoScalingClient
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


def build_clients(region: str) -> Clients:
    config = BotoConfig(retries={"mode": "standard"})
    ssm = boto3.client("ssm", region_name=region, config=config)
    # botocore-stubs type event handlers as returning None; needs-retry handlers return a verdict.
    ssm.meta.events.register("needs-retry.ssm.SendCommand", retry_send_only_if_rejected)  # type: ignore[arg-type]
    return Clients(
        autoscaling=boto3.client("autoscaling", region_name=region, config=config),
        ssm=ssm,
    )


def retry_send_only_if_rejected(
    response: tuple[Any, dict[str, Any]] | None = None,
    caught_exception: Exception | None = None,
    **_: Any,
) -> bool | None:
    """Let botocore retry SendCommand only when AWS cannot have run the first attempt.

    SendCommand has no idempotency token: after a 5xx or a read timeout the command may
    already be running, and a retry would clear (and notify) twice. A throttled request or
    one that never connected was not run. Returning False vetoes the retry; botocore calls
    this handler before its generic `needs-retry.ssm` one, whose delay applies otherwise.
    """
    if caught_exception is not None:
        never_sent = isinstance(caught_exception, ConnectTimeoutError | EndpointConnectionError)
        return None if never_sent else False
    if response is None:
        return False
    http, parsed = response
    code = parsed.get("Error", {}).get("Code")
    if code in THROTTLING_CODES or getattr(http, "status_code", None) == 429:
        return None
    return False


def is_throttling(error: Exception) -> bool:
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return False
    return response.get("Error", {}).get("Code") in THROTTLING_CODES
