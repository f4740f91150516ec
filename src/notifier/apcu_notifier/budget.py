"""Time budgets: each client's timeouts and attempts, and what must be left before each step.

Lambda stops the notifier at its Timeout (template.yaml: 120 s) and runs nothing after it. The
one thing that must never be cut off is the write that records a verdict Slack has taken: a
verdict posted but not recorded is posted again by the retry. So every AWS client has connect
and read timeouts and an attempt count whose worst case is known (`worst_call`), the post
starts only while POST_RESERVE is left (one Slack attempt, then RECORD_RESERVE), and
RECORD_RESERVE holds two worst-case record writes: a failed one and the retry that lands.
Each read before the post (each page of invocations) starts only while POST_RESERVE is left;
otherwise NoTimeLeft is raised, the claim given back, and Lambda's retry starts afresh.
"""

from __future__ import annotations

from collections.abc import Callable

from botocore.config import Config as BotoConfig

from apcu_clear.timing import worst_call as worst_call  # part of the budget's interface
from apcu_notifier.slack import RetryPolicy

# SSM, Auto Scaling, EC2, Secrets Manager and Scheduler answer in well under a second; a read
# that takes 3 s is a stall worth one of botocore's standard-mode retries.
AWS_CLIENT_CONFIG = BotoConfig(
    retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=1, read_timeout=3
)
# The commands table: single-item reads and conditional writes of a few milliseconds. Two
# attempts per call; the record write after a post is also retried by posting.record_posted.
DYNAMODB_CLIENT_CONFIG = BotoConfig(
    retries={"mode": "standard", "total_max_attempts": 2}, connect_timeout=1, read_timeout=2
)
# Seconds kept to log, emit the metrics and return once the last write is done.
MARGIN_SECONDS = 2.0


RECORD_RESERVE = 2 * worst_call(DYNAMODB_CLIENT_CONFIG)
# A webhook answers in well under a second; a read timeout means "probably delivered"
# (docs/design.md, "After the post"), so it is not retried.
SLACK_POLICY = RetryPolicy(
    connect_timeout=2.0, read_timeout=5.0, margin=RECORD_RESERVE + MARGIN_SECONDS
)
POST_RESERVE = SLACK_POLICY.connect_timeout + SLACK_POLICY.read_timeout + SLACK_POLICY.margin


class NoTimeLeft(RuntimeError):
    """Too little of the invocation is left to finish the next step and record what it did;
    nothing was posted, and Lambda's retry starts afresh."""


def require(remaining: Callable[[], float], seconds: float, before: str) -> None:
    left = remaining()
    if left < seconds:
        raise NoTimeLeft(
            f"no time left {before}: {left:.1f} s of the invocation left, {seconds:.1f} s "
            "needed to finish and record it; the event will be retried"
        )


def before_each_page(remaining: Callable[[], float]) -> Callable[[], None]:
    """The check run before each page of invocations is read."""
    return lambda: require(remaining, POST_RESERVE, "to read the next page of invocations")
