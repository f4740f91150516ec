"""What an AWS error means to the caller. botocore's standard retry mode absorbs a short throttle;
what outlasts it the dispatcher answers with 503 and the clear's steps retry with their back-off."""

from __future__ import annotations

from botocore import exceptions
from botocore.exceptions import ClientError

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
_UNCONNECTED = (exceptions.ConnectTimeoutError, exceptions.EndpointConnectionError)
_UNANSWERED = (exceptions.ReadTimeoutError, exceptions.ConnectionClosedError)


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
    return is_throttling(error) or isinstance(error, _UNCONNECTED)


def may_have_run(error: BaseException) -> bool:
    """AWS may have run the request unanswered: a 5xx, or a whole request whose answer was lost."""
    failed_on_aws = not is_throttling(error) and http_status(error) >= 500
    return failed_on_aws or isinstance(error, _UNANSWERED)


def is_transient(error: BaseException) -> bool:
    """Worth another attempt later: throttling, a 5xx, or a connection that failed."""
    return never_arrived(error) or may_have_run(error)
