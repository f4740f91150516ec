"""AWS throttling a page of a paged read, once: the n-th distinct page of ListCommandInvocations
and DescribeInstanceInformation (every fifth) is answered HTTP 400 ThrottlingException the first
time it is asked for, as SSM answers a caller over its rate, and the same request asked again
is served. Injected under botocore's retries (at the HTTP send of every client, whoever built
it), so the functions see what AWS would make them see: botocore's standard mode backs off and
asks again, within the same API call.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from botocore.endpoint import Endpoint

PAGED = ("AmazonSSM.ListCommandInvocations", "AmazonSSM.DescribeInstanceInformation")


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


@dataclass
class Throttle:
    every: int = 5
    pages: dict[str, int] = field(default_factory=dict)  # distinct pages asked for, per operation
    throttled: dict[str, int] = field(default_factory=dict)  # pages throttled, per operation
    _seen: set[tuple[str, bytes]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, request: Any) -> AWSResponse | None:
        """The throttling answer to `request`, or None to send it."""
        target = request.headers.get("X-Amz-Target", "")
        target = target.decode() if isinstance(target, bytes) else str(target)
        if target not in PAGED:
            return None
        body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
        with self._lock:
            if (target, body) in self._seen:
                return None
            self._seen.add((target, body))
            self.pages[target] = self.pages.get(target, 0) + 1
            if self.pages[target] % self.every:
                return None
            self.throttled[target] = self.throttled.get(target, 0) + 1
        error = {"__type": "ThrottlingException", "message": "Rate exceeded"}
        headers = HTTPHeaders()
        headers["x-amzn-RequestId"] = "throttled"
        headers["Content-Type"] = "application/x-amz-json-1.1"
        return AWSResponse(request.url, 400, headers, _Body(json.dumps(error).encode()))


@contextmanager
def throttling(every: int = 5) -> Iterator[Throttle]:
    throttle = Throttle(every)
    # Endpoint._send is where botocore hands a prepared request to the HTTP session, under its
    # retry handler; its stubs do not declare it.
    original = getattr(Endpoint, "_send")  # noqa: B009

    def send(self: Endpoint, request: Any) -> Any:
        return throttle.answer(request) or original(self, request)

    setattr(Endpoint, "_send", send)  # noqa: B010
    try:
        yield throttle
    finally:
        setattr(Endpoint, "_send", original)  # noqa: B010
