"""What the dispatcher's tests share: the stack's table and commands as a caller would look at
them, read with clients of their own (a fault injected into the functions' calls must not hide
what was sent)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import botocore.client
import pytest
from botocore.exceptions import ClientError

from harness.slack_web_api import SlackWebApi
from harness.stack import GROUP, TABLE, Stack

EVENTS = Path(__file__).resolve().parents[2] / "events" / "dispatcher"
GROUP_CLAIM = f"claim#group#{GROUP}"


def stored_event(name: str) -> Any:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def commands() -> list[dict[str, Any]]:
    """Every command SSM holds, oldest first."""
    pages = boto3.client("ssm").get_paginator("list_commands").paginate()
    found = [c for page in pages for c in page["Commands"]]
    return sorted(found, key=lambda c: c["RequestedDateTime"])


def item(key: str) -> dict[str, Any] | None:
    """An item of the commands table, as plain Python; None when there is none."""
    from boto3.dynamodb.types import TypeDeserializer

    found = boto3.client("dynamodb").get_item(
        TableName=TABLE, Key={"commandId": {"S": key}}, ConsistentRead=True
    )
    if "Item" not in found:
        return None
    plain = TypeDeserializer()
    return {name: plain.deserialize(value) for name, value in found["Item"].items()}


def table_items() -> list[dict[str, Any]]:
    """Every item of the commands table, as plain Python."""
    from boto3.dynamodb.types import TypeDeserializer

    plain = TypeDeserializer()
    pages = boto3.client("dynamodb").get_paginator("scan").paginate(TableName=TABLE)
    return [
        {name: plain.deserialize(value) for name, value in found.items()}
        for page in pages
        for found in page["Items"]
    ]


def group_claim() -> dict[str, Any] | None:
    return item(GROUP_CLAIM)


@contextmanager
def lost_answer(operation: str) -> Iterator[list[str]]:
    """The next call of `operation` fails as a 5xx whose fate the caller cannot know; here AWS
    did not take it (or does not list it yet), so no look finds it. The calls so failed."""
    original = botocore.client.BaseClient._make_api_call
    failed: list[str] = []

    def call(client: Any, name: str, params: Any) -> Any:
        if name == operation and not failed:
            failed.append(name)
            raise ClientError(
                {
                    "Error": {"Code": "InternalServerError", "Message": "injected"},
                    "ResponseMetadata": {"HTTPStatusCode": 500},
                },
                name,
            )
        return original(client, name, params)

    botocore.client.BaseClient._make_api_call = call  # type: ignore[method-assign]
    try:
        yield failed
    finally:
        botocore.client.BaseClient._make_api_call = original  # type: ignore[method-assign]


@pytest.fixture
def deployed(aws: None, slack: SlackWebApi) -> Iterator[Stack]:
    """The stack with its defaults (webhook mode, a group of 3 InService instances)."""
    with Stack(slack) as stack:
        yield stack


@contextmanager
def deployed_with(slack: SlackWebApi, **options: Any) -> Iterator[Stack]:
    """The stack with other parameters (Stack's options)."""
    with Stack(slack, **options) as stack:
        yield stack
