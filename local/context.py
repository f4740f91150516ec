"""What a scenario works with: the deployed stack, the embedded AWS, the Slack stand-in, and the
console it prints to."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from harness.slack_web_api import SlackWebApi
from harness.stack import Stack
from local.console import Console
from local.embedded_aws import EmbeddedAws


class ScenarioFailed(Exception):
    """The scenario did not end as it should: the demo exits 1 and says why."""


@dataclass
class Demo:
    stack: Stack
    aws: EmbeddedAws
    slack: SlackWebApi
    console: Console
    out: Path
    mode: str  # webhook or app
    # Every command SSM was sent, and to which instances, in order (local.fleet.FleetAnswers).
    sent: list[tuple[str, list[str]]] = field(default_factory=list)
    # A launch the lifecycle hook holds: the instance and the action's token.
    held: tuple[str, str] | None = None

    @property
    def is_app(self) -> bool:
        return self.mode == "app"

    def commands(self) -> list[dict[str, object]]:
        """The commands SSM has, newest first."""
        listed: list[dict[str, object]] = self.aws.client("ssm").list_commands()["Commands"]
        return listed
