"""The settings both functions read from their environment when the container starts: where
clears are recorded, what a command carries, which groups the stack serves, how Slack is
reached. A missing or unusable variable fails the start, loudly and once, with its name.
The template sets every one of them (docs/design.md, "Configuration contract")."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from apcu_clear.command import CommandSettings
from apcu_clear.slack_app import SlackAppConfigError, SlackAppSettings

MAX_CONCURRENCY_PATTERN = r"^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$"
DELIVERY_TIMEOUT_RANGE = (30, 2_592_000)
EXECUTION_TIMEOUT_RANGE = (1, 172_800)
MAX_ALARM_NAME = 255
_DOCUMENT_NAME = r"^[a-zA-Z0-9_\-.]{3,128}$"
_TABLE_NAME = r"^[a-zA-Z0-9_.-]{3,255}$"


class ConfigError(ValueError):
    """A setting is missing or unusable: the function cannot serve anything."""


@dataclass(frozen=True)
class Settings:
    region: str
    table: str
    allowed_groups: frozenset[str]
    commands: CommandSettings
    slack: SlackAppSettings

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        try:
            slack = SlackAppSettings.from_env(env)
        except SlackAppConfigError as error:
            raise ConfigError(str(error)) from None
        if "ALLOWED_GROUPS" not in env:
            raise ConfigError(
                "ALLOWED_GROUPS is not set (comma-separated group names; empty allows none)"
            )
        return cls(
            region=required(env, "AWS_REGION"),
            table=matching(env, "COMMANDS_TABLE", _TABLE_NAME, "a DynamoDB table name"),
            allowed_groups=frozenset(
                g.strip() for g in env["ALLOWED_GROUPS"].split(",") if g.strip()
            ),
            commands=CommandSettings(
                document_name=_document_name(env),
                delivery_timeout_seconds=whole(
                    env, "DELIVERY_TIMEOUT_SECONDS", DELIVERY_TIMEOUT_RANGE
                ),
                execution_timeout_seconds=whole(
                    env, "EXECUTION_TIMEOUT_SECONDS", EXECUTION_TIMEOUT_RANGE
                ),
                max_concurrency=matching(
                    env,
                    "MAX_CONCURRENCY",
                    MAX_CONCURRENCY_PATTERN,
                    "a count (10) or a percentage (50%)",
                ),
                stop_alarm_name=_stop_alarm(env),
            ),
            slack=slack,
        )


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


def _document_name(env: Mapping[str, str]) -> str:
    name = matching(env, "DOCUMENT_NAME", _DOCUMENT_NAME, "an SSM document name")
    if name.lower().startswith(("aws", "amazon", "amzn")):
        raise ConfigError(
            f"DOCUMENT_NAME must name the stack's own document, not the AWS-owned {name!r}"
        )
    return name


def _stop_alarm(env: Mapping[str, str]) -> str:
    """STOP_ALARM_NAME as SSM's Alarm.Name allows it (1 to 255 characters); empty: no brake."""
    name = env.get("STOP_ALARM_NAME", "").strip()
    if len(name) > MAX_ALARM_NAME or not name.isprintable():
        raise ConfigError(
            f"STOP_ALARM_NAME must be a CloudWatch alarm name of at most {MAX_ALARM_NAME} "
            f"printable characters, got {name[:40]!r}"
        )
    return name
