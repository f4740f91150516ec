"""Step results as compact JSON: frozen dataclasses in, the same dataclasses out.

A clear's steps return typed facts and verdicts; the durable SDK checkpoints each result, and
its default serializer wraps every nested value in a type envelope, which would double the
size of a page of invocations. This SerDes writes plain JSON (dataclasses as objects, tuples as
arrays, datetimes as ISO 8601, durations in whole seconds: DynamoDB, where a verdict is kept too,
takes no floats) and rebuilds the dataclass from its type hints on replay.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import types
import typing
from collections.abc import Mapping
from functools import cache
from typing import Any, TypeVar, get_args, get_origin

from aws_durable_execution_sdk_python.serdes import SerDes, SerDesContext

T = TypeVar("T")


def encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return int(value.total_seconds())
    if isinstance(value, tuple | list | frozenset | set):
        return [encode(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): encode(v) for k, v in value.items()}
    return value


def decode(kind: Any, data: Any) -> Any:
    if data is None:
        return None
    origin = get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in get_args(kind) if a is not type(None)]
        return decode(options[0], data) if len(options) == 1 else data
    if origin is tuple:
        args = get_args(kind)
        item = args[0] if args else Any
        return tuple(decode(item, v) for v in data)
    if origin is frozenset:
        return frozenset(decode(get_args(kind)[0], v) for v in data)
    if origin in (dict, Mapping) or kind is dict:
        args = get_args(kind)
        return {k: decode(args[1], v) if args else v for k, v in data.items()}
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        hints = _hints(kind)
        return kind(
            **{name: decode(hints[name], value) for name, value in data.items() if name in hints}
        )
    if kind is dt.datetime:
        return dt.datetime.fromisoformat(data)
    if kind is dt.timedelta:
        return dt.timedelta(seconds=data)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind(data)
    return data


@cache
def _hints(kind: type) -> dict[str, Any]:
    return typing.get_type_hints(kind)


class Codec(SerDes[T]):
    """The SerDes of one result type."""

    def __init__(self, kind: Any) -> None:
        self.kind = kind

    def serialize(self, value: T, serdes_context: SerDesContext) -> str:
        return json.dumps(encode(value), separators=(",", ":"), ensure_ascii=False)

    def deserialize(self, data: str, serdes_context: SerDesContext) -> T:
        result: T = decode(self.kind, json.loads(data))
        return result
