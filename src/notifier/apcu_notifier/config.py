"""The notifier's configuration, read once from the environment (docs/design.md, "Configuration
contract"): the settings both functions share, and what only the notifier reads."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from apcu_clear.settings import ConfigError, Settings, choice, required

__all__ = ["Config", "ConfigError", "Language"]


class Language(StrEnum):
    EN = "en"
    JA = "ja"


# Slack only notifies for its own mention syntax; "@here" typed as text notifies nobody.
_MENTION = re.compile(r"^(<(!here|!channel|!everyone|@[UW][A-Z0-9]+|!subteam\^[A-Z0-9]+)>\s*)*$")
RETRY_ROUNDS = ("0", "1", "2", "3")


@dataclass(frozen=True)
class Config:
    shared: Settings
    # Webhook mode's secret (the URL); "" in app mode, which posts with the app secret's token.
    webhook_secret_arn: str
    language: Language
    alert_mention: str
    # Whether a message may promise that the stack clears each instance leaving a warm pool.
    warm_pool_exit_clears: bool
    # What a held warm-pool clear that did not pass does: continue (serve, with an alert) or
    # abandon (Auto Scaling replaces the instance).
    warm_pool_uncleared: str
    # Automatic retry rounds of a clear's stale InService instances (RetryMissed).
    retry_rounds: int

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        env = os.environ if env is None else env
        shared = Settings.from_env(env)
        mention = env.get("ALERT_MENTION", "").strip()
        if not _MENTION.fullmatch(mention):
            raise ConfigError(
                "ALERT_MENTION must be empty or Slack mentions such as <!here>, <!channel>, "
                f"<@U012AB3CD> or <!subteam^S012AB3CD>; got {mention[:40]!r}"
            )
        return cls(
            shared=shared,
            webhook_secret_arn=""
            if shared.slack.is_app
            else required(env, "SLACK_WEBHOOK_SECRET_ARN"),
            language=Language(choice(env, "MESSAGE_LANGUAGE", tuple(Language))),
            alert_mention=mention,
            warm_pool_exit_clears=choice(env, "CLEAR_ON_WARM_POOL_EXIT", ("true", "false"))
            == "true",
            warm_pool_uncleared=choice(env, "WARM_POOL_UNCLEARED", ("continue", "abandon")),
            retry_rounds=int(choice(env, "RETRY_MISSED", RETRY_ROUNDS)),
        )
