"""How the clear's steps run: each named in the execution's history, with an explicit retry
strategy (the SDK's default retries every error six times) and its result as compact JSON (the
SDK's own wraps every nested value in a type envelope, doubling a page of invocations)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import types
import typing
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, TypeVar, get_args, get_origin

from aws_durable_execution_sdk_python import DurableContext
from aws_durable_execution_sdk_python.config import Duration, StepConfig, StepSemantics
from aws_durable_execution_sdk_python.retries import RetryDecision
from aws_durable_execution_sdk_python.serdes import SerDes, SerDesContext

from apcu_clear.aws import is_transient
from apcu_clear.command import OutcomeUnknown

T = TypeVar("T")
AWS_ATTEMPTS = 6
MAX_DELAY_SECONDS = 60


def aws_retry(error: Exception, attempt: int) -> RetryDecision:
    """What can pass later (throttling, a 5xx, a lost connection, a SendCommand whose outcome is
    still being looked for); anything else fails at once."""
    passing = (
        is_transient(error)
        or isinstance(error, OutcomeUnknown)
        or getattr(error, "transient", False)
    )
    if attempt < AWS_ATTEMPTS and passing:
        return RetryDecision.retry(delay(2**attempt))
    return RetryDecision.no_retry()


def delay(seconds: float) -> Duration:
    return Duration.from_seconds(min(int(seconds + 0.999), MAX_DELAY_SECONDS))


def step(
    ctx: DurableContext,
    name: str,
    body: Callable[[], T],
    result: Any,
    *,
    retry: Callable[[Exception, int], RetryDecision] = aws_retry,
    once: bool = False,
) -> T:
    """Run `body` as the step `name`; `result` is its type (for the replay). `once`: a step cut off
    by its invocation's end is not run again on replay; it fails with StepInterruptedError."""
    semantics = (
        StepSemantics.AT_MOST_ONCE_PER_RETRY if once else StepSemantics.AT_LEAST_ONCE_PER_RETRY
    )
    config = StepConfig(retry_strategy=retry, step_semantics=semantics, serdes=Codec(result))
    return ctx.step(lambda _: body(), name=name, config=config)


def encode(value: Any) -> Any:
    """Plain JSON: datetimes in ISO 8601, durations in whole seconds (DynamoDB takes no floats)."""
    return json.loads(json.dumps(value, default=_plain))


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return int(value.total_seconds())
    return {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}


def decode(kind: Any, data: Any) -> Any:
    """What `encode` wrote, rebuilt as `kind` from its type hints."""
    origin = get_origin(kind)
    if data is None:
        return None
    if origin in (typing.Union, types.UnionType):
        return decode(next(a for a in get_args(kind) if a is not type(None)), data)
    if origin is tuple:
        return tuple(decode(get_args(kind)[0], v) for v in data)
    if origin in (dict, Mapping):
        return {k: decode(get_args(kind)[1], v) for k, v in data.items()}
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        hints = _hints(kind)
        return kind(**{name: decode(hints[name], v) for name, v in data.items() if name in hints})
    if kind is dt.datetime:
        return dt.datetime.fromisoformat(data)
    if kind is dt.timedelta:
        return dt.timedelta(seconds=data)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind(data)
    return data


_hints = cache(typing.get_type_hints)


class Codec(SerDes[T]):
    def __init__(self, kind: Any) -> None:
        self.kind = kind

    def serialize(self, value: T, serdes_context: SerDesContext) -> str:
        return json.dumps(value, default=_plain, separators=(",", ":"), ensure_ascii=False)

    def deserialize(self, data: str, serdes_context: SerDesContext) -> T:
        result: T = decode(self.kind, json.loads(data))
        return result
