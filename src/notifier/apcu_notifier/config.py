"""The notifier's configuration, read once from the environment (docs/design.md, "Configuration contract")."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


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

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        env = os.environ if env is None else env
        secret_arn = env.get("SLACK_WEBHOOK_SECRET_ARN", "").strip()
        if not secret_arn:
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
        table = env.get("COMMANDS_TABLE", "").strip() or None
        return cls(
            slack_webhook_secret_arn=secret_arn,
            region=region,
            language=language,
            alert_mention=mention,
            commands_table=table,
        )
