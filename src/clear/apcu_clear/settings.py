"""The settings both functions read when the container starts: a missing or unusable variable
fails the start, once, with its name (docs/design.md, Configuration contract)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from apcu_clear.command import CommandSettings

SLACK_MODES = ("webhook", "app")
MAX_ALARM_NAME = 255
_TABLE_NAME = r"^[a-zA-Z0-9_.-]{3,255}$"
_DOCUMENT_NAME = r"^[a-zA-Z0-9_\-.]{3,128}$"
_CONCURRENCY = r"^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$"


class ConfigError(ValueError):
    """A setting is missing or unusable: the function cannot serve anything."""


@dataclass(frozen=True)
class SlackAppSettings:
    mode: str
    # App mode's secret: the bot token, the signing secret and the channel.
    secret_arn: str
    # The Web API's base URL, ending in "/": slack_sdk joins the method name to it as is.
    api_url: str

    @property
    def is_app(self) -> bool:
        return self.mode == "app"


@dataclass(frozen=True)
class Settings:
    region: str
    table: str
    allowed_groups: frozenset[str]
    commands: CommandSettings
    slack: SlackAppSettings

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        slack = _slack(env)
        if "ALLOWED_GROUPS" not in env:
            why = "ALLOWED_GROUPS is not set (comma-separated group names; empty allows none)"
            raise ConfigError(why)
        region = required(env, "AWS_REGION")
        table = matching(env, "COMMANDS_TABLE", _TABLE_NAME, "a DynamoDB table name")
        groups = frozenset(g.strip() for g in env["ALLOWED_GROUPS"].split(",") if g.strip())
        document = matching(env, "DOCUMENT_NAME", _DOCUMENT_NAME, "an SSM document name")
        if document.lower().startswith(("aws", "amazon", "amzn")):
            why = (
                f"DOCUMENT_NAME must name the stack's own document, not the AWS-owned {document!r}"
            )
            raise ConfigError(why)
        delivery = whole(env, "DELIVERY_TIMEOUT_SECONDS", (30, 2_592_000))
        execution = whole(env, "EXECUTION_TIMEOUT_SECONDS", (1, 172_800))
        concurrency_is = "a count (10) or a percentage (50%)"
        concurrency = matching(env, "MAX_CONCURRENCY", _CONCURRENCY, concurrency_is)
        # As SSM's Alarm.Name allows it (1 to 255 characters); empty: no brake.
        alarm = env.get("STOP_ALARM_NAME", "").strip()
        if len(alarm) > MAX_ALARM_NAME or not alarm.isprintable():
            why = f"STOP_ALARM_NAME must be a CloudWatch alarm name of at most {MAX_ALARM_NAME} printable characters, got {alarm[:40]!r}"
            raise ConfigError(why)
        commands = CommandSettings(document, delivery, execution, concurrency, alarm)
        return cls(region, table, groups, commands, slack)


def required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"{name} is not set")
    return value


def matching(env: Mapping[str, str], name: str, pattern: str, what: str) -> str:
    """The variable's value; empty only where `pattern` allows it (an optional setting)."""
    if name not in env:
        raise ConfigError(f"{name} is not set")
    value = env[name].strip()
    if not re.fullmatch(pattern, value):
        raise ConfigError(f"{name} must be {what}, got {value[:80]!r}")
    return value


def choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    value = required(env, name).lower()
    if value not in choices:
        raise ConfigError(f"{name} is {value[:40]!r}; expected one of: {', '.join(choices)}")
    return value


def whole(env: Mapping[str, str], name: str, bounds: tuple[int, int]) -> int:
    raw = required(env, name)
    low, high = bounds
    if not re.fullmatch(r"[0-9]{1,10}", raw) or not low <= int(raw) <= high:
        raise ConfigError(f"{name} must be a whole number from {low} to {high}, got {raw[:20]!r}")
    return int(raw)


def _slack(env: Mapping[str, str]) -> SlackAppSettings:
    mode = env.get("SLACK_MODE", "").strip().lower() or "webhook"
    if mode not in SLACK_MODES:
        raise ConfigError(f"SLACK_MODE is {mode!r}; expected {' or '.join(SLACK_MODES)}.")
    secret_arn = env.get("SLACK_APP_SECRET_ARN", "").strip()
    if mode == "app" and not secret_arn:
        why = "SLACK_MODE is app but SLACK_APP_SECRET_ARN is not set: app mode needs the secret holding the bot token, the signing secret and the channel."
        raise ConfigError(why)
    api_url = env.get("SLACK_API_URL", "").strip() or "https://slack.com/api/"
    parts = urlsplit(api_url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(f"SLACK_API_URL must be an http(s) URL with a host, got {api_url!r}.")
    return SlackAppSettings(mode, secret_arn, api_url if api_url.endswith("/") else api_url + "/")
