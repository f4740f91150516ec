"""Time budgets: each client's timeouts and attempts, and what must be left before SendCommand.

Lambda stops the dispatcher at its Timeout (template.yaml: 30 s, which is also the HTTP API's
longest integration wait) and runs nothing after it. Once SendCommand may have run, the caller
must still get an answer that says so, and the command its record and watchdog. So every
client has connect and read timeouts and an attempt count whose worst case is known
(`worst_call`), and a SendCommand attempt starts only while SEND_RESERVE is left: the attempt
itself, the record write, the watchdog schedule, and a margin to answer. With less left,
nothing is sent and the caller is told to try again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.config import Config as BotoConfig
from botocore.retries.standard import ExponentialBackoff

from apcu_dispatcher.errors import Refusal

# Auto Scaling, EC2 and SSM reads answer in well under a second; a 3 s read is a stall worth
# one of botocore's standard-mode retries.
READ_CONFIG = BotoConfig(
    retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=1, read_timeout=3
)
# SendCommand has no idempotency token, so its client makes one attempt per call
# (dispatch.send_command decides what may be tried again). Its p99 is well under a second.
SEND_CONFIG = BotoConfig(
    retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=1, read_timeout=5
)
# The record (one UpdateItem) and the watchdog schedule (one CreateSchedule): tens of
# milliseconds each, two attempts.
RECORD_CONFIG = BotoConfig(
    retries={"mode": "standard", "total_max_attempts": 2}, connect_timeout=0.5, read_timeout=1.5
)
# Seconds kept to log, emit the metrics and answer once the schedule is written.
MARGIN_SECONDS = 1.0


def worst_call(config: BotoConfig) -> float:
    """The longest one call with this config can take: every attempt connects and reads to
    its timeout, and every wait between attempts is botocore's longest (standard mode:
    throttling base 1 s doubling, capped, plus up to 5 s more for an x-amz-retry-after)."""
    # botocore sets Config's options as attributes, which its stubs do not declare.
    options: Any = config
    retries = options.retries or {}
    attempts = int(retries.get("total_max_attempts", int(retries.get("max_attempts", 4)) + 1))
    per_attempt = float(options.connect_timeout) + float(options.read_timeout)
    # botocore's own constants, so that a botocore whose waits grow changes the figure.
    backoff: Any = ExponentialBackoff
    base = float(backoff._DEFAULT_BACKOFF_CONFIG["throttling_base_scale"])
    extra = float(getattr(backoff, "_RETRY_AFTER_MAX_ADDITIONAL", 0))
    waits = sum(
        min(base * backoff._BASE ** (n - 1), backoff._MAX_BACKOFF) + extra
        for n in range(1, attempts)
    )
    return float(attempts * per_attempt + waits)


# What one SendCommand attempt and everything after it may take.
SEND_RESERVE = worst_call(SEND_CONFIG) + 2 * worst_call(RECORD_CONFIG) + MARGIN_SECONDS

Remaining = Callable[[], float]


def unlimited() -> float:
    """The time left outside Lambda (tests, the local run without a context)."""
    return float("inf")


def require_send_reserve(remaining: Remaining) -> None:
    """Refuse, with nothing sent, when one more SendCommand attempt could not be recorded and
    answered before Lambda stops the function."""
    left = remaining()
    if left < SEND_RESERVE:
        raise Refusal(
            503,
            f"too little time left to send the command and record it ({left:.1f} s of "
            f"{SEND_RESERVE:.1f} s); nothing was sent, try again",
            rule="no-time-left",
        )
