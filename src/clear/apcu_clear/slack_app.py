"""Slack app mode's settings, shared by both functions: the mode, the Web API's base URL, and
the app secret (bot token, signing secret, channel) read through Powertools parameters.

The token and the signing secret are secrets: errors name the secret's ARN and what is wrong
with its value, never the value; their dataclass fields are kept out of repr.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

WEBHOOK = "webhook"
APP = "app"
SLACK_MODES = (WEBHOOK, APP)
DEFAULT_API_URL = "https://slack.com/api/"
# One GetSecretValue per container and quarter of an hour, as for the webhook: a rotated
# token is picked up within that time, and a rejected one at once (clear_cache).
CACHE_SECONDS = 900
# The retry button an alert carries (the notifier) and a press names (the dispatcher).
RETRY_BLOCK_ID = "apcu_retry"
RETRY_ACTION_ID = "retry"
# What template.yaml's created secrets hold until someone puts the real values in them.
PLACEHOLDER = "REPLACE_ME"
WEBHOOK_PLACEHOLDER = "REPLACE_ME_WITH_THE_SLACK_WEBHOOK_URL"

# Bot tokens start xoxb- (api.slack.com, "Token types"); channel ids start C (public), G
# (private) or D (direct message), then upper-case letters and digits.
_BOT_TOKEN = re.compile(r"xoxb-[A-Za-z0-9-]{10,}")
_CHANNEL = re.compile(r"[CGD][A-Z0-9]{6,}")
_SIGNING_SECRET = re.compile(r"[0-9a-f]{16,}")

# botocore logs whole response bodies, GetSecretValue's included, at DEBUG.
logging.getLogger("botocore").setLevel(logging.WARNING)


class SlackAppConfigError(ValueError):
    """SLACK_MODE or SLACK_API_URL is not usable; raised when the function starts."""


class AppSecretError(RuntimeError):
    """The app secret cannot be read or does not hold what app mode needs."""


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


@dataclass(frozen=True)
class SlackAppSettings:
    """SLACK_MODE, SLACK_APP_SECRET_ARN and SLACK_API_URL, checked together."""

    mode: str = WEBHOOK
    secret_arn: str = ""
    api_url: str = DEFAULT_API_URL

    @property
    def is_app(self) -> bool:
        return self.mode == APP

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SlackAppSettings:
        mode = env.get("SLACK_MODE", "").strip().lower() or WEBHOOK
        if mode not in SLACK_MODES:
            raise SlackAppConfigError(
                f"SLACK_MODE is {mode!r}; expected {' or '.join(SLACK_MODES)}."
            )
        secret_arn = env.get("SLACK_APP_SECRET_ARN", "").strip()
        if mode == APP and not secret_arn:
            raise SlackAppConfigError(
                "SLACK_MODE is app but SLACK_APP_SECRET_ARN is not set: app mode needs the "
                "secret holding the bot token, the signing secret and the channel."
            )
        api_url = env.get("SLACK_API_URL", "").strip() or DEFAULT_API_URL
        parts = urlsplit(api_url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise SlackAppConfigError(
                f"SLACK_API_URL must be an http(s) URL with a host, got {api_url!r}."
            )
        if not api_url.endswith("/"):
            # slack_sdk joins the method name to the base URL as is.
            api_url += "/"
        return cls(mode=mode, secret_arn=secret_arn, api_url=api_url)


def read_secret(provider: SecretsProvider, secret_arn: str, *, max_age: int = CACHE_SECONDS) -> Any:
    """A Slack secret's value (the webhook URL, or the app's JSON) through Powertools
    parameters. The error names only AWS's error code: no botocore exception, which may carry
    the request, is chained to it."""
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    from apcu_clear.aws import error_code, is_transient

    problem, transient = "", False
    try:
        return provider.get(secret_arn, max_age=max_age)
    except GetParameterError as error:
        cause = error.__cause__ or error.__context__ or error
        problem = error_code(cause) or type(cause).__name__
        transient = is_transient(cause)
    raise SecretUnreadable(
        f"Slack secret {secret_arn} cannot be read ({problem})", transient=transient
    )


def read_app_secret(
    provider: SecretsProvider, secret_arn: str, *, max_age: int = CACHE_SECONDS
) -> AppSecret:
    return parse_app_secret(read_secret(provider, secret_arn, max_age=max_age), secret_arn)


def parse_app_secret(value: object, secret_arn: str) -> AppSecret:
    """The app's values from the secret: JSON {"botToken", "signingSecret", "channel"}."""
    where = f"Slack app secret {secret_arn}"
    if not isinstance(value, str) or not value.strip():
        raise AppSecretError(f"{where} is empty or not a string")
    try:
        document: Any = json.loads(value)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise AppSecretError(
            f'{where} is not a JSON object; expected {{"botToken": "xoxb-…", '
            '"signingSecret": "…", "channel": "C…"}'
        )
    values: dict[str, Any] = {
        name: document.get(name) for name in ("botToken", "signingSecret", "channel")
    }
    if PLACEHOLDER in (v for v in values.values() if isinstance(v, str)):
        raise AppSecretError(
            f"{where} still holds the placeholder {PLACEHOLDER} the stack created it with: put "
            "the app's bot token, signing secret and channel in it (docs/deploy.md, Slack app)"
        )
    checked = {name: value.strip() for name, value in values.items() if isinstance(value, str)}
    wrong = [
        f"{name} ({what})"
        for name, pattern, what in (
            ("botToken", _BOT_TOKEN, "a bot token, xoxb-…"),
            ("signingSecret", _SIGNING_SECRET, "the app's signing secret, hexadecimal"),
            ("channel", _CHANNEL, "a channel id such as C0123ABCD, not its name"),
        )
        if not pattern.fullmatch(checked.get(name, ""))
    ]
    if wrong:
        raise AppSecretError(f"{where} lacks a valid {', '.join(wrong)}")
    return AppSecret(
        bot_token=checked["botToken"],
        signing_secret=checked["signingSecret"],
        channel=checked["channel"],
    )


def read_webhook_url(
    provider: SecretsProvider, secret_arn: str, *, max_age: int = CACHE_SECONDS
) -> str:
    return parse_webhook(read_secret(provider, secret_arn, max_age=max_age), secret_arn)


def parse_webhook(value: object, secret_arn: str) -> str:
    """A webhook URL from the secret's value: the URL itself, or JSON {"url": "..."}."""
    where = f"Slack webhook secret {secret_arn}"
    if not isinstance(value, str) or not value.strip():
        raise AppSecretError(f"{where} is empty or not a string")
    text = value.strip()
    if text == WEBHOOK_PLACEHOLDER:
        raise AppSecretError(
            f"{where} still holds the placeholder the stack created it with: put the Slack webhook "
            "URL in it before the first clear (aws secretsmanager put-secret-value; docs/deploy.md)"
        )
    if text.startswith("{"):
        try:
            document: Any = json.loads(text)
        except ValueError:
            document = None
        url = document.get("url") if isinstance(document, dict) else None
        if not isinstance(url, str):
            raise AppSecretError(f'{where} is JSON without a string "url" key')
        text = url.strip()
    parts = urlsplit(text)
    if (
        parts.scheme not in ("https", "http")
        or not parts.hostname
        or any(c.isspace() for c in text)
    ):
        raise AppSecretError(f"{where} does not hold an http(s) URL with a host")
    return text
