"""AWS faults injected below botocore's retry loop, so standard retries really run.

botocore's Stubber answers at `before-call`, above the retry loop: a stubbed throttle is never
retried. A `before-send` handler answers per HTTP attempt instead, the way AWS would.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.awsrequest import AWSResponse

# botocore calls every `before-send` handler and keeps the first answer; moto's handler comes
# after ours but would still carry out the request. Pointing a faulted attempt at an address
# moto does not serve makes moto leave it alone, so a throttled SendCommand runs nothing.
_NOWHERE = "http://127.0.0.1:9/fault"


class _Body:
    def __init__(self, content: bytes) -> None:
        self._content = content

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._content


def ssm_error(
    code: str, status: int = 400, message: str = "Rate exceeded"
) -> Callable[[Any], AWSResponse]:
    def answer(request: Any) -> AWSResponse:
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = {"x-amzn-RequestId": "fault", "Content-Type": "application/x-amz-json-1.1"}
        return AWSResponse(request.url, status, headers, _Body(body))

    return answer


def autoscaling_error(
    code: str, status: int = 400, message: str = "Rate exceeded"
) -> Callable[[Any], AWSResponse]:
    def answer(request: Any) -> AWSResponse:
        body = (
            '<ErrorResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/">'
            f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            "<RequestId>fault</RequestId></ErrorResponse>"
        ).encode()
        return AWSResponse(request.url, status, {"x-amzn-RequestId": "fault"}, _Body(body))

    return answer


def raising(error: Callable[[Any], Exception]) -> Callable[[Any], AWSResponse]:
    def answer(request: Any) -> AWSResponse:
        raise error(request)

    return answer


@dataclass
class Fault:
    """Answer the first `times` attempts of one operation with `answer`; let the rest through."""

    answer: Callable[[Any], AWSResponse]
    times: int
    attempts: int = 0
    faulted: int = 0

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        self.attempts += 1
        if self.faulted < self.times:
            self.faulted += 1
            answer = self.answer(request)
            request.url = _NOWHERE
            return answer
        return None


def inject(client: Any, service: str, operation: str, fault: Fault) -> Fault:
    # Registered on the operation's own event, which botocore emits before moto's generic
    # `before-send` handler; returning None lets the attempt reach moto.
    client.meta.events.register(f"before-send.{service}.{operation}", fault)
    return fault
