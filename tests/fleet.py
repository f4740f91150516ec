"""How the fleet answers the commands a test sends: per instance, one result per attempt."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from harness import aws_emulator
from harness.aws_emulator import InvocationResult, ok

DELIVERY_TIMED_OUT = InvocationResult("TimedOut", "DeliveryTimedOut")
UNDELIVERABLE = InvocationResult("Failed", "Undeliverable")
ACCESS_DENIED = InvocationResult("Failed", "Access Denied")
CANCELLED = InvocationResult("Cancelled", "Cancelled")


def failed(
    stderr: str = "curl: (7) Failed to connect to 127.0.0.1 port 8099: Connection refused",
) -> InvocationResult:
    return InvocationResult("Failed", "Failed", stderr=stderr, response_code=7)


@dataclass
class Fleet:
    """Each instance answers its n-th command with the n-th result given for it, then with its
    last one; an instance given nothing answers `default`. A command is answered as it is sent,
    and SSM's notification of its end follows at once (harness.stack subscribes the relay)."""

    answers: Mapping[str, Sequence[InvocationResult]] = field(default_factory=dict)
    default: InvocationResult = field(default_factory=lambda: ok(12))
    # Instances that never answer (their agent never takes the command): left out of the
    # command's invocations, as an unmanaged instance is.
    silent: frozenset[str] = frozenset()
    sent: list[tuple[str, list[str]]] = field(default_factory=list)
    _seen: dict[str, int] = field(default_factory=dict)

    def __call__(self, command_id: str, instance_ids: list[str]) -> dict[str, InvocationResult]:
        self.sent.append((command_id, list(instance_ids)))
        results = {}
        for instance_id in instance_ids:
            if instance_id in self.silent:
                continue
            n = self._seen.get(instance_id, 0)
            self._seen[instance_id] = n + 1
            given = self.answers.get(instance_id) or [self.default]
            results[instance_id] = given[min(n, len(given) - 1)]
        return results

    def serve(self) -> Fleet:
        aws_emulator.fleet_answers(self)
        return self

    def commands_to(self, instance_id: str) -> int:
        return sum(1 for _, ids in self.sent if instance_id in ids)
