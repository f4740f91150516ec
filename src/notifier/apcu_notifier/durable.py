"""How the clear's steps run: each with a name the execution's history shows, a compact result
(apcu_notifier.codec) and an explicit retry strategy, since the SDK's default retries every
error six times.

- AWS steps retry what can pass later (throttling, a 5xx, a lost connection, a SendCommand
  whose outcome is still being looked for), backing off from 2 s to a minute, six attempts;
  anything else fails the step at once.
- Slack steps retry what Slack did not take (429 after its Retry-After, 5xx, no connection),
  five attempts. A post sent whole and unanswered was probably taken and is not sent again.
- `once` runs a step at most once per attempt: an invocation that dies in the middle of it does
  not run it again on replay, and the step fails with StepInterruptedError instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from aws_durable_execution_sdk_python import DurableContext
from aws_durable_execution_sdk_python.config import Duration, StepConfig, StepSemantics
from aws_durable_execution_sdk_python.retries import RetryDecision

from apcu_clear.aws import is_transient
from apcu_clear.command import OutcomeUnknown
from apcu_notifier.codec import Codec
from apcu_notifier.slack import SlackUnavailable

T = TypeVar("T")
AWS_ATTEMPTS = 6
SLACK_ATTEMPTS = 5
MAX_DELAY_SECONDS = 60


def aws_retry(error: Exception, attempt: int) -> RetryDecision:
    passing = (
        is_transient(error)
        or isinstance(error, OutcomeUnknown)
        or getattr(error, "transient", False)
    )
    if attempt < AWS_ATTEMPTS and passing:
        return RetryDecision.retry(Duration.from_seconds(min(2**attempt, MAX_DELAY_SECONDS)))
    return RetryDecision.no_retry()


def slack_retry(error: Exception, attempt: int) -> RetryDecision:
    if attempt < SLACK_ATTEMPTS and isinstance(error, SlackUnavailable):
        wait = max(error.retry_after, 2**attempt)
        return RetryDecision.retry(Duration.from_seconds(min(int(wait + 0.999), MAX_DELAY_SECONDS)))
    return RetryDecision.no_retry()


def step(
    ctx: DurableContext,
    name: str,
    body: Callable[[], T],
    result: Any,
    *,
    retry: Callable[[Exception, int], RetryDecision] = aws_retry,
    once: bool = False,
) -> T:
    """Run `body` as the step `name`; `result` is the type it returns (for the replay)."""
    config = StepConfig(
        retry_strategy=retry,
        step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY
        if once
        else StepSemantics.AT_LEAST_ONCE_PER_RETRY,
        serdes=Codec(result),
    )
    value: T = ctx.step(lambda _: body(), name=name, config=config)
    return value
