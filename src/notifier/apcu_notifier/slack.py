"""Post a payload to a Slack incoming webhook, with bounded retries.

429 waits for Retry-After, 5xx, connect timeouts and connection errors back off with jitter,
and a permanent 4xx raises at once (api.slack.com, incoming webhooks: errors; rate limits).
Every attempt and wait is bounded by the time the Lambda has left, less the policy's margin
(the caller's time to record the post). A post that finally fails raises, so Lambda retries
the event and its failure destination keeps it.

A read timeout is not retried: the request was sent whole and Slack did not answer in time,
so the message was probably delivered, and a retry would probably post it twice. The post is
returned unconfirmed (docs/design.md, "After the post").

requests' exceptions carry the URL, and the URL is the secret: they are never logged,
re-raised or chained; only their type name is kept.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import requests

# urllib3 logs the request line (the webhook's path) at DEBUG.
logging.getLogger("urllib3").setLevel(logging.WARNING)

_ERROR_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 8.0
    # Seconds kept back from the Lambda's remaining time to log and raise cleanly.
    margin: float = 2.0
    connect_timeout: float = 3.05
    read_timeout: float = 10.0
    # Slack sends Retry-After in seconds; a missing one means "about a second" (rate limits).
    default_retry_after: float = 1.0


@dataclass(frozen=True)
class Delivery:
    attempts: int
    # False when the last attempt timed out reading Slack's answer: probably delivered.
    confirmed: bool = True


class SlackError(RuntimeError):
    """The message did not reach Slack."""


class SlackRejected(SlackError):
    """Slack refused the message for good (bad payload, webhook revoked, channel gone)."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(f"Slack rejected the message: HTTP {status} {code}")
        self.status = status
        self.code = code


class MessageBusy(RuntimeError):
    """App mode: another invocation is still posting the clear's message (apcu_notifier.
    app_flow); the verdict is judged again shortly. Defined here, with the errors both modes
    import, so that catching it loads no slack_sdk."""


class SlackUnavailable(SlackError):
    """Slack did not accept the message within the attempts and time allowed."""


def post(
    payload: dict[str, Any],
    *,
    url: str,
    session: requests.Session,
    remaining: Callable[[], float],
    policy: RetryPolicy = RetryPolicy(),
    sleep: Callable[[float], None] = time.sleep,
    jitter: Callable[[], float] = random.random,
) -> Delivery:
    """Post once successfully (or, after a read timeout, probably); how many attempts it took."""
    # Imported on the first post: app mode (apcu_notifier.slack_web) never loads requests.
    import requests

    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    last = "no attempt"
    for attempt in range(1, policy.max_attempts + 1):
        left = remaining() - policy.margin
        if left <= 0:
            raise SlackUnavailable(f"no time left to post to Slack (last: {last})")
        failure = ""
        response: requests.Response | None = None
        # Connect and read together end within what is left.
        connect = min(policy.connect_timeout, left / 2)
        try:
            response = session.post(
                url,
                data=body,
                headers={"Content-Type": "application/json; charset=utf-8"},
                timeout=(connect, min(policy.read_timeout, left - connect)),
                # A webhook never redirects; following one would send the payload elsewhere.
                allow_redirects=False,
            )
        except requests.ReadTimeout:
            return Delivery(attempt, confirmed=False)
        except requests.RequestException as error:
            failure = type(error).__name__
        if response is not None:
            status = response.status_code
            if 200 <= status < 300:
                return Delivery(attempt)
            if status == 429:
                wait = _retry_after(response, policy.default_retry_after)
                failure = f"HTTP 429 rate_limited, Retry-After {wait:g} s"
                if wait > remaining() - policy.margin:
                    raise SlackUnavailable(
                        f"Slack asked to wait {wait:g} s, more than this invocation has left"
                    )
            elif status >= 500 or status == 408:
                failure = f"HTTP {status} {_error_code(response)}"
                wait = _backoff(attempt, policy, jitter)
            else:
                raise SlackRejected(status, _error_code(response))
        else:
            wait = _backoff(attempt, policy, jitter)
        last = failure
        if attempt == policy.max_attempts:
            break
        if wait > remaining() - policy.margin:
            raise SlackUnavailable(f"no time left to retry the Slack post (last: {last})")
        sleep(wait)
    raise SlackUnavailable(
        f"Slack did not accept the message after {policy.max_attempts} attempts (last: {last})"
    )


def _backoff(attempt: int, policy: RetryPolicy, jitter: Callable[[], float]) -> float:
    # Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter").
    return jitter() * min(policy.max_delay, policy.base_delay * 2.0 ** (attempt - 1))


def _retry_after(response: requests.Response, default: float) -> float:
    try:
        header = str(response.headers.get("Retry-After", ""))
        return max(0.0, float(header))
    except ValueError:
        return default


def _error_code(response: requests.Response) -> str:
    """Slack's error code from the body (e.g. invalid_payload), reduced to a safe token."""
    match = _ERROR_CODE.match(response.text[:200].strip())
    return match.group(0) if match else "(no error code)"
