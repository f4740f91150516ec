"""The notifier's configuration, read once from the environment (docs/design.md, "Configuration
contract"), and its runtime: the configuration and the clients, built once per container."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apcu_clear.clients import Clients
from apcu_clear.settings import ConfigError, Settings, choice, required
from apcu_clear.slack_app import AppSecret, read_app_secret, read_webhook_url

if TYPE_CHECKING:
    from slack_sdk import WebClient

__all__ = ["Config", "ConfigError", "Language", "Runtime"]


class Language(StrEnum):
    EN = "en"
    JA = "ja"


# Slack only notifies for its own mention syntax; "@here" typed as text notifies nobody.
_MENTION = re.compile(r"^(<(!here|!channel|!everyone|@[UW][A-Z0-9]+|!subteam\^[A-Z0-9]+)>\s*)*$")
RETRY_ROUNDS = ("0", "1", "2", "3")


@dataclass(frozen=True)
class Config:
    """The notifier's variables, each as docs/design.md's "Configuration contract" defines it."""

    shared: Settings
    webhook_secret_arn: str
    language: Language
    alert_mention: str
    warm_pool_exit_clears: bool
    warm_pool_uncleared: str
    retry_rounds: int
    time_zone: dt.tzinfo
    docs_url: str

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
        webhook = "" if shared.slack.is_app else required(env, "SLACK_WEBHOOK_SECRET_ARN")
        exit_clears = choice(env, "CLEAR_ON_WARM_POOL_EXIT", ("true", "false")) == "true"
        return cls(
            shared=shared,
            webhook_secret_arn=webhook,
            language=Language(choice(env, "MESSAGE_LANGUAGE", tuple(Language))),
            alert_mention=mention,
            warm_pool_exit_clears=exit_clears,
            warm_pool_uncleared=choice(env, "WARM_POOL_UNCLEARED", ("continue", "abandon")),
            retry_rounds=int(choice(env, "RETRY_MISSED", RETRY_ROUNDS)),
            time_zone=_time_zone(required(env, "MESSAGE_TIME_ZONE")),
            docs_url=_docs_url(required(env, "DOCS_URL")),
        )


def _time_zone(name: str) -> dt.tzinfo:
    """An IANA zone name from the system's tz database, else from python-dateutil's copy (botocore
    needs it): Lambda's python3.13 runtime, on Amazon Linux 2023 minimal, may have no database."""
    if name == "UTC":
        return dt.UTC  # the template's default needs no database
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        # Imported only here: it opens dateutil's zone tarball, a cost to every cold start.
        from dateutil.zoneinfo import get_zonefile_instance

        zone = get_zonefile_instance().get(name)
    except (ValueError, OSError):
        # OSError: a folder of the database ("America"); ValueError: not a key ("../etc").
        zone = None
    if zone is None:
        raise ConfigError(
            f"MESSAGE_TIME_ZONE must be an IANA time zone name such as UTC or Asia/Tokyo, "
            f"got {name[:60]!r}"
        )
    return zone


def _docs_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(
            "DOCS_URL must be the https address of the repository whose docs the messages link "
            f"to, such as https://github.com/apcu-fleet-flush/apcu-fleet-flush; got {url[:80]!r}"
        )
    return url.rstrip("/")


class Runtime(Clients):
    def __init__(self, config: Config) -> None:
        super().__init__(config.shared)
        self.config = config

    @cached_property
    def slack_web(self) -> WebClient:
        # Imported at the first post: the relay never posts to the Web API.
        from apcu_notifier.slack import web_client

        return web_client(self.config.shared.slack.api_url)

    def app_secret(self) -> AppSecret:
        return read_app_secret(self.secrets, self.config.shared.slack.secret_arn)

    def webhook_url(self) -> str:
        return read_webhook_url(self.secrets, self.config.webhook_secret_arn)
