"""Slack app mode's clients for the dispatcher: the app secret (read through Powertools,
cached), the request verifier and the Web API client made from it.

slack_sdk is imported here only, and this module only once a request for the Slack route
arrives in app mode (handler.slack_app): webhook mode's cold start never loads it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import boto3
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web import WebClient

from apcu_clear.slack_app import AppSecret, AppSecretError, SlackAppSettings, read_app_secret
from apcu_dispatcher.budget import READ_CONFIG

# Slack waits 3 s for the answer to a press (api.slack.com, "Handling user interaction");
# a Web API call that takes longer than this is given up, and logged, not waited for.
WEB_API_TIMEOUT_SECONDS = 2


@dataclass(frozen=True)
class SlackApp:
    verifier: SignatureVerifier
    web: WebClient


def slack_app_reader(settings: SlackAppSettings, region: str) -> Callable[[], SlackApp]:
    """A function that returns the app's clients, reading the secret at most once per
    CACHE_SECONDS (apcu_clear.slack_app), and making new clients only when it changed."""
    provider = SecretsProvider(
        boto3_client=boto3.client("secretsmanager", region_name=region, config=READ_CONFIG)
    )

    def read() -> SlackApp:
        try:
            secret = read_app_secret(provider, settings.secret_arn)
        except AppSecretError:
            # A placeholder or a broken value is not kept for the cache's quarter of an hour:
            # once the operator fills the secret, the next press reads it.
            provider.clear_cache()  # type: ignore[no-untyped-call]  # Powertools leaves it unannotated
            raise
        return _clients(secret, settings.api_url)

    return read


@lru_cache(maxsize=1)
def _clients(secret: AppSecret, api_url: str) -> SlackApp:
    return SlackApp(
        verifier=SignatureVerifier(secret.signing_secret),
        # No retry of its own: a press is answered within Slack's 3 s, so a call that fails
        # is logged, not tried again (slack_sdk retries a connection error by default).
        web=WebClient(
            token=secret.bot_token,
            base_url=api_url,
            timeout=WEB_API_TIMEOUT_SECONDS,
            retry_handlers=[],
        ),
    )
