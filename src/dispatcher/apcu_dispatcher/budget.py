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

from botocore.config import Config as BotoConfig

from apcu_clear.timing import worst_call as worst_call  # part of the budget's interface
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
