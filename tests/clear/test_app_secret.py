"""Slack app mode's settings and secret (apcu_clear.slack_app), read through Powertools from
moto's Secrets Manager."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from moto import mock_aws

from apcu_clear.slack_app import (
    AppSecretError,
    SlackAppConfigError,
    SlackAppSettings,
    read_app_secret,
)

TOKEN = "xoxb-0000000000-apcufleetflush"
SIGNING = "8f742231b10e8888abcd99aaabbb85a5"
CHANNEL = "C0APCUFLUSH"
GOOD = {"botToken": TOKEN, "signingSecret": SIGNING, "channel": CHANNEL}


@pytest.fixture
def provider() -> Iterator[SecretsProvider]:
    with mock_aws():
        yield SecretsProvider(boto3_client=boto3.client("secretsmanager", region_name="us-east-1"))


def _store(value: str) -> str:
    client = boto3.client("secretsmanager", region_name="us-east-1")
    return str(client.create_secret(Name="apcu-slack-app", SecretString=value)["ARN"])


def test_the_app_secret_gives_token_signing_secret_and_channel_and_hides_them_in_repr(
    provider: SecretsProvider,
) -> None:
    secret = read_app_secret(provider, _store(json.dumps(GOOD)))
    assert (secret.bot_token, secret.signing_secret, secret.channel) == (TOKEN, SIGNING, CHANNEL)
    assert TOKEN not in repr(secret) and SIGNING not in repr(secret)


def test_the_placeholder_the_stack_creates_is_refused_with_what_to_do(
    provider: SecretsProvider,
) -> None:
    arn = _store(json.dumps(dict.fromkeys(GOOD, "REPLACE_ME")))
    with pytest.raises(AppSecretError, match="placeholder REPLACE_ME") as raised:
        read_app_secret(provider, arn)
    assert arn in str(raised.value) and "docs/deploy.md" in str(raised.value)


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("xoxb-not-json", "not a JSON object"),
        (json.dumps({**GOOD, "botToken": "xoxp-0000000000-user"}), "botToken"),
        (json.dumps({**GOOD, "channel": "#web-alerts"}), "channel id"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "signingSecret"}), "signingSecret"),
    ],
)
def test_a_secret_without_what_app_mode_needs_names_the_field_and_never_the_value(
    provider: SecretsProvider, value: str, named: str
) -> None:
    with pytest.raises(AppSecretError, match=named) as raised:
        read_app_secret(provider, _store(value))
    assert TOKEN not in str(raised.value) and SIGNING not in str(raised.value)
    assert "xoxp-0000000000-user" not in str(raised.value)


def test_a_secret_that_cannot_be_read_names_the_error_code(provider: SecretsProvider) -> None:
    missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-AbCdEf"
    with pytest.raises(AppSecretError, match=r"cannot be read \(ResourceNotFoundException\)"):
        read_app_secret(provider, missing)


def test_webhook_is_the_default_mode_and_app_mode_needs_its_secret() -> None:
    assert SlackAppSettings.from_env({}) == SlackAppSettings()
    assert not SlackAppSettings.from_env({}).is_app
    with pytest.raises(SlackAppConfigError, match="SLACK_APP_SECRET_ARN is not set"):
        SlackAppSettings.from_env({"SLACK_MODE": "app"})
    with pytest.raises(SlackAppConfigError, match="expected webhook or app"):
        SlackAppSettings.from_env({"SLACK_MODE": "bot"})


def test_the_api_url_ends_in_a_slash_and_must_be_http() -> None:
    settings = SlackAppSettings.from_env(
        {
            "SLACK_MODE": "APP",
            "SLACK_APP_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:s",
            "SLACK_API_URL": "http://127.0.0.1:8081/api",
        }
    )
    assert settings.is_app and settings.api_url == "http://127.0.0.1:8081/api/"
    with pytest.raises(SlackAppConfigError, match="SLACK_API_URL"):
        SlackAppSettings.from_env({"SLACK_API_URL": "slack.com/api"})
