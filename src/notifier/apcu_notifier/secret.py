"""The Slack webhook URL, from Secrets Manager through Powertools parameters.

The value is a secret: errors name the secret's ARN and what is wrong with it, never the value.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlsplit

from aws_lambda_powertools.utilities.parameters import SecretsProvider

from apcu_clear import secret_value

# One GetSecretValue per container and quarter of an hour: a rotated webhook is picked up
# within that time, and a rejected one at once (see clear_cached_secret).
CACHE_SECONDS = 900

# The value template.yaml's SlackWebhookSecret is created with; until someone puts the webhook
# URL in its place, no verdict can be posted.
PLACEHOLDER = "REPLACE_ME_WITH_THE_SLACK_WEBHOOK_URL"

# botocore logs whole response bodies, GetSecretValue's included, at DEBUG. The webhook must
# never reach a log, whatever LOG_LEVEL an operator sets.
logging.getLogger("botocore").setLevel(logging.WARNING)


class SecretError(RuntimeError):
    """The webhook secret cannot be read or does not hold a webhook URL."""


def webhook_url(provider: SecretsProvider, secret_arn: str, *, max_age: int = CACHE_SECONDS) -> str:
    value, problem = secret_value.read(provider, secret_arn, max_age=max_age)
    if problem:
        raise SecretError(f"Slack webhook secret {secret_arn} {problem}")
    return parse_webhook(value, secret_arn)


def parse_webhook(value: object, secret_arn: str) -> str:
    """A webhook URL from the secret's value: the URL itself, or JSON {"url": "..."}."""
    if isinstance(value, bytes):
        raise SecretError(
            f"Slack webhook secret {secret_arn} holds binary data; store the URL as a string"
        )
    if not isinstance(value, str) or not value.strip():
        raise SecretError(f"Slack webhook secret {secret_arn} is empty")
    text = value.strip()
    if text == PLACEHOLDER:
        raise SecretError(
            f"Slack webhook secret {secret_arn} still holds the placeholder {PLACEHOLDER} the "
            "stack created it with: put the Slack webhook URL in it before the first clear "
            "(aws secretsmanager put-secret-value; docs/deploy.md)"
        )
    if text.startswith("{"):
        try:
            document: Any = json.loads(text)
        except ValueError:
            document = None
        url = document.get("url") if isinstance(document, dict) else None
        if not isinstance(url, str):
            raise SecretError(
                f'Slack webhook secret {secret_arn} is JSON without a string "url" key'
            )
        text = url.strip()
    parts = urlsplit(text)
    if (
        parts.scheme not in ("https", "http")
        or not parts.hostname
        or any(c.isspace() for c in text)
    ):
        raise SecretError(
            f"Slack webhook secret {secret_arn} does not hold an http(s) URL with a host"
        )
    return text


def clear_cached_secret(provider: SecretsProvider) -> None:
    """Forget the cached URL, so the next event reads the secret again (after Slack refused it)."""
    provider.clear_cache()  # type: ignore[no-untyped-call]  # Powertools leaves it unannotated
