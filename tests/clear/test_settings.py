"""apcu_clear.settings: what both functions read from their environment when the container starts.
A missing or unusable variable fails the start once, by name, and says what it must be."""

from __future__ import annotations

import pytest

from apcu_clear.command import CommandSettings
from apcu_clear.settings import ConfigError, Settings
from apcu_clear.slack_app import SlackAppSettings
from harness.stack import DOCUMENT, TABLE, environment


def test_the_stacks_variables_are_read_as_they_are() -> None:
    env = environment(ALLOWED_GROUPS=" web-prod, web-staging,,", STOP_ALARM_NAME="db-load")

    assert Settings.from_env(env) == Settings(
        region="us-east-1",
        table=TABLE,
        allowed_groups=frozenset({"web-prod", "web-staging"}),
        commands=CommandSettings(
            document_name=DOCUMENT,
            delivery_timeout_seconds=120,
            execution_timeout_seconds=60,
            max_concurrency="50%",
            stop_alarm_name="db-load",
        ),
        slack=SlackAppSettings(mode="webhook", secret_arn="", api_url="https://slack.com/api/"),
    )


def test_an_empty_group_list_allows_none() -> None:
    assert Settings.from_env(environment(ALLOWED_GROUPS="")).allowed_groups == frozenset()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("AWS_REGION", "AWS_REGION is not set"),
        ("COMMANDS_TABLE", "COMMANDS_TABLE is not set"),
        (
            "ALLOWED_GROUPS",
            "ALLOWED_GROUPS is not set (comma-separated group names; empty allows none)",
        ),
        ("DOCUMENT_NAME", "DOCUMENT_NAME is not set"),
        ("DELIVERY_TIMEOUT_SECONDS", "DELIVERY_TIMEOUT_SECONDS is not set"),
        ("EXECUTION_TIMEOUT_SECONDS", "EXECUTION_TIMEOUT_SECONDS is not set"),
        ("MAX_CONCURRENCY", "MAX_CONCURRENCY is not set"),
    ],
)
def test_a_missing_variable_is_named(name: str, message: str) -> None:
    env = environment()
    del env[name]

    with pytest.raises(ConfigError) as refused:
        Settings.from_env(env)

    assert str(refused.value) == message


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("AWS_REGION", "  ", "AWS_REGION is not set"),
        (
            "COMMANDS_TABLE",
            "a/b",
            "COMMANDS_TABLE must be a DynamoDB table name, got 'a/b'",
        ),
        (
            "DOCUMENT_NAME",
            "bad name!",
            "DOCUMENT_NAME must be an SSM document name, got 'bad name!'",
        ),
        (
            "DOCUMENT_NAME",
            "AWS-RunShellScript",
            "DOCUMENT_NAME must name the stack's own document, not the AWS-owned "
            "'AWS-RunShellScript'",
        ),
        (
            "DOCUMENT_NAME",
            "amazon-thing",
            "DOCUMENT_NAME must name the stack's own document, not the AWS-owned 'amazon-thing'",
        ),
        (
            "DELIVERY_TIMEOUT_SECONDS",
            "29",
            "DELIVERY_TIMEOUT_SECONDS must be a whole number from 30 to 2592000, got '29'",
        ),
        (
            "DELIVERY_TIMEOUT_SECONDS",
            "2m",
            "DELIVERY_TIMEOUT_SECONDS must be a whole number from 30 to 2592000, got '2m'",
        ),
        (
            "EXECUTION_TIMEOUT_SECONDS",
            "0",
            "EXECUTION_TIMEOUT_SECONDS must be a whole number from 1 to 172800, got '0'",
        ),
        (
            "EXECUTION_TIMEOUT_SECONDS",
            "172801",
            "EXECUTION_TIMEOUT_SECONDS must be a whole number from 1 to 172800, got '172801'",
        ),
        (
            "MAX_CONCURRENCY",
            "0",
            "MAX_CONCURRENCY must be a count (10) or a percentage (50%), got '0'",
        ),
        (
            "MAX_CONCURRENCY",
            "101%",
            "MAX_CONCURRENCY must be a count (10) or a percentage (50%), got '101%'",
        ),
        (
            "STOP_ALARM_NAME",
            "a" * 256,
            "STOP_ALARM_NAME must be a CloudWatch alarm name of at most 255 printable "
            f"characters, got {'a' * 40!r}",
        ),
        (
            "STOP_ALARM_NAME",
            "db\nload",
            "STOP_ALARM_NAME must be a CloudWatch alarm name of at most 255 printable "
            "characters, got 'db\\nload'",
        ),
        ("SLACK_MODE", "teams", "SLACK_MODE is 'teams'; expected webhook or app."),
        (
            "SLACK_API_URL",
            "slack.com/api",
            "SLACK_API_URL must be an http(s) URL with a host, got 'slack.com/api'.",
        ),
    ],
)
def test_an_unusable_value_is_named_with_what_it_must_be(
    name: str, value: str, message: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env(environment(**{name: value}))

    assert str(refused.value) == message


def test_app_mode_needs_its_secret() -> None:
    with pytest.raises(ConfigError, match="SLACK_MODE is app but SLACK_APP_SECRET_ARN is not set"):
        Settings.from_env(environment(SLACK_MODE="app", SLACK_APP_SECRET_ARN=""))


def test_a_slack_api_url_gets_its_trailing_slash() -> None:
    env = environment(SLACK_API_URL="http://127.0.0.1:8080/api")

    assert Settings.from_env(env).slack.api_url == "http://127.0.0.1:8080/api/"


@pytest.mark.parametrize("value", ["1", "50", "1%", "9%", "10%", "99%", "100%"])
def test_max_concurrency_takes_counts_and_percentages(value: str) -> None:
    assert Settings.from_env(environment(MAX_CONCURRENCY=value)).commands.max_concurrency == value
