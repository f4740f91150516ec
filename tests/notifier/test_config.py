"""Configuration is read once, and a wrong value fails before any event is handled."""

from __future__ import annotations

import pytest

from apcu_notifier.config import Config, ConfigError, Language

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:slack-AbCdEf"


def test_defaults() -> None:
    config = Config.from_env({"SLACK_WEBHOOK_SECRET_ARN": ARN, "AWS_REGION": "us-east-1"})
    assert config == Config(slack_webhook_secret_arn=ARN, region="us-east-1")
    assert (config.language, config.alert_mention, config.commands_table) == (
        Language.EN,
        "",
        None,
    )


def test_everything_set() -> None:
    config = Config.from_env(
        {
            "SLACK_WEBHOOK_SECRET_ARN": ARN,
            "AWS_REGION": "ap-northeast-1",
            "MESSAGE_LANGUAGE": "JA",
            "ALERT_MENTION": "<!here> <@U012AB3CD>",
            "COMMANDS_TABLE": "apcu-commands",
        }
    )
    assert config.language is Language.JA
    assert config.alert_mention == "<!here> <@U012AB3CD>"
    assert config.commands_table == "apcu-commands"
    assert config.region == "ap-northeast-1"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AWS_REGION": "us-east-1"}, "SLACK_WEBHOOK_SECRET_ARN is not set"),
        ({"SLACK_WEBHOOK_SECRET_ARN": ARN}, "AWS_REGION is not set"),
        (
            {"SLACK_WEBHOOK_SECRET_ARN": ARN, "AWS_REGION": "us-east-1", "MESSAGE_LANGUAGE": "fr"},
            "MESSAGE_LANGUAGE is 'fr'; expected one of: en, ja",
        ),
        (
            {"SLACK_WEBHOOK_SECRET_ARN": ARN, "AWS_REGION": "us-east-1", "ALERT_MENTION": "@here"},
            "ALERT_MENTION must be empty or Slack mentions",
        ),
    ],
)
def test_wrong_configuration_is_a_clear_error(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config.from_env(env)


def test_empty_commands_table_means_off() -> None:
    config = Config.from_env(
        {"SLACK_WEBHOOK_SECRET_ARN": ARN, "AWS_REGION": "us-east-1", "COMMANDS_TABLE": " "}
    )
    assert config.commands_table is None


@pytest.mark.parametrize(("raw", "clears"), [(None, True), ("true", True), ("FALSE", False)])
def test_whether_the_stack_clears_warm_pool_exits(raw: str | None, clears: bool) -> None:
    env = {"SLACK_WEBHOOK_SECRET_ARN": ARN, "AWS_REGION": "us-east-1"}
    if raw is not None:
        env["CLEAR_ON_WARM_POOL_EXIT"] = raw
    assert Config.from_env(env).warm_pool_exit_clears is clears


def test_a_wrong_warm_pool_switch_is_a_clear_error() -> None:
    env = {"SLACK_WEBHOOK_SECRET_ARN": ARN, "AWS_REGION": "us-east-1"}
    with pytest.raises(
        ConfigError, match="CLEAR_ON_WARM_POOL_EXIT is 'yes'; expected true or false"
    ):
        Config.from_env({**env, "CLEAR_ON_WARM_POOL_EXIT": "yes"})


APP_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:apcu-fleet-flush/slack-app-AbCdEf"


def test_app_mode_needs_the_app_secret_and_not_the_webhook() -> None:
    config = Config.from_env(
        {
            "AWS_REGION": "us-east-1",
            "SLACK_MODE": "app",
            "SLACK_APP_SECRET_ARN": APP_ARN,
            "SLACK_API_URL": "http://127.0.0.1:8080/api",
        }
    )

    assert config.slack.is_app
    assert config.slack.secret_arn == APP_ARN
    assert config.slack.api_url == "http://127.0.0.1:8080/api/"
    assert config.slack_webhook_secret_arn == ""


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SLACK_MODE": "app"}, "SLACK_MODE is app but SLACK_APP_SECRET_ARN is not set"),
        ({"SLACK_MODE": "bot"}, "SLACK_MODE is 'bot'; expected webhook or app"),
        (
            {"SLACK_MODE": "app", "SLACK_APP_SECRET_ARN": APP_ARN, "SLACK_API_URL": "slack.com"},
            "SLACK_API_URL must be an http",
        ),
    ],
)
def test_a_wrong_app_mode_is_a_clear_error(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config.from_env({"AWS_REGION": "us-east-1", **env})


def test_webhook_mode_is_the_default_and_still_needs_its_secret() -> None:
    config = Config.from_env({"SLACK_WEBHOOK_SECRET_ARN": ARN, "AWS_REGION": "us-east-1"})
    assert not config.slack.is_app
    with pytest.raises(ConfigError, match="SLACK_WEBHOOK_SECRET_ARN is not set"):
        Config.from_env({"AWS_REGION": "us-east-1", "SLACK_MODE": "webhook"})
