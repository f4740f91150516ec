"""Fixtures for the dispatcher: its settings, moto with a web-prod group, and recorders of
what it asks AWS to do."""

from __future__ import annotations

import copy
import io
import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from harness import aws_emulator

TOPIC_ARN = "arn:aws:sns:us-east-1:123456789012:apcu-fleet-flush-status"
ROLE_ARN = "arn:aws:iam::123456789012:role/apcu-fleet-flush-notification"
DOCUMENT = "apcu-fleet-flush-FlushDocument-Q1w2E3r4T5y6"
ALLOWED = "web-prod, web-staging,,"
COMMANDS_TABLE = "apcu-fleet-flush-CommandsTable-1A2B3C4D5E6F"
WATCHDOG_GROUP = "apcu-fleet-flush-watchdog"
WATCHDOG_ROLE_ARN = "arn:aws:iam::123456789012:role/apcu-fleet-flush-WatchdogRole-Z9Y8X7"
NOTIFIER_ARN = (
    "arn:aws:lambda:us-east-1:123456789012:function:apcu-fleet-flush-NotifierFunction-AbC123"
)
WATCHDOG_DLQ_ARN = "arn:aws:sqs:us-east-1:123456789012:apcu-fleet-flush-WatchdogDeadLetterQueue-Q1"
ENV = {
    "NOTIFICATION_TOPIC_ARN": TOPIC_ARN,
    "NOTIFICATION_ROLE_ARN": ROLE_ARN,
    "DOCUMENT_NAME": DOCUMENT,
    "ALLOWED_GROUPS": ALLOWED,
    "AWS_REGION": "us-east-1",
    "COMMANDS_TABLE": COMMANDS_TABLE,
    "WATCHDOG_GROUP": WATCHDOG_GROUP,
    "WATCHDOG_ROLE_ARN": WATCHDOG_ROLE_ARN,
    "WATCHDOG_TARGET_ARN": NOTIFIER_ARN,
    "WATCHDOG_DEAD_LETTER_ARN": WATCHDOG_DLQ_ARN,
    # The document's timeoutSeconds (template.yaml's FlushDocument).
    "EXECUTION_TIMEOUT_SECONDS": "60",
}
# apcu_dispatcher.handler reads its settings when imported, as Lambda's init does.
os.environ.update(ENV)

from apcu_clear import claim  # noqa: E402
from apcu_dispatcher.clients import Clients, build_clients  # noqa: E402
from apcu_dispatcher.config import Config  # noqa: E402

EVENTS = Path(__file__).resolve().parents[2] / "events" / "dispatcher"


def stored_event(name: str) -> Any:
    return json.loads((EVENTS / name).read_text())


@pytest.fixture
def settings() -> Config:
    return Config.from_env(ENV)


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def clients(aws: None) -> Clients:
    """The dispatcher's clients, with the stack's commands table and schedule group in moto."""
    built = build_clients("us-east-1")
    aws_emulator.create_commands_table(COMMANDS_TABLE)
    built.scheduler.create_schedule_group(Name=WATCHDOG_GROUP)
    return built


@pytest.fixture
def web_prod(aws: None) -> list[str]:
    """web-prod: 3 InService instances, all managed and Online."""
    return sorted(aws_emulator.create_group("web-prod", 3))


@pytest.fixture
def sent(clients: Clients) -> list[dict[str, Any]]:
    """Every SendCommand request the dispatcher builds, as botocore is about to serialise it."""
    requests: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        requests.append(copy.deepcopy(params))

    clients.ssm_send.meta.events.register("before-parameter-build.ssm.SendCommand", record)
    return requests


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """botocore's retry delays, recorded instead of slept."""
    delays: list[float] = []
    monkeypatch.setattr(time, "sleep", delays.append)
    return delays


def commands_in_moto(clients: Clients) -> list[dict[str, Any]]:
    """Every command moto holds, read with a client of its own: a fault injected into the
    dispatcher's clients must not hide what was sent."""
    pages = boto3.client("ssm", region_name="us-east-1").get_paginator("list_commands").paginate()
    return [command for page in pages for command in page["Commands"]]


def end_the_clear(clients: Clients, command_id: str, group: str = "web-prod") -> bool:
    """What the notifier does once a clear's verdict is in: end its claim on the group. True
    when the claim named that command."""
    return claim.end(clients.dynamodb, COMMANDS_TABLE, claim.group_key(group), command_id)


@pytest.fixture
def log(aws: None) -> Iterator[io.StringIO]:
    """The dispatcher's JSON log lines; its per-container clients built fresh inside this moto."""
    from apcu_dispatcher import handler

    handler.clients.cache_clear()
    stream = handler.logger.registered_handler
    assert isinstance(stream, logging.StreamHandler)
    buffer = io.StringIO()
    previous = stream.setStream(buffer)
    yield buffer
    stream.setStream(previous)
    handler.clients.cache_clear()
