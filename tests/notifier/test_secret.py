"""The webhook secret: read once per container, validated, and never repeated in an error."""

from __future__ import annotations

import boto3
import pytest
from aws_lambda_powertools.utilities.parameters import SecretsProvider

from apcu_notifier.secret import SecretError, parse_webhook, webhook_url
from harness import aws_emulator as emu
from harness import cfn_template

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:slack-AbCdEf"
URL = "https://hooks.slack.com/services/T000/B000/XXXXSECRET"


@pytest.mark.parametrize(
    "value",
    [URL, f"  {URL}\n", f'{{"url": "{URL}"}}', f'{{"url": " {URL} ", "channel": "#ops"}}'],
)
def test_plain_or_json_webhook(value: str) -> None:
    assert parse_webhook(value, ARN) == URL


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        (b"\x00\x01", "holds binary data"),
        (
            '{"webhook": "https://hooks.slack.com/services/T000/B000/XXXXSECRET"}',
            'JSON without a string "url"',
        ),
        ('{"url": 42}', 'JSON without a string "url"'),
        (
            '{"url": "https://hooks.slack.com/services/T000/B000/XXXXSECRET"',
            'JSON without a string "url"',
        ),
        (
            "hooks.slack.com/services/T000/B000/XXXXSECRET",
            "does not hold an http(s) URL with a host",
        ),
        (
            "ftp://hooks.slack.com/services/T000/B000/XXXXSECRET",
            "does not hold an http(s) URL with a host",
        ),
        ("https:///services/T000/B000/XXXXSECRET", "does not hold an http(s) URL with a host"),
        (
            "https://hooks.slack.com/services/T000 B000/XXXXSECRET",
            "does not hold an http(s) URL with a host",
        ),
    ],
)
def test_malformed_secret_is_a_clear_error_without_the_value(
    value: str | bytes, problem: str
) -> None:
    with pytest.raises(SecretError) as raised:
        parse_webhook(value, ARN)
    message = str(raised.value)
    assert ARN in message
    assert problem in message
    assert "XXXXSECRET" not in message


def test_missing_secret_names_the_arn_and_the_error_code(aws: None) -> None:
    provider = SecretsProvider(boto3_client=boto3.client("secretsmanager", region_name=emu.REGION))
    with pytest.raises(SecretError) as raised:
        webhook_url(provider, ARN)
    assert (
        str(raised.value)
        == f"Slack webhook secret {ARN} cannot be read (ResourceNotFoundException)"
    )
    assert raised.value.__cause__ is None and raised.value.__context__ is None


def test_secret_is_read_once_and_cached(aws: None) -> None:
    client = boto3.client("secretsmanager", region_name=emu.REGION)
    arn = client.create_secret(Name="slack", SecretString=URL)["ARN"]
    reads: list[str] = []
    client.meta.events.register(
        "before-call.secrets-manager.GetSecretValue", lambda **_: reads.append("x")
    )
    provider = SecretsProvider(boto3_client=client)

    assert [webhook_url(provider, arn) for _ in range(5)] == [URL] * 5
    assert len(reads) == 1


def test_the_stacks_placeholder_says_to_fill_the_secret_before_the_first_clear() -> None:
    # Given the secret exactly as the stack creates it, When the notifier reads it,
    # Then the error says the placeholder is still there and what to do about it.
    created_with = cfn_template.load()["Resources"]["SlackWebhookSecret"]["Properties"][
        "SecretString"
    ]
    with pytest.raises(SecretError) as caught:
        parse_webhook(created_with, ARN)
    message = str(caught.value)
    assert ARN in message
    assert "still holds the placeholder" in message
    assert "before the first clear" in message
    assert "put-secret-value" in message
