"""Slack app mode's calls to the Web API (chat.postMessage, chat.update) through slack_sdk's
WebClient, with bounded waits and errors that say what to fix.

Imported only in app mode (apcu_notifier.runtime builds it lazily): webhook mode's cold start
never loads slack_sdk.

- HTTP 429: wait Retry-After, if that wait and one more call fit in the time left, else raise.
  slack_sdk's RateLimitErrorRetryHandler would sleep Retry-After plus up to a second whatever
  the time left, so the wait is done here, where the invocation's time is known.
- 5xx and connection errors: back off with jitter, as the webhook does (apcu_notifier.slack).
- invalid_auth, channel_not_found, not_in_channel and the like: raise SlackAppRejected at once,
  with what to do; Lambda retries the event and its failure destination keeps it.

The bot token is passed per call, from the cached app secret, and never logged or raised:
slack_sdk's SlackApiError carries the response, not the request, and only its error code is
kept here.
"""

from __future__ import annotations

import logging
import random
import time
import urllib.error
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from apcu_notifier.slack import RetryPolicy, SlackError, SlackUnavailable

# slack_sdk logs each request at DEBUG (the Authorization header redacted, the body not).
logging.getLogger("slack_sdk").setLevel(logging.WARNING)

# What to do about each refusal that a retry cannot cure. {channel} and {secret} are filled in.
_REINSTALL = (
    "Slack refused the bot token ({code}): reinstall the app to the workspace and put its "
    "bot token (xoxb-…) in the app secret {secret} (docs/deploy.md, Slack app)"
)
FIXES = {
    "invalid_auth": _REINSTALL,
    "not_authed": _REINSTALL,
    "account_inactive": _REINSTALL,
    "token_revoked": _REINSTALL,
    "token_expired": _REINSTALL,
    "missing_scope": (
        "the app lacks the chat:write scope ({code}): add it under OAuth & Permissions, "
        "reinstall the app and put the new bot token in the app secret {secret}"
    ),
    "channel_not_found": (
        "Slack knows no channel {channel} that the bot can see ({code}): fix the channel id "
        "in the app secret {secret} (the channel's id, C…, from its details, not its name); "
        "a private channel needs the bot invited first"
    ),
    "not_in_channel": (
        "the bot is not a member of channel {channel} ({code}): invite it there "
        "(/invite @the-app in the channel)"
    ),
    "is_archived": (
        "channel {channel} is archived ({code}): unarchive it, or put another channel's id in "
        "the app secret {secret}"
    ),
    "message_not_found": (
        "the clear's message in channel {channel} is gone ({code}): it was deleted, or the "
        "channel in the app secret {secret} changed since it was posted"
    ),
    "cant_update_message": (
        "the clear's message in channel {channel} was not posted by this app's bot ({code})"
    ),
}


class SlackAppRejected(SlackError):
    """Slack refused the call for good; the message says what to fix."""

    def __init__(self, method: str, code: str, fix: str) -> None:
        super().__init__(f"Slack refused {method}: {fix}")
        self.method = method
        self.code = code


class SlackUnconfirmed(SlackUnavailable):
    """A chat.postMessage sent whole and not answered in time: probably posted."""


@dataclass(frozen=True)
class Posted:
    channel: str
    ts: str
    attempts: int


