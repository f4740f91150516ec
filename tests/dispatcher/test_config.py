"""Settings are read once; a missing or unusable variable stops the function at init, by name."""

from __future__ import annotations

import pytest

from apcu_dispatcher.config import Config, ConfigError, WatchdogConfig
from tests.dispatcher.conftest import (
    COMMANDS_TABLE,
    DOCUMENT,
    ENV,
    NOTIFIER_ARN,
    ROLE_ARN,
    TOPIC_ARN,
    WATCHDOG_DLQ_ARN,
    WATCHDOG_GROUP,
    WATCHDOG_ROLE_ARN,
)


def test_defaults_and_trimmed_group_list() -> None:
    # Given the stack's variables with no MAX_CONCURRENCY or DELIVERY_TIMEOUT_SECONDS
    config = Config.from_env(ENV)

    # Then the documented defaults apply and the group list is exact names, blanks dropped
    assert config == Config(
        topic_arn=TOPIC_ARN,
        role_arn=ROLE_ARN,
        document_name=DOCUMENT,
        allowed_groups=frozenset({"web-prod", "web-staging"}),
        max_concurrency="50%",
        delivery_timeout_seconds=120,
        region="us-east-1",
        watchdog=WatchdogConfig(
            commands_table=COMMANDS_TABLE,
            group=WATCHDOG_GROUP,
            role_arn=WATCHDOG_ROLE_ARN,
            target_arn=NOTIFIER_ARN,
            dead_letter_arn=WATCHDOG_DLQ_ARN,
            execution_timeout_seconds=60,
        ),
    )


def test_empty_group_list_allows_nothing() -> None:
    assert Config.from_env({**ENV, "ALLOWED_GROUPS": " , "}).allowed_groups == frozenset()


def test_region_falls_back_to_default_region() -> None:
    env = {k: v for k, v in ENV.items() if k != "AWS_REGION"} | {"AWS_DEFAULT_REGION": "eu-west-1"}
    assert Config.from_env(env).region == "eu-west-1"


@pytest.mark.parametrize("value", ["1", "10", "100", "5%", "50%", "100%"])
def test_max_concurrency_accepts_what_ssm_accepts(value: str) -> None:
    assert Config.from_env({**ENV, "MAX_CONCURRENCY": value}).max_concurrency == value


@pytest.mark.parametrize("seconds", ["30", "900", "2592000"])
def test_delivery_timeout_within_ssm_bounds(seconds: str) -> None:
    assert Config.from_env(
        {**ENV, "DELIVERY_TIMEOUT_SECONDS": seconds}
    ).delivery_timeout_seconds == int(seconds)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NOTIFICATION_TOPIC_ARN", None),
        ("NOTIFICATION_TOPIC_ARN", ""),
        ("NOTIFICATION_TOPIC_ARN", "apcu-topic"),
        ("NOTIFICATION_TOPIC_ARN", "arn:aws:sqs:us-east-1:123456789012:queue"),
        ("NOTIFICATION_ROLE_ARN", None),
        ("NOTIFICATION_ROLE_ARN", "arn:aws:iam::123456789012:user/alice"),
        ("DOCUMENT_NAME", None),
        ("DOCUMENT_NAME", "AWS-RunShellScript"),
        ("DOCUMENT_NAME", "aws-runshellscript"),
        ("DOCUMENT_NAME", "AmazonCloudWatch-ManageAgent"),
        ("DOCUMENT_NAME", "arn:aws:ssm:us-east-1::document/AWS-RunShellScript"),
        ("DOCUMENT_NAME", "x"),
        ("ALLOWED_GROUPS", None),
        ("MAX_CONCURRENCY", "0"),
        ("MAX_CONCURRENCY", "0%"),
        ("MAX_CONCURRENCY", "101%"),
        ("MAX_CONCURRENCY", "half"),
        ("MAX_CONCURRENCY", "12345678"),
        ("DELIVERY_TIMEOUT_SECONDS", "29"),
        ("DELIVERY_TIMEOUT_SECONDS", "2592001"),
        ("DELIVERY_TIMEOUT_SECONDS", "2m"),
        ("DELIVERY_TIMEOUT_SECONDS", "\uff11\uff12\uff10"),
        ("DELIVERY_TIMEOUT_SECONDS", "-60"),
        ("AWS_REGION", None),
        ("COMMANDS_TABLE", None),
        ("COMMANDS_TABLE", "a"),
        ("WATCHDOG_GROUP", None),
        ("WATCHDOG_GROUP", "group with spaces"),
        ("WATCHDOG_ROLE_ARN", None),
        ("WATCHDOG_ROLE_ARN", "arn:aws:iam::123456789012:user/alice"),
        ("WATCHDOG_TARGET_ARN", None),
        ("WATCHDOG_TARGET_ARN", "arn:aws:sns:us-east-1:123456789012:topic"),
        ("WATCHDOG_DEAD_LETTER_ARN", None),
        ("WATCHDOG_DEAD_LETTER_ARN", "https://sqs.us-east-1.amazonaws.com/123456789012/q"),
        ("EXECUTION_TIMEOUT_SECONDS", None),
        ("EXECUTION_TIMEOUT_SECONDS", "0"),
        ("EXECUTION_TIMEOUT_SECONDS", "172801"),
        ("EXECUTION_TIMEOUT_SECONDS", "1h"),
    ],
)
def test_missing_or_invalid_variable_is_named(name: str, value: str | None) -> None:
    # Given one variable missing (None) or unusable
    env = {k: v for k, v in ENV.items() if k != name}
    if value is not None:
        env[name] = value

    # When the settings are read, Then the error names the variable
    with pytest.raises(ConfigError, match=name):
        Config.from_env(env)
