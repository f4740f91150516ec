"""The notifier's configuration, read once from the environment (docs/design.md, "Configuration contract")."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from apcu_clear.schedule import IAM_ROLE_ARN_PATTERN, SCHEDULE_GROUP_PATTERN, SQS_ARN_PATTERN
from apcu_clear.slack_app import SlackAppConfigError, SlackAppSettings


class ConfigError(ValueError):
    """The environment does not describe a usable notifier; raised before any event is handled."""


class Language(StrEnum):
    EN = "en"
    JA = "ja"


# Slack only notifies for its own mention syntax; "@here" typed as text notifies nobody, so a
# mention that is not in this form is a configuration mistake worth failing on.
_MENTION = re.compile(r"^(<(!here|!channel|!everyone|@[UW][A-Z0-9]+|!subteam\^[A-Z0-9]+)>\s*)*$")


@dataclass(frozen=True)
class Config:
    slack_webhook_secret_arn: str
    region: str
    language: Language = Language.EN
    alert_mention: str = ""
    # The command record, which also keeps each verdict to one post; unset disables both.
    commands_table: str | None = None
    # Where the notifier arms a follow-up watchdog for a command still running past its
    # expiry; unset (tests, a local run without it) arms none.
    watchdog: WatchdogSettings | None = None
    # Whether the stack clears each instance as it leaves a warm pool (ClearOnWarmPoolExit):
    # what the message may promise about a group whose warm pool is Hibernated.
    warm_pool_exit_clears: bool = True
    # What to do with an instance held by the launch lifecycle hook whose clear did not pass
    # (WarmPoolUncleared): "continue" lets it serve anyway and alerts, "abandon" has Auto
    # Scaling replace it.
    warm_pool_uncleared: str = "continue"
    # The stack's SSM document: the only one whose commands the notifier re-sends; unset
    # (a local run without it) re-sends nothing.
    document_name: str = ""
    # Automatic retry rounds of a clear's stale InService instances (RetryMissed, 0 to 3).
    retry_missed: int = 1
    # The stop alarm: while it is in ALARM, an automatic retry waits instead of sending.
    stop_alarm_name: str = ""
    # SLACK_MODE, SLACK_APP_SECRET_ARN, SLACK_API_URL: webhook (the default) or app mode.
    slack: SlackAppSettings = field(default_factory=SlackAppSettings)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        env = os.environ if env is None else env
        try:
            slack = SlackAppSettings.from_env(env)
        except SlackAppConfigError as error:
            raise ConfigError(str(error)) from None
        secret_arn = env.get("SLACK_WEBHOOK_SECRET_ARN", "").strip()
        # App mode posts with the bot token of the app secret; the webhook is not read.
        if not secret_arn and not slack.is_app:
            raise ConfigError(
                "SLACK_WEBHOOK_SECRET_ARN is not set: the notifier cannot reach Slack."
            )
        region = (env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "").strip()
        if not region:
            raise ConfigError("AWS_REGION is not set.")
        raw_language = env.get("MESSAGE_LANGUAGE", "").strip().lower() or Language.EN.value
        try:
            language = Language(raw_language)
        except ValueError:
            choices = ", ".join(item.value for item in Language)
            raise ConfigError(
                f"MESSAGE_LANGUAGE is {raw_language!r}; expected one of: {choices}."
            ) from None
        mention = env.get("ALERT_MENTION", "").strip()
        if not _MENTION.fullmatch(mention):
            raise ConfigError(
                "ALERT_MENTION must be empty or Slack mentions such as <!here>, <!channel>, "
                f"<@U012AB3CD> or <!subteam^S012AB3CD>; got {mention!r}."
            )
        raw_clears = env.get("CLEAR_ON_WARM_POOL_EXIT", "").strip().lower() or "true"
        if raw_clears not in {"true", "false"}:
            raise ConfigError(f"CLEAR_ON_WARM_POOL_EXIT is {raw_clears!r}; expected true or false.")
        uncleared = env.get("WARM_POOL_UNCLEARED", "").strip().lower() or "continue"
        if uncleared not in {"continue", "abandon"}:
            raise ConfigError(
                f"WARM_POOL_UNCLEARED is {uncleared!r}; expected continue or abandon."
            )
        raw_rounds = env.get("RETRY_MISSED", "").strip() or "1"
        if raw_rounds not in {"0", "1", "2", "3"}:
            raise ConfigError(f"RETRY_MISSED is {raw_rounds!r}; expected 0, 1, 2 or 3.")
        table = env.get("COMMANDS_TABLE", "").strip() or None
        watchdog = WatchdogSettings.from_env(env)
        if watchdog is not None and table is None:
            # The record keeps the stuck alert and the verdict to one post each; follow-ups
            # without it could post a verdict SNS brings too.
            raise ConfigError(
                "WATCHDOG_GROUP and the other watchdog variables need COMMANDS_TABLE."
            )
        return cls(
            slack_webhook_secret_arn=secret_arn,
            region=region,
            language=language,
            alert_mention=mention,
            commands_table=table,
            watchdog=watchdog,
            warm_pool_exit_clears=raw_clears == "true",
            warm_pool_uncleared=uncleared,
            document_name=env.get("DOCUMENT_NAME", "").strip(),
            retry_missed=int(raw_rounds),
            stop_alarm_name=env.get("STOP_ALARM_NAME", "").strip(),
            slack=slack,
        )


# The follow-up schedule's target is the notifier itself: its ARN comes from the invocation's
# context (the template cannot pass a function its own ARN without a circular reference).
_WATCHDOG_VARIABLES = {
    "WATCHDOG_GROUP": (SCHEDULE_GROUP_PATTERN, "a schedule group name"),
    "WATCHDOG_ROLE_ARN": (IAM_ROLE_ARN_PATTERN, "an IAM role ARN"),
    "WATCHDOG_DEAD_LETTER_ARN": (SQS_ARN_PATTERN, "an SQS queue ARN"),
}


@dataclass(frozen=True)
class WatchdogSettings:
    group: str
    role_arn: str
    dead_letter_arn: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> WatchdogSettings | None:
        """All three variables, or none (no follow-ups); anything between is a mistake."""
        values = {name: env.get(name, "").strip() for name in _WATCHDOG_VARIABLES}
        missing = [name for name, value in values.items() if not value]
        if len(missing) == len(values):
            return None
        if missing:
            raise ConfigError(
                f"{', '.join(missing)} not set: the watchdog variables go together "
                f"({', '.join(_WATCHDOG_VARIABLES)}), all set or none."
            )
        for name, (pattern, what) in _WATCHDOG_VARIABLES.items():
            if not re.fullmatch(pattern, values[name]):
                raise ConfigError(f"{name} must be {what}, got {values[name]!r}.")
        return cls(
            group=values["WATCHDOG_GROUP"],
            role_arn=values["WATCHDOG_ROLE_ARN"],
            dead_letter_arn=values["WATCHDOG_DEAD_LETTER_ARN"],
        )
