"""API Gateway's 429, waited out: the API's throttle is shared by every caller.

The HTTP API throttles its routes together for all callers (template.yaml, FlushApi
DefaultRouteSettings), so a few pipelines at once get 429s that no call of theirs caused. API
Gateway answers a 429 before the function runs, so nothing was sent and the same request may
be sent again, POST included; the developer guide ("Throttling requests to your HTTP API")
asks clients to resubmit "in a way that is rate limiting". Pauses grow exponentially with full
jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"): callers throttled together
come back at different moments instead of all at once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from apcu_flush.api import Reply
from apcu_flush.exits import CliError, Exit

THROTTLED = 429
FIRST_BACKOFF = 1.0
MAX_BACKOFF = 20.0


def backoff(first: float = FIRST_BACKOFF, cap: float = MAX_BACKOFF) -> Iterator[float]:
    """Full jitter: each pause anywhere between 0 and a ceiling that doubles up to `cap`."""
    ceiling = first
    while True:
        yield random.uniform(0, ceiling)  # noqa: S311 (jitter, not a secret)
        ceiling = min(cap, ceiling * 2)


class Throttled(CliError):
    """The API throttled a request until the deadline: exit 4, nothing is known."""

    def __init__(self, message: str, body: Mapping[str, Any]) -> None:
        super().__init__(Exit.FAILED, message, body)


@dataclass
class Patience:
    """How long to keep resending a throttled request, and how to wait between tries."""

    deadline: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    scale: float = 1.0  # shortens every pause; for tests only (the hidden --pause-scale)
    notice: Callable[[str], None] = lambda _: None
    noticed: bool = field(default=False, init=False)


def send(
    request: Callable[[], Reply],
    patience: Patience,
    *,
    what: str,
    then: str,
    body: Mapping[str, Any] | None = None,
) -> Reply:
    """The first answer that is not a 429; Throttled if 429s last until the deadline."""
    pauses = backoff()
    since = patience.clock()
    while True:
        reply = request()
        if reply.status != THROTTLED:
            return reply
        remaining = patience.deadline - patience.clock()
        if remaining <= 0:
            seconds = patience.clock() - since
            message = (
                f"the API throttled {what} for {seconds:.0f}s, up to the timeout (HTTP 429: "
                f"{reply.message}). Its rate limit is shared by every caller of the API "
                f"(docs/deploy.md says how to raise it); {then}"
            )
            error = {"kind": "throttled", "status": THROTTLED, "message": message}
            raise Throttled(message, {"error": error, **(body or {})})
        if not patience.noticed:
            patience.noticed = True
            patience.notice(
                "the API is throttling requests (HTTP 429; its limit is shared by every "
                "caller); trying again with backoff until the timeout"
            )
        patience.sleep(min(next(pauses) * patience.scale, remaining))
