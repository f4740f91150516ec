"""What one clear costs, start to end, with both functions in this process as deployed
(harness.stack.Stack, the relay subscribed to SSM's notifications): an ok clear, and a clear
whose first command leaves one instance stale (DeliveryTimedOut) and whose automatic retry round
clears it.

Per clear: the notifier's invocations (the clear's own, of which replays, and the relay's, one
per SSM notification), durable operations (steps, waits, callbacks: from each execution's
history), AWS calls (botocore's event hooks, and the checkpoints the runner took), and the bill:
Lambda requests, GB-seconds at the template's memory, durable operations (bench.pricing). Each
invocation is billed here at the longer of its wall time and its CPU time at Lambda's share of a
vCPU: these runs are warm, on this machine's cores.
"""

from __future__ import annotations

import contextlib
import io
import time
from typing import Any

from bench import pricing
from bench.watch import Watch
from harness import aws_emulator as emulator
from harness.aws_emulator import InvocationResult
from harness.stack import GROUP, Stack

ONE_VCPU_MB = 1769  # Lambda: one vCPU at 1,769 MB, in proportion below it
STALE = InvocationResult(status="TimedOut", status_details="DeliveryTimedOut")

Results = dict[str, InvocationResult]


class Fleet:
    """How the instances answer: the first command's answers are kept until the clear waits
    for it (SSM's notification comes minutes after a clear starts, never before it waits); a
    later command (a retry) is answered at once, within the clear's first look at it."""

    def __init__(self, *, first_misses_one: bool) -> None:
        self.first_misses_one = first_misses_one
        self.first: tuple[str, Results] | None = None

    def __call__(self, command_id: str, ids: list[str]) -> Results | None:
        results = {i: emulator.ok() for i in ids}
        if self.first is not None:
            return results
        if self.first_misses_one:
            results[sorted(ids)[-1]] = STALE
        self.first = (command_id, results)
        return None

    def end_first(self) -> None:
        assert self.first is not None, "no command was sent"
        command_id, results = self.first
        timed_out = any(r.status == "TimedOut" for r in results.values())
        emulator.settle_command(command_id, results, status="TimedOut" if timed_out else "Success")


def billed_seconds(wall_s: float, cpu_s: float, memory_mb: int) -> float:
    return max(wall_s, cpu_s / (min(memory_mb, ONE_VCPU_MB) / ONE_VCPU_MB))


def one_clear(
    stack: Stack, watch: Watch, fleet: Fleet, memory_mb: int, retention_days: int
) -> dict[str, Any]:
    emulator.fleet_answers(fleet)
    emulator.subscribe(stack.lambda_.deliver)
    posts_before = len(stack.slack.webhook_posts)
    watch.reset()
    wall, cpu = time.perf_counter(), time.thread_time()
    with contextlib.redirect_stdout(io.StringIO()):
        clear_id = stack.clear()
    dispatcher_s = billed_seconds(time.perf_counter() - wall, time.thread_time() - cpu, memory_mb)
    stack.lambda_.waiting(clear_id, timeout=30)
    fleet.end_first()  # SSM notifies; SNS hands it to the relay
    outcome = stack.outcome(clear_id)
    elapsed = time.perf_counter() - wall
    time.sleep(0.2)  # the last relay's execution ends just after the callback it completed
    clear_arn = stack.lambda_.arn_of(clear_id)
    relays = {i.arn for i in watch.invocations} - {clear_arn}
    own = watch.of({clear_arn})
    operations = stack.lambda_.operations(clear_arn)
    relay_operations = sum(stack.lambda_.operations(arn) for arn in relays)
    seconds = dispatcher_s + sum(
        billed_seconds(i.wall_s, i.cpu_s, memory_mb) for i in watch.invocations
    )
    gb_seconds = seconds * memory_mb / 1024
    written = sum(watch.written.values())
    usage = pricing.Usage(
        requests=1 + len(watch.invocations),
        gb_seconds=gb_seconds,
        durable_operations=operations + relay_operations,
        written_bytes=written,
        retention_days=retention_days,
    )
    cost = pricing.cost(usage)
    return {
        "verdict": outcome.get("verdict"),
        "posts": len(stack.slack.webhook_posts) - posts_before,
        "wall_ms": round(elapsed * 1000, 1),
        "clear_invocations": len(own),
        "replays": max(len(own) - 1, 0),
        "relay_invocations": len(relays),
        "operations": operations,
        "relay_operations": relay_operations,
        "calls": {
            "dispatcher": dict(sorted(watch.dispatcher.items())),
            "notifier": dict(sorted(watch.notifier.items())),
            "checkpoints": sum(watch.checkpoints.values()),
        },
        "written_bytes": written,
        "gb_seconds": round(gb_seconds, 4),
        "usd": {
            "requests": cost.requests,
            "duration": cost.duration,
            "operations": cost.operations,
            "total": cost.total,
            "data_bound": cost.data_bound,
        },
    }


def per_clear(stack: Stack, watch: Watch, memory_mb: int, retention_days: int) -> dict[str, Any]:
    # Settings as deployed: the in-process functions start clears on the live alias.
    results = {
        "ok": one_clear(stack, watch, Fleet(first_misses_one=False), memory_mb, retention_days),
        "ok after one retry round": one_clear(
            stack, watch, Fleet(first_misses_one=True), memory_mb, retention_days
        ),
    }
    emulator.fleet_answers(None)
    emulator.subscribe(None)
    return {"group": GROUP, "memory_mb": memory_mb, "clears": results}
