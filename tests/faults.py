"""AWS faults, injected through a wrapper around botocore's call (BaseClient._make_api_call),
so that every client of both functions goes through it, whoever built it and when.

A fault hits one call: the `occurrence`-th call of `operation` (counted from 1) since the
injector started. Three kinds, as AWS gives them:

- throttle: ThrottlingException, HTTP 400; AWS did nothing.
- 5xx: InternalServerError, HTTP 500, after AWS did the work (the worst case for a write).
- timeout: the call is made, then its answer is lost (ReadTimeoutError).
- crash: the call is made, then the invocation dies (harness.durable_lambda.SimulatedCrash):
  Lambda invokes the function again, and the step that made the call runs again.

`Recorder` records every call; `Faults` also injects one.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import botocore.client
from botocore.exceptions import ClientError, ReadTimeoutError

from harness.durable_lambda import SimulatedCrash

KINDS = ("throttle", "5xx", "timeout")


@dataclass
class Recorder:
    calls: list[tuple[str, str]] = field(default_factory=list)
    # Something that happens in the world just before the n-th call of an operation (the stop
    # alarm goes OK before the third look at it): (operation, occurrence) -> what happens.
    before: dict[tuple[str, int], Any] = field(default_factory=dict)
    # Whether each call came from the notifier (the runner's threads) or the dispatcher (the
    # test's own thread).
    notifier: list[bool] = field(default_factory=list)
    # Each call's parameters, in the order of `calls`.
    params: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def seen(self, service: str, operation: str, params: dict[str, Any] | None = None) -> int:
        """Record a call; its occurrence number (1 for the first of its operation)."""
        with self._lock:
            self.calls.append((service, operation))
            self.params.append(dict(params or {}))
            self.notifier.append(threading.current_thread() is not threading.main_thread())
            return sum(1 for c in self.calls if c == (service, operation))

    def count(self, operation: str, **having: Any) -> int:
        """The calls of `operation`, only those whose parameters include `having` if given."""
        return sum(
            1
            for (_, op), params in zip(self.calls, self.params, strict=True)
            if op == operation and all(params.get(k) == v for k, v in having.items())
        )

    def occurrences(self) -> list[tuple[str, str, int, bool]]:
        """Every call as (service, operation, occurrence, made by the notifier)."""
        counter: Counter[tuple[str, str]] = Counter()
        found = []
        for call, notifier in zip(self.calls, self.notifier, strict=True):
            counter[call] += 1
            found.append((*call, counter[call], notifier))
        return found


@dataclass
class Faults(Recorder):
    operation: str = ""
    occurrence: int = 0
    kind: str = ""
    fired: bool = False

    def hit(self, service: str, operation: str, number: int) -> bool:
        return not self.fired and operation == self.operation and number == self.occurrence


def _error(code: str, status: int, operation: str) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": "injected"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        operation,
    )


@contextmanager
def injected(faults: Recorder) -> Iterator[Recorder]:
    original = botocore.client.BaseClient._make_api_call

    def call(client: Any, operation: str, params: Any) -> Any:
        service = client.meta.service_model.service_name
        number = faults.seen(service, operation, params)
        happens = faults.before.pop((operation, number), None)
        if happens is not None:
            happens()
        if not isinstance(faults, Faults) or not faults.hit(service, operation, number):
            return original(client, operation, params)
        faults.fired = True
        if faults.kind == "throttle":
            raise _error("ThrottlingException", 400, operation)
        answer = original(client, operation, params)
        if faults.kind == "5xx":
            raise _error("InternalServerError", 500, operation)
        if faults.kind == "timeout":
            raise ReadTimeoutError(endpoint_url=f"https://{service}.us-east-1.amazonaws.com/")
        if faults.kind == "crash":
            raise SimulatedCrash(f"the invocation died after {operation}")
        return answer

    botocore.client.BaseClient._make_api_call = call  # type: ignore[method-assign]
    try:
        yield faults
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]
