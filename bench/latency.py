"""From SSM's final notification to the verdict in Slack.

The clear waits on a callback; SNS hands SSM's notification to the relay (an invocation of its
own), which completes the callback; Lambda invokes the clear again, which judges, records and
posts. Measured cold, as deployed: both invocations are fresh processes (bench.durable_service),
from the moment the SNS delivery starts the relay's execution to the moment the Slack stand-in
has the post. Also warm (both functions in this process), for what a busy notifier gives.
"""

from __future__ import annotations

import json
import statistics
import sys
import threading
import time
import uuid
from typing import Any

from bench.cold import Contender, Plain
from bench.cold_setup import Rows
from bench.durable_service import COLD
from harness import aws_emulator as emulator
from harness.durable_lambda import FUNCTION, PATIENCE


class PostClock:
    """When the Slack stand-in got each webhook post (looked at every 2 ms)."""

    def __init__(self, rows: Rows) -> None:
        self._posts = rows.stack.slack.webhook_posts
        self.times: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> PostClock:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        seen = len(self._posts)
        while not self._stop.is_set():
            if len(self._posts) > seen:
                self.times.extend([time.monotonic()] * (len(self._posts) - seen))
                seen = len(self._posts)
            time.sleep(0.002)


def _waiting_clear(rows: Rows) -> tuple[str, dict[str, Any]]:
    """A clear waiting on its callback, its command ended; SSM's notification of it."""
    rows.end_previous()
    clear_id = rows.clear_on_cold_alias()
    rows.stack.lambda_.waiting(clear_id, timeout=30)
    rows.recorded_callback(clear_id)
    emulator.settle_command(
        clear_id, {i: emulator.ok() for i in emulator.targeted_instances(clear_id)}
    )
    return clear_id, emulator.notification(clear_id, "Success")


def _cold_once(rows: Rows, env: dict[str, str]) -> dict[str, float]:
    clear_id, event = _waiting_clear(rows)
    argv = [sys.executable, "bench/cold_handler.py", "notifier"]
    unused = Plain(lambda: {})
    relay = Contender([*argv, rows.stack.lambda_.alias_arn], env, unused)
    resumed = Contender([*argv, rows.bridge.alias_arn], env, unused)
    name = str(uuid.uuid4())
    clear_arn = rows.stack.lambda_.arn_of(clear_id)
    relayed = rows.bridge.expect(relay.process, rows.bridge.new)
    judged = rows.bridge.expect(resumed.process, lambda arn: arn == clear_arn)
    with PostClock(rows) as clock:
        delivered = time.monotonic()
        rows.stack.lambda_.runner.run_async(
            input=json.dumps(event),
            function_name=f"{FUNCTION}:{COLD}",
            execution_name=name,
            execution_timeout=PATIENCE,
        )
        relayed.result(timeout=PATIENCE)
        answer = judged.result(timeout=PATIENCE)
        time.sleep(0.01)
    if answer.get("Status") != "SUCCEEDED" or len(clock.times) != 1:
        raise SystemExit(f"the woken clear answered {answer} after {len(clock.times)} posts")
    return {
        "post_ms": (clock.times[0] - delivered) * 1000,
        "relay_ms": relay.answers[-1] * 1000,
        "resumed_ms": resumed.answers[-1] * 1000,
    }


def _warm_once(rows: Rows) -> float:
    clear_id, event = _waiting_clear(rows)
    with PostClock(rows) as clock:
        delivered = time.monotonic()
        rows.stack.lambda_.deliver(event)
        deadline = delivered + PATIENCE
        while not clock.times and time.monotonic() < deadline:
            time.sleep(0.002)
    if not clock.times:
        raise SystemExit("no verdict posted after the notification")
    rows.stack.lambda_.outcome(clear_id)  # the clear ends before the next one starts
    time.sleep(0.1)  # and so does the relay, just after the callback it completed
    return (clock.times[0] - delivered) * 1000


def notification_to_post(rows: Rows, env: dict[str, str], runs: int) -> dict[str, Any]:
    cold = [_cold_once(rows, env) for _ in range(runs)]
    warm = [_warm_once(rows) for _ in range(runs)]
    return {
        "runs": runs,
        "cold_post_ms": round(statistics.median(c["post_ms"] for c in cold), 1),
        "cold_relay_ms": round(statistics.median(c["relay_ms"] for c in cold), 1),
        "cold_resumed_ms": round(statistics.median(c["resumed_ms"] for c in cold), 1),
        "warm_post_ms": round(statistics.median(warm), 1),
    }