@dataclass
class SlackWeb:
    """One WebClient per container; the token and the channel come with each call."""

    client: WebClient
    secret_arn: str
    jitter: Callable[[], float] = random.random

    def post(
        self,
        *,
        token: str,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]],
        remaining: Callable[[], float],
        policy: RetryPolicy,
        thread_ts: str | None = None,
        reply_broadcast: bool = False,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Posted:
        params: dict[str, Any] = {"channel": channel, "text": text, "blocks": blocks}
        if thread_ts is not None:
            params["thread_ts"] = thread_ts
            if reply_broadcast:
                params["reply_broadcast"] = True
        answer, attempts = self._call("chat.postMessage", token, params, remaining, policy, sleep)
        return Posted(str(answer.get("channel") or channel), str(answer["ts"]), attempts)

    def update(
        self,
        *,
        token: str,
        channel: str,
        ts: str,
        text: str,
        blocks: list[dict[str, Any]],
        remaining: Callable[[], float],
        policy: RetryPolicy,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Posted:
        params = {"channel": channel, "ts": ts, "text": text, "blocks": blocks}
        _, attempts = self._call("chat.update", token, params, remaining, policy, sleep)
        return Posted(channel, ts, attempts)

    def _call(
        self,
        method: str,
        token: str,
        params: dict[str, Any],
        remaining: Callable[[], float],
        policy: RetryPolicy,
        sleep: Callable[[float], None],
    ) -> tuple[dict[str, Any], int]:
        last = "no attempt"
        # The client's timeout is fixed, so an attempt is begun only while a whole one fits:
        # one that ran into the margin would leave no time to record what it posted.
        whole = policy.connect_timeout + policy.read_timeout
        for attempt in range(1, policy.max_attempts + 1):
            if remaining() - policy.margin < whole:
                raise SlackUnavailable(f"no time left to call Slack's {method} (last: {last})")
            # Raised after the except blocks, never inside them: slack_sdk's error keeps the
            # request, Authorization header and all, and one raised inside would keep it as
            # its __context__.
            failure: SlackError | None = None
            try:
                # The token in the call's arguments goes to the Authorization header only.
                answer = self.client.api_call(method, json={**params, "token": token})
            except SlackApiError as error:
                status = int(error.response.status_code)
                code = _code(error.response.get("error"))
                if status == 429:
                    wait = _retry_after(error.response.headers, policy.default_retry_after)
                    last = f"HTTP 429 {code}, Retry-After {wait:g} s"
                    if wait + whole > remaining() - policy.margin:
                        failure = SlackUnavailable(
                            f"Slack asked to wait {wait:g} s before {method}, more than this "
                            "invocation has left; the event will be retried"
                        )
                elif status >= 500:
                    last = f"HTTP {status} {code}"
                    wait = _backoff(attempt, policy, self.jitter)
                else:
                    fix = FIXES.get(code, "HTTP {status} {code}").format(
                        code=code,
                        status=status,
                        channel=params.get("channel", ""),
                        secret=self.secret_arn,
                    )
                    failure = SlackAppRejected(method, code, fix)
            except (SlackClientError, urllib.error.URLError, OSError) as error:
                if method == "chat.postMessage" and isinstance(error, TimeoutError):
                    # Sent whole, unanswered: probably posted. Another attempt would
                    # probably post it twice; the caller decides (docs/design.md).
                    failure = SlackUnconfirmed(
                        f"Slack did not answer {method} in time; it may have been posted"
                    )
                # A refused connection or a reset; only its type is kept, as for the webhook.
                last = type(error).__name__
                wait = _backoff(attempt, policy, self.jitter)
            else:
                return dict(answer.data) if isinstance(answer.data, dict) else {}, attempt
            if failure is not None:
                raise failure
            if attempt == policy.max_attempts:
                break
            if wait + whole > remaining() - policy.margin:
                raise SlackUnavailable(
                    f"no time left to call Slack's {method} again (last: {last})"
                )
            sleep(wait)
        raise SlackUnavailable(
            f"Slack did not take {method} after {policy.max_attempts} attempts (last: {last})"
        )


def build_web(api_url: str, secret_arn: str, policy: RetryPolicy) -> SlackWeb:
    client = WebClient(
        base_url=api_url,
        timeout=max(1, round(policy.connect_timeout + policy.read_timeout)),
        # Connection errors and 429 are retried by SlackWeb._call, within the time left.
        retry_handlers=[],
    )
    return SlackWeb(client=client, secret_arn=secret_arn)


def _code(value: object) -> str:
    text = str(value or "")
    return text if text.replace("_", "").isalnum() and len(text) <= 64 else "(no error code)"


def _retry_after(headers: Any, default: float) -> float:
    for name, value in dict(headers or {}).items():
        if str(name).lower() == "retry-after":
            raw = value[0] if isinstance(value, list) and value else value
            try:
                return max(0.0, float(str(raw)))
            except ValueError:
                return default
    return default


def _backoff(attempt: int, policy: RetryPolicy, jitter: Callable[[], float]) -> float:
    return jitter() * min(policy.max_delay, policy.base_delay * 2.0 ** (attempt - 1))
