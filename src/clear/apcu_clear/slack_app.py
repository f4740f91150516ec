"""Slack's secrets, read through Powertools parameters: the webhook URL, or app mode's bot token,
signing secret and channel. Errors name the secret's ARN and what is wrong, never the value."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from apcu_clear.aws import error_code, is_transient

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

# A rotated secret is picked up within a quarter of an hour, a rejected one at once (clear_cache).
CACHE_SECONDS = 900
# The retry button an alert carries (the notifier) and a press names (the dispatcher).
RETRY_BLOCK_ID = "apcu_retry"
RETRY_ACTION_ID = "retry"
# What template.yaml's created secrets hold until someone puts the real values in them.
PLACEHOLDER = "REPLACE_ME"
WEBHOOK_PLACEHOLDER = "REPLACE_ME_WITH_THE_SLACK_WEBHOOK_URL"
# Bot tokens start xoxb- (api.slack.com, "Token types"); channel ids C, G or D (public, private, DM).
_APP_VALUES = {
    "botToken": (re.compile(r"xoxb-[A-Za-z0-9-]{10,}"), "a bot token, xoxb-…"),
    "signingSecret": (re.compile(r"[0-9a-f]{16,}"), "the app's signing secret, hexadecimal"),
    "channel": (re.compile(r"[CGD][A-Z0-9]{6,}"), "a channel id such as C0123ABCD, not its name"),
}

# botocore logs whole response bodies, GetSecretValue's included, at DEBUG.
logging.getLogger("botocore").setLevel(logging.WARNING)


class AppSecretError(RuntimeError):
    """A Slack secret cannot be read or does not hold what its mode needs."""


class SecretUnreadable(AppSecretError):
    """Secrets Manager would not give a Slack secret's value; `transient` when it may later."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True)
class AppSecret:
    bot_token: str = field(repr=False)
    signing_secret: str = field(repr=False)
    channel: str


def read_secret(provider: SecretsProvider, secret_arn: str) -> Any:
    """The secret's value; an error names only AWS's error code, chaining no botocore exception."""
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    try:
        return provider.get(secret_arn, max_age=CACHE_SECONDS)
    except GetParameterError as error:
        cause = error.__cause__ or error.__context__ or error
        problem, transient = error_code(cause) or type(cause).__name__, is_transient(cause)
    why = f"Slack secret {secret_arn} cannot be read ({problem})"
    raise SecretUnreadable(why, transient=transient)


def read_app_secret(provider: SecretsProvider, secret_arn: str) -> AppSecret:
    return parse_app_secret(read_secret(provider, secret_arn), secret_arn)


def parse_app_secret(value: object, secret_arn: str) -> AppSecret:
    """The app's values from the secret: JSON {"botToken", "signingSecret", "channel"}."""
    where = f"Slack app secret {secret_arn}"
    document = _json(value, where)
    if not isinstance(document, dict):
        why = f'{where} is not a JSON object; expected {{"botToken": "xoxb-…", "signingSecret": "…", "channel": "C…"}}'
        raise AppSecretError(why)
    values = {name: document.get(name) for name in _APP_VALUES}
    if PLACEHOLDER in values.values():
        why = f"{where} still holds the placeholder {PLACEHOLDER} the stack created it with: put the app's bot token, signing secret and channel in it (docs/deploy.md, Slack app)"
        raise AppSecretError(why)
    checked = {name: v.strip() if isinstance(v, str) else "" for name, v in values.items()}
    wrong = [
        f"{name} ({what})"
        for name, (pattern, what) in _APP_VALUES.items()
        if not pattern.fullmatch(checked[name])
    ]
    if wrong:
        raise AppSecretError(f"{where} lacks a valid {', '.join(wrong)}")
    return AppSecret(checked["botToken"], checked["signingSecret"], checked["channel"])


def read_webhook_url(provider: SecretsProvider, secret_arn: str) -> str:
    return parse_webhook(read_secret(provider, secret_arn), secret_arn)


def parse_webhook(value: object, secret_arn: str) -> str:
    """A webhook URL from the secret's value: the URL itself, or JSON {"url": "..."}."""
    where = f"Slack webhook secret {secret_arn}"
    text = _text(value, where)
    if text == WEBHOOK_PLACEHOLDER:
        why = f"{where} still holds the placeholder the stack created it with: put the Slack webhook URL in it before the first clear (aws secretsmanager put-secret-value; docs/deploy.md)"
        raise AppSecretError(why)
    if text.startswith("{"):
        document = _json(text, where)
        url = document.get("url") if isinstance(document, dict) else None
        if not isinstance(url, str):
            raise AppSecretError(f'{where} is JSON without a string "url" key')
        text = url.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("https", "http") or not parts.hostname or any(map(str.isspace, text)):
        raise AppSecretError(f"{where} does not hold an http(s) URL with a host")
    return text


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise AppSecretError(f"{where} is empty or not a string")
    return value.strip()


def _json(value: object, where: str) -> Any:
    try:
        return json.loads(_text(value, where))
    except ValueError:
        return None
