"""What the notifier works with: its configuration and its clients, built once per container
and handed to plain functions."""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from typing import TYPE_CHECKING

from apcu_clear.clients import Clients
from apcu_clear.slack_app import AppSecret, read_app_secret, read_webhook_url
from apcu_notifier.config import Config

if TYPE_CHECKING:
    from slack_sdk import WebClient


class Runtime(Clients):
    def __init__(self, config: Config) -> None:
        super().__init__(config.shared.region)
        self.config = config
        self.table = config.shared.table

    @cached_property
    def slack_web(self) -> WebClient:
        # Imported at the first post: the relay never posts to the Web API.
        from apcu_notifier.slack import web_client

        return web_client(self.config.shared.slack.api_url)

    def app_secret(self) -> AppSecret:
        return read_app_secret(self.secrets, self.config.shared.slack.secret_arn)

    def webhook_url(self) -> str:
        return read_webhook_url(self.secrets, self.config.webhook_secret_arn)

    @staticmethod
    def now() -> dt.datetime:
        return dt.datetime.now(dt.UTC)


build = Runtime
