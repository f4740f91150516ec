"""What the dispatcher works with: its configuration and its clients, built once per container."""

from __future__ import annotations

from apcu_clear.clients import Clients
from apcu_dispatcher.config import Config


class Runtime(Clients):
    def __init__(self, config: Config) -> None:
        super().__init__(config.shared)
        self.config = config
