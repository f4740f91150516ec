"""How both functions call AWS: one client configuration, and what an error means.

botocore's standard retry mode absorbs a short throttle inside one call; what outlasts it is
the caller's to decide. The dispatcher answers 503 (nothing was done); the clear's steps retry
with their own durable back-off. Whether a failed call may have done its work matters only for
SendCommand, which has no idempotency token (apcu_clear.command).
"""

from __future__ import annotations

from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

# SSM, Auto Scaling, DynamoDB, CloudWatch and Lambda answer in well under a second; a read that
# takes 5 s is a stall worth one more attempt, not a wait.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=2, read_timeout=5
)

# SendCommand has no idempotency token: botocore must not send it again after a 5xx or a lost
# answer, so its client makes one attempt, and apcu_clear.command decides what is tried again.
SEND_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=2, read_timeout=5
)

# The codes AWS uses for "rejected, try later" (botocore's standard retry mode knows them too).
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "ProvisionedThroughputExceededException",
    }
)


def error_code(error: BaseException) -> str:
    if not isinstance(error, ClientError):
        return ""
    return str(error.response.get("Error", {}).get("Code", ""))


def http_status(error: BaseException) -> int:
    if not isinstance(error, ClientError):
        return 0
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)


def is_throttling(error: BaseException) -> bool:
    return error_code(error) in THROTTLING_CODES or http_status(error) == 429


def never_arrived(error: BaseException) -> bool:
    """AWS cannot have run the request: it was throttled, or no connection was made."""
    return is_throttling(error) or isinstance(error, ConnectTimeoutError | EndpointConnectionError)


def may_have_run(error: BaseException) -> bool:
    """AWS may have run the request although the caller got no answer: a 5xx, or a request
    sent whole whose answer never came."""
    return (not is_throttling(error) and http_status(error) >= 500) or isinstance(
        error, ReadTimeoutError | ConnectionClosedError
    )


def is_transient(error: BaseException) -> bool:
    """Worth another attempt later: throttling, a 5xx, or a connection that failed."""
    return never_arrived(error) or may_have_run(error)
