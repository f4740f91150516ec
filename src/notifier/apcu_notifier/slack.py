"""Slack through slack_sdk, one call each: an incoming webhook (webhook mode) or the Web API (app
mode). urllib wraps in URLError what fails before a request is sent, and raises what fails after it
as it came. slack_sdk's exceptions keep the request (URL, token): ours are raised outside their
except blocks, unchained, and slack_sdk's loggers (requests at DEBUG) are kept at WARNING."""

from __future__ import annotations

import logging
import urllib.error
from typing import TYPE_CHECKING, Any

# slack_sdk is imported by the calls below: only a clear that posts pays for it (make bench).
if TYPE_CHECKING:
    from slack_sdk import WebClient

logging.getLogger("slack_sdk").setLevel(logging.WARNING)

CONNECT_AND_READ_SECONDS = 10
DEFAULT_RETRY_AFTER = 1.0

_REINSTALL = "Slack refused the bot token ({code}): reinstall the app to the workspace and put its bot token (xoxb-…) in the app secret (docs/deploy.md, Slack app)"
# What to do about each refusal a retry cannot cure.
FIXES = {
    **dict.fromkeys(
        ("invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"),
        _REINSTALL,
    ),
    "missing_scope": "the app lacks the chat:write scope ({code}): add it, reinstall the app and put the new bot token in the app secret",
    "channel_not_found": "Slack knows no channel {channel} the bot can see ({code}): put the channel's id (C…, from its details, not its name) in the app secret; a private channel needs the bot invited",
    "not_in_channel": "the bot is not a member of channel {channel} ({code}): /invite the app there",
    "is_archived": "channel {channel} is archived ({code}): unarchive it, or put another channel's id in the app secret",
    "invalid_payload": "Slack refused the message's shape ({code})",
    "no_service": "the incoming webhook was removed or disabled ({code}): put a working webhook URL in the webhook secret",
    "channel_is_archived": "the webhook's channel is archived ({code}): unarchive it, or make a new webhook",
    "action_prohibited": "a Slack admin restricted the webhook ({code})",
}
# The clear's message is gone (deleted, or its channel changed): post the verdict anew.
MESSAGE_GONE = frozenset({"message_not_found", "cant_update_message"})


class SlackError(RuntimeError):
    """The message did not reach Slack."""


# Slack refused the call for good; the message says what to fix.
class SlackRejected(SlackError):
    def __init__(self, method: str, code: str, channel: str = "") -> None:
        fix = FIXES.get(code, "HTTP error {code}").format(code=code, channel=channel)
        super().__init__(f"Slack refused {method}: {fix}")
        self.code = code


# Slack did not take the call now (429, 5xx, no connection): try again after `retry_after`.
class SlackUnavailable(SlackError):
    def __init__(self, method: str, why: str, retry_after: float = 0.0) -> None:
        super().__init__(f"Slack did not take {method} ({why})")
        self.retry_after = retry_after


class DeliveryUnconfirmed(SlackError):
    """Sent whole, not answered in time: probably posted, and not sent again."""


def post_webhook(url: str, payload: dict[str, Any]) -> None:
    from slack_sdk.webhook import WebhookClient

    failure: SlackError | None = None
    try:
        # No slack_sdk retry: after a connection error Slack may have the post; the step decides.
        client = WebhookClient(url, timeout=CONNECT_AND_READ_SECONDS, retry_handlers=[])
        answer = client.send_dict(payload)
    except urllib.error.URLError as error:
        failure = SlackUnavailable("the webhook", type(error.reason).__name__)
    except OSError:
        failure = DeliveryUnconfirmed("the webhook did not answer; the message was probably posted")
    else:
        if not 200 <= answer.status_code < 300:
            failure = _refusal("the webhook", answer.status_code, answer.body, answer.headers)
    if failure is not None:
        raise failure


def call_web(client: WebClient, method: str, token: str, params: dict[str, Any]) -> dict[str, Any]:
    from slack_sdk.errors import SlackApiError, SlackClientError

    failure: SlackError
    try:
        # The token goes to the Authorization header only.
        answer = client.api_call(method, json={**params, "token": token})
    except SlackApiError as error:
        status, code = int(error.response.status_code), error.response.get("error")
        channel = str(params.get("channel", ""))
        failure = _refusal(method, status, code, error.response.headers, channel)
    except urllib.error.URLError as error:
        failure = SlackUnavailable(method, type(error.reason).__name__)
    except OSError:
        failure = DeliveryUnconfirmed(f"Slack did not answer {method}; it was probably taken")
    except SlackClientError as error:
        failure = SlackUnavailable(method, type(error).__name__)
    else:
        return dict(answer.data) if isinstance(answer.data, dict) else {}
    raise failure


def _refusal(
    method: str, status: int, error: object, headers: Any, channel: str = ""
) -> SlackError:
    text = str(error or "").strip()
    code = text if text.replace("_", "").isalnum() and len(text) <= 64 else "no error code"
    if status == 429:
        return SlackUnavailable(method, f"HTTP 429 {code}", _retry_after(headers))
    if status >= 500 or status == 408:
        return SlackUnavailable(method, f"HTTP {status} {code}")
    return SlackRejected(method, code, channel)


def web_client(api_url: str) -> WebClient:
    from slack_sdk import WebClient

    # Retries are the clear's (its post steps), not slack_sdk's.
    return WebClient(base_url=api_url, timeout=CONNECT_AND_READ_SECONDS, retry_handlers=[])


def _retry_after(headers: Any) -> float:
    lowered = {str(name).lower(): given for name, given in dict(headers or {}).items()}
    value = lowered.get("retry-after")
    raw = value[0] if isinstance(value, list) and value else value
    try:
        return max(0.0, float(str(raw)))
    except ValueError:
        return DEFAULT_RETRY_AFTER
