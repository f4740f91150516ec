"""The dispatcher's own settings, read when its container starts; a missing or unusable one fails
the start once, by name. (The settings both functions share: tests/clear/test_settings.py.)"""

from __future__ import annotations

import pytest

from apcu_clear.command import Notify
from apcu_dispatcher.config import Config, ConfigError
from harness.stack import environment

ALIAS = "arn:aws:lambda:us-east-1:123456789012:function:apcu-fleet-flush-notifier:live"


def test_the_stacks_variables_are_read_as_they_are() -> None:
    config = Config.from_env(environment(SLACK_ALLOWED_USERS=" U0APCUOPS, W0123ABCD ,,"))

    assert config.notify == Notify(
        topic_arn="arn:aws:sns:us-east-1:123456789012:apcu-fleet-flush-NotificationTopic-0a1B2c3D4e5F",
        role_arn="arn:aws:iam::123456789012:role/apcu-fleet-flush-NotificationRole",
    )
    assert config.notifier_alias_arn == ALIAS
    assert config.warm_pool_hook_name == "apcu-fleet-flush-warm-pool"
    assert config.slack_allowed_users == frozenset({"U0APCUOPS", "W0123ABCD"})


def test_nobody_allowed_from_slack_is_a_setting_too() -> None:
    assert Config.from_env(environment(SLACK_ALLOWED_USERS="")).slack_allowed_users == frozenset()


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("NOTIFICATION_TOPIC_ARN", None, "NOTIFICATION_TOPIC_ARN is not set"),
        (
            "NOTIFICATION_TOPIC_ARN",
            "",
            "NOTIFICATION_TOPIC_ARN must be an SNS topic ARN, got ''",
        ),
        (
            "NOTIFICATION_TOPIC_ARN",
            "apcu-fleet-flush-NotificationTopic",
            "NOTIFICATION_TOPIC_ARN must be an SNS topic ARN, got 'apcu-fleet-flush-NotificationTopic'",
        ),
        ("NOTIFICATION_ROLE_ARN", None, "NOTIFICATION_ROLE_ARN is not set"),
        (
            "NOTIFICATION_ROLE_ARN",
            "arn:aws:iam::123456789012:user/bob",
            "NOTIFICATION_ROLE_ARN must be an IAM role ARN, got 'arn:aws:iam::123456789012:user/bob'",
        ),
        ("NOTIFIER_ALIAS_ARN", None, "NOTIFIER_ALIAS_ARN is not set"),
        # A durable function is invoked only by a version or an alias.
        (
            "NOTIFIER_ALIAS_ARN",
            ALIAS.removesuffix(":live"),
            "NOTIFIER_ALIAS_ARN must be the notifier alias's ARN (function:NAME:ALIAS), got "
            f"{ALIAS.removesuffix(':live')!r}",
        ),
        ("WARM_POOL_HOOK_NAME", None, "WARM_POOL_HOOK_NAME is not set"),
        (
            "WARM_POOL_HOOK_NAME",
            "a hook",
            "WARM_POOL_HOOK_NAME must be a lifecycle hook name, or empty, got 'a hook'",
        ),
        (
            "SLACK_ALLOWED_USERS",
            "alice, U0APCUOPS, bob@example.com",
            "SLACK_ALLOWED_USERS must be comma-separated Slack user ids such as U0123ABCD (not "
            "names), got 'alice', 'bob@example.com'",
        ),
    ],
)
def test_an_unusable_setting_is_named_with_what_it_must_be(
    name: str, value: str | None, message: str
) -> None:
    env = environment()
    if value is None:
        del env[name]
    else:
        env[name] = value

    with pytest.raises(ConfigError) as refused:
        Config.from_env(env)

    assert str(refused.value) == message


def test_a_shared_setting_fails_the_dispatcher_too() -> None:
    env = environment()
    del env["COMMANDS_TABLE"]

    with pytest.raises(ConfigError, match=r"^COMMANDS_TABLE is not set$"):
        Config.from_env(env)


def test_a_stack_without_a_launch_hook_leaves_its_name_empty() -> None:
    assert Config.from_env(environment(WARM_POOL_HOOK_NAME="")).warm_pool_hook_name == ""
