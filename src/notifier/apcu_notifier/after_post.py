"""The write that records a post, retried within the invocation: after Slack took a message,
it is what keeps the message from being posted again (docs/design.md, "After the post").

Its own module so that posting and app mode's message flow (app_flow) share it without
importing each other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from aws_lambda_powertools.metrics import MetricUnit

from apcu_notifier import budget
from apcu_notifier.observability import logger, metrics

if TYPE_CHECKING:
    from apcu_notifier.runtime import Runtime

T = TypeVar("T")
# Waits between the record writes after a post, beyond botocore's own retries of each call.
AFTER_POST_WAITS = (0.5, 1.0, 2.0, 4.0)
# Commands the stack sends on its own when an instance leaves a warm pool: only their alerts
# are worth a message; every verdict is still recorded.
QUIET_ORIGINS = frozenset({"warm-pool"})


class NotRecorded(RuntimeError):
    """Slack took the message, but the record of it could not be written in the time left;
    Lambda's retry will post it again."""


def after_post(write: Callable[[], T], rt: Runtime, remaining: Callable[[], float], what: str) -> T:
    """Run a write that records a post, retrying it while a worst-case attempt still fits."""
    attempt_seconds = budget.worst_call(budget.DYNAMODB_CLIENT_CONFIG)
    for wait in (*AFTER_POST_WAITS, None):
        try:
            return write()
        except Exception as error:
            code = str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))
            logger.warning(
                f"posted, but {what} could not be recorded; trying again",
                extra={"error_type": type(error).__name__, "error_code": code},
            )
            metrics.add_metric(name="RecordRetried", unit=MetricUnit.Count, value=1)
            if wait is None or remaining() - wait < attempt_seconds + budget.MARGIN_SECONDS:
                metrics.add_metric(name="PostNotRecorded", unit=MetricUnit.Count, value=1)
                raise NotRecorded(
                    f"posted to Slack, but {what} was not recorded "
                    f"({type(error).__name__} {code}); the retry will post it again"
                ) from error
            rt.sleep(wait)
    raise AssertionError("unreachable")
