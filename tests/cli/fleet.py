"""What the web nodes do with the commands SSM sends them, and how a test ends a clear's command.

A clear of the group (its tag target) runs until the test ends it with an outcome below; SSM's
notification of its end then reaches the clear's durable execution (harness.stack subscribes
the notifier's alias). A command to named instances, which a clear's execution sends itself (an
automatic retry round, or a retry asked for with `apcu-flush retry`), is answered as it is
sent: each instance clears, unless the test broke it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.ssm.models import ssm_backends

from harness import aws_emulator as emulator
from harness.aws_emulator import ACCOUNT_ID, REGION, InvocationResult
from harness.stack import GROUP

# A web node with APCu off in php-fpm: apcu.php answers 503, curl exits 22.
APCU_OFF = InvocationResult(
    status="Failed",
    stderr="curl: (22) The requested URL returned error: 503\nfailed to run commands: exit status 22",
    response_code=22,
)
# opcache.php's scripts per node, about a Laravel application's.
SCRIPTS = 4000


def _action(command_id: str) -> str:
    parameters = _command(command_id).parameters or {}
    return str((parameters.get("action") or ["clear-apcu"])[0])


def _to_the_group(command_id: str) -> bool:
    return bool(_command(command_id).targets)


def _command(command_id: str) -> Any:
    return ssm_backends[ACCOUNT_ID][REGION].get_command_by_id(command_id)


def done(action: str, n: int, *, caveats: tuple[str, ...] = ()) -> InvocationResult:
    """What the n-th node's invocation prints when the action took."""
    host = f"ip-10-0-{n}-10"
    if action == "reset-opcache":
        return emulator.opcache_reset(scripts=SCRIPTS, host=host, caveats=caveats)
    if action == "clear-all":
        return emulator.cleared_and_reset(cleared=100 + n, scripts=SCRIPTS, host=host)
    return emulator.ok(cleared=100 + n, host=host)


@dataclass
class Fleet:
    """SSM's answer to each SendCommand (harness.aws_emulator.fleet_answers)."""

    # Nodes that answer every command this way, whatever is sent to them and however often.
    broken: dict[str, InvocationResult] = field(default_factory=dict)
    sent: list[tuple[str, list[str]]] = field(default_factory=list)

    def __call__(
        self, command_id: str, instance_ids: list[str]
    ) -> dict[str, InvocationResult] | None:
        self.sent.append((command_id, list(instance_ids)))
        if _to_the_group(command_id):
            return None
        return self.results(command_id, instance_ids)

    def results(self, command_id: str, instance_ids: list[str]) -> dict[str, InvocationResult]:
        action = _action(command_id)
        return {
            instance_id: self.broken.get(instance_id) or done(action, n)
            for n, instance_id in enumerate(sorted(instance_ids))
        }

    def sent_to(self, instance_id: str) -> list[str]:
        """The commands sent to this node, in order."""
        return [command for command, ids in self.sent if instance_id in ids]


# How a group's command ends; the clear's verdict follows from it.
Outcome = Callable[[Fleet, str], None]


def every_node_clears(fleet: Fleet, command_id: str) -> None:
    targets = emulator.targeted_instances(command_id)
    emulator.settle_command(command_id, fleet.results(command_id, targets))


def one_node_has_apcu_off(fleet: Fleet, command_id: str) -> None:
    """The first node answers 503, to this command and to any retry of it: an alert."""
    targets = sorted(emulator.targeted_instances(command_id))
    fleet.broken[targets[0]] = APCU_OFF
    emulator.settle_command(command_id, fleet.results(command_id, targets), status="Failed")


def the_group_scales_out(fleet: Fleet, command_id: str) -> None:
    """A scale-out begins while the command runs: the group expects one node more than the
    command targeted."""
    targets = emulator.targeted_instances(command_id)
    emulator.set_desired_capacity(GROUP, len(targets) + 1)
    every_node_clears(fleet, command_id)


def one_node_keeps_preloaded_scripts(fleet: Fleet, command_id: str) -> None:
    """reset-opcache: every restart took, but the first node's preloaded scripts stay until
    php-fpm reloads (old code may still run there), after any retry too."""
    targets = sorted(emulator.targeted_instances(command_id))
    fleet.broken[targets[0]] = done("reset-opcache", 0, caveats=("preload",))
    emulator.settle_command(command_id, fleet.results(command_id, targets))


# The verdict each outcome leads to, by the name the tests use.
OUTCOMES: dict[str, Outcome] = {
    "ok": every_node_clears,
    "failed": one_node_has_apcu_off,
    "mismatch": the_group_scales_out,
    "old code": one_node_keeps_preloaded_scripts,
}
