"""The dispatcher's settings, read once from the environment when the container starts."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from apcu_clear.schedule import (
    IAM_ROLE_ARN_PATTERN,
    LAMBDA_ARN_PATTERN,
    SCHEDULE_GROUP_PATTERN,
    SQS_ARN_PATTERN,
)
from apcu_clear.slack_app import SlackAppConfigError, SlackAppSettings

# SendCommand's MaxConcurrency member, as botocore's SSM model constrains it (1..7 characters).
MAX_CONCURRENCY_PATTERN = r"^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$"
# SendCommand's TimeoutSeconds bounds (botocore SSM model).
DELIVERY_TIMEOUT_RANGE = (30, 2_592_000)
# aws:runShellScript's timeoutSeconds (the document's execution timeout) and its bounds.
EXECUTION_TIMEOUT_RANGE = (1, 172_800)
# A lifecycle hook's name as Auto Scaling's model allows it (AsciiStringMaxLen255 and the
# pattern of LifecycleHookName), and the stack parameter WarmPoolHookName's default.
HOOK_NAME_PATTERN = r"^[A-Za-z0-9\-_/]{1,255}$"
DEFAULT_WARM_POOL_HOOK = "apcu-fleet-flush-warm-pool"
# SSM's Alarm.Name and CloudWatch's AlarmName: at most 255 characters.
MAX_ALARM_NAME = 255
# A document name as CreateDocument allows it (botocore SSM model); no ARN, so a shared or
# AWS-owned document in another account cannot stand in for the project's own.
_DOCUMENT_NAME_PATTERN = r"^[a-zA-Z0-9_\-.]{3,128}$"
_SNS_TOPIC_ARN = r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$"
# A table name as botocore's dynamodb model constrains it; the watchdog's names and ARNs are
# checked as the schedule's shared definition does (apcu_clear.schedule).
_TABLE_NAME = r"^[a-zA-Z0-9_.-]{3,255}$"
_IAM_ROLE_ARN = IAM_ROLE_ARN_PATTERN
_SCHEDULE_GROUP = SCHEDULE_GROUP_PATTERN
_LAMBDA_ARN = LAMBDA_ARN_PATTERN
_SQS_ARN = SQS_ARN_PATTERN
# Slack user ids: U… for a workspace member, W… for an Enterprise Grid one (api.slack.com,
# "Users"); the same shape the stack's AlertMention parameter accepts in <@…>.
SLACK_USER_ID_PATTERN = r"^[UW][A-Z0-9]{2,20}$"


class ConfigError(Exception):
    """A setting is missing or unusable; the function cannot serve any request."""


@dataclass(frozen=True)
class Config:
    topic_arn: str
    role_arn: str
    document_name: str
    allowed_groups: frozenset[str]
    max_concurrency: str
    delivery_timeout_seconds: int
    region: str
    watchdog: WatchdogConfig
    # The CloudWatch alarm that brakes every command (apcu_clear.alarm); None: no brake.
    stop_alarm_name: str | None = None
    # The launch lifecycle hook whose warm-pool exits are cleared before they serve.
    warm_pool_hook_name: str = DEFAULT_WARM_POOL_HOOK
    # Slack app mode (SLACK_MODE, SLACK_APP_SECRET_ARN, SLACK_API_URL); webhook by default.
    slack: SlackAppSettings = field(default_factory=SlackAppSettings)
    # Who may press the app's buttons (SLACK_ALLOWED_USERS); empty: no one.
    slack_allowed_users: frozenset[str] = frozenset()

    @property
    def command_lifetime(self) -> dt.timedelta:
        """The longest a command can live: SSM ends it after the delivery timeout plus the
        document's execution timeout, counted from the request."""
        return dt.timedelta(
            seconds=self.delivery_timeout_seconds + self.watchdog.execution_timeout_seconds
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        env = os.environ if env is None else env
        return cls(
            topic_arn=_matching(env, "NOTIFICATION_TOPIC_ARN", _SNS_TOPIC_ARN, "an SNS topic ARN"),
            role_arn=_matching(env, "NOTIFICATION_ROLE_ARN", _IAM_ROLE_ARN, "an IAM role ARN"),
            document_name=_document_name(env),
            allowed_groups=_allowed_groups(env),
            max_concurrency=_max_concurrency(env),
            delivery_timeout_seconds=_delivery_timeout(env),
            region=_region(env),
            watchdog=WatchdogConfig.from_env(env),
            stop_alarm_name=stop_alarm_name(env),
            warm_pool_hook_name=_hook_name(env),
            slack=_slack(env),
            slack_allowed_users=_slack_allowed_users(env),
        )


@dataclass(frozen=True)
class WatchdogConfig:
    """Where the command record goes and what the watchdog schedule invokes."""

    commands_table: str
    group: str
    role_arn: str
    target_arn: str
    dead_letter_arn: str
    execution_timeout_seconds: int

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> WatchdogConfig:
        return cls(
            commands_table=_matching(env, "COMMANDS_TABLE", _TABLE_NAME, "a DynamoDB table name"),
            group=_matching(env, "WATCHDOG_GROUP", _SCHEDULE_GROUP, "a schedule group name"),
            role_arn=_matching(env, "WATCHDOG_ROLE_ARN", _IAM_ROLE_ARN, "an IAM role ARN"),
            target_arn=_matching(
                env, "WATCHDOG_TARGET_ARN", _LAMBDA_ARN, "the notifier's Lambda function ARN"
            ),
            dead_letter_arn=_matching(
                env, "WATCHDOG_DEAD_LETTER_ARN", _SQS_ARN, "an SQS queue ARN"
            ),
            execution_timeout_seconds=_execution_timeout(env),
        )


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set")
    return value


def _matching(env: Mapping[str, str], name: str, pattern: str, what: str) -> str:
    value = _required(env, name)
    if not re.fullmatch(pattern, value):
        raise ConfigError(f"{name} must be {what}, got {value!r}")
    return value


def _document_name(env: Mapping[str, str]) -> str:
    name = _matching(env, "DOCUMENT_NAME", _DOCUMENT_NAME_PATTERN, "an SSM document name")
    # AWS-owned documents such as AWS-RunShellScript run whatever `commands` they are given;
    # only the project's own document limits the fleet to the APCu clear. SSM reserves these
    # prefixes for its own documents, so no customer document starts with them.
    if name.lower().startswith(("aws", "amazon", "amzn")):
        raise ConfigError(
            f"DOCUMENT_NAME must name the project's own document, not the AWS-owned {name!r}"
        )
    return name


def _allowed_groups(env: Mapping[str, str]) -> frozenset[str]:
    if "ALLOWED_GROUPS" not in env:
        raise ConfigError(
            "ALLOWED_GROUPS is not set (comma-separated group names; empty allows none)"
        )
    return frozenset(name.strip() for name in env["ALLOWED_GROUPS"].split(",") if name.strip())


def _max_concurrency(env: Mapping[str, str]) -> str:
    value = env.get("MAX_CONCURRENCY", "").strip() or "50%"
    if len(value) > 7 or not re.fullmatch(MAX_CONCURRENCY_PATTERN, value):
        raise ConfigError(
            f"MAX_CONCURRENCY must be a count (e.g. 10) or a percentage (e.g. 50%), got {value!r}"
        )
    return value


def _delivery_timeout(env: Mapping[str, str]) -> int:
    raw = env.get("DELIVERY_TIMEOUT_SECONDS", "").strip() or "120"
    low, high = DELIVERY_TIMEOUT_RANGE
    if not re.fullmatch(r"[0-9]{1,8}", raw) or not low <= int(raw) <= high:
        raise ConfigError(
            f"DELIVERY_TIMEOUT_SECONDS must be a whole number of seconds from {low} to {high}, got {raw!r}"
        )
    return int(raw)


def _execution_timeout(env: Mapping[str, str]) -> int:
    raw = _required(env, "EXECUTION_TIMEOUT_SECONDS")
    low, high = EXECUTION_TIMEOUT_RANGE
    if not re.fullmatch(r"[0-9]{1,6}", raw) or not low <= int(raw) <= high:
        raise ConfigError(
            f"EXECUTION_TIMEOUT_SECONDS must be the document's timeoutSeconds, {low} to {high}, got {raw!r}"
        )
    return int(raw)


def stop_alarm_name(env: Mapping[str, str]) -> str | None:
    """STOP_ALARM_NAME, as SSM's Alarm.Name allows it (botocore SSM model: 1 to 255
    characters, not only spaces); empty means no brake."""
    name = env.get("STOP_ALARM_NAME", "").strip()
    if not name:
        return None
    if len(name) > MAX_ALARM_NAME or not name.isprintable():
        raise ConfigError(
            f"STOP_ALARM_NAME must be a CloudWatch alarm name of at most {MAX_ALARM_NAME} "
            f"printable characters, got {name[:40]!r}"
        )
    return name


def _hook_name(env: Mapping[str, str]) -> str:
    name = env.get("WARM_POOL_HOOK_NAME", "").strip() or DEFAULT_WARM_POOL_HOOK
    if not re.fullmatch(HOOK_NAME_PATTERN, name):
        raise ConfigError(
            f"WARM_POOL_HOOK_NAME must be a lifecycle hook name ({HOOK_NAME_PATTERN}), got {name[:40]!r}"
        )
    return name


def _slack(env: Mapping[str, str]) -> SlackAppSettings:
    try:
        return SlackAppSettings.from_env(env)
    except SlackAppConfigError as error:
        raise ConfigError(str(error)) from None


def _slack_allowed_users(env: Mapping[str, str]) -> frozenset[str]:
    users = frozenset(u.strip() for u in env.get("SLACK_ALLOWED_USERS", "").split(",") if u.strip())
    wrong = sorted(u for u in users if not re.fullmatch(SLACK_USER_ID_PATTERN, u))
    if wrong:
        # A name or an e-mail address would never match a press's user id: say so at init
        # rather than refuse every press of that person.
        raise ConfigError(
            "SLACK_ALLOWED_USERS must be comma-separated Slack user ids such as U0123ABCD "
            f"(not names), got {', '.join(repr(u[:40]) for u in wrong[:5])}"
        )
    return users


def _region(env: Mapping[str, str]) -> str:
    # Lambda sets AWS_REGION; AWS_DEFAULT_REGION serves local runs.
    region = env.get("AWS_REGION", "").strip() or env.get("AWS_DEFAULT_REGION", "").strip()
    if not region:
        raise ConfigError("AWS_REGION is not set")
    return region
