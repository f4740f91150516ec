"""Polling the status route until the command is judged, with a capped backoff."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from apcu_flush import render, throttle
from apcu_flush.api import Reply
from apcu_flush.exits import CliError, Exit

# A clear takes seconds to minutes: poll soon, then less often, never more than every 15 s.
# Every waiting pipeline shares the API's throttle (1 request/s as deployed), so a wait costs
# at most one read per 15 s once it has lasted a minute.
FIRST_DELAY = 2.0
FACTOR = 1.5
MAX_DELAY = 15.0
# Pipelines started by the same push would otherwise poll in step.
JITTER = 0.25
# A network blip or a 5xx while waiting is retried this many times in a row before giving up:
# the command runs on whether or not this process can see it.
MAX_TRANSIENT_FAILURES = 3


def delays(
    first: float = FIRST_DELAY, factor: float = FACTOR, cap: float = MAX_DELAY
) -> Iterator[float]:
    """Growing pauses between polls, with jitter so that many pipelines spread out."""
    delay = first
    while True:
        yield min(cap, delay * random.uniform(1 - JITTER, 1 + JITTER))  # noqa: S311 (jitter)
        delay = min(cap, delay * factor)


@dataclass
class Waiting:
    """What the caller sees while waiting; `last` is the newest status body."""

    command_id: str
    started: float
    last: dict[str, Any] | None = None


Poll = Callable[[], Reply]
Observer = Callable[[Waiting], None]
Sleeper = Callable[[float, Waiting], None]


def wait_for_verdict(
    poll: Poll,
    waiting: Waiting,
    *,
    timeout: float,
    observe: Observer,
    sleep: Sleeper,
    clock: Callable[[], float] = time.monotonic,
    pauses: Iterator[float] | None = None,
    scale: float = 1.0,
    notice: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """The judged status body, or CliError: REFUSED (4xx), TIMED_OUT, FAILED (the clear failed,
    5xx, network, or throttled up to the deadline)."""
    deadline = waiting.started + timeout
    pauses = pauses if pauses is not None else delays()
    patience = throttle.Patience(
        deadline, clock=clock, sleep=lambda s: sleep(s, waiting), scale=scale, notice=notice
    )
    failures = 0
    while True:
        try:
            reply = throttle.send(
                poll,
                patience,
                what="the status reads",
                then=f"command {waiting.command_id} runs on: "
                f"apcu-flush status {waiting.command_id} --wait",
                body={"commandId": waiting.command_id, "last": waiting.last},
            )
        except throttle.Throttled:
            raise
        except CliError as error:
            if error.exit is not Exit.FAILED:
                raise
            problem: CliError | None = error
        else:
            problem = _transient(reply)
            if problem is None:
                failures = 0
                if reply.status >= 400:
                    raise refusal(reply)
                if reply.body.get("state") == "failed":
                    raise failed(reply.body)
                waiting.last = reply.body
                observe(waiting)
                if reply.body.get("state") == "judged":
                    return reply.body
        if problem is not None:
            failures += 1
            if failures >= MAX_TRANSIENT_FAILURES:
                raise problem
        remaining = deadline - clock()
        if remaining <= 0:
            raise CliError(
                Exit.TIMED_OUT,
                f"no verdict after {timeout:g}s; command {waiting.command_id} may still be running",
                {
                    "error": {"kind": "timed-out", "message": f"no verdict after {timeout:g}s"},
                    "commandId": waiting.command_id,
                    "last": waiting.last,
                },
            )
        sleep(min(next(pauses) * scale, remaining), waiting)


def refusal(reply: Reply) -> CliError:
    """A 4xx: the API refused the request and says why."""
    lines = render.refused(reply.status, reply.body, reply.message)
    return CliError(Exit.REFUSED, "\n".join(lines), reply.body)


def failed(body: Mapping[str, Any]) -> CliError:
    """The clear's execution failed before its verdict (state `failed`): no verdict will come,
    and nothing is known of the caches. Exit 4, as for a server error."""
    reason = body.get("failure") or "no reason recorded"
    return CliError(
        Exit.FAILED,
        f"clear {body.get('commandId')} failed before its verdict ({reason}); its group was "
        "freed: look at the command in the Run Command console, then clear again",
        body,
    )


def _transient(reply: Reply) -> CliError | None:
    """A server error, worth another poll; None for an answer to act on."""
    if reply.status >= 500:
        return CliError(
            Exit.FAILED, f"the API answered {reply.status}: {reply.message}", reply.body
        )
    return None
