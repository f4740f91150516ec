"""The dispatcher ends before Lambda stops it: every client's worst case is known, and a
SendCommand attempt starts only while it can still be recorded and answered (issue: SendCommand
kept botocore's 60 s + 60 s inside a 30 s function, so Lambda killed it before any answer)."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from apcu_dispatcher import budget, handler
from apcu_dispatcher.clients import Clients, build_clients
from apcu_dispatcher.config import Config
from apcu_dispatcher.dispatch import SendOutcomeUnknown
from harness import cfn_template
from tests.dispatcher.conftest import commands_in_moto
from tests.dispatcher.faults import Fault, inject, ssm_error

CLEAR = {"group": "web-prod", "action": "clear-apcu"}
TIMEOUT = cfn_template.function_timeout("DispatcherFunction")


def config_of(client: Any) -> Any:
    return client.meta.config


def test_no_client_keeps_botocores_minute_long_timeouts(aws: None) -> None:
    built = build_clients("us-east-1", stop_alarm=True)
    for field in dataclasses.fields(built):
        config = config_of(getattr(built, field.name))
        assert config.connect_timeout <= 1, field.name
        assert config.read_timeout <= 5, field.name
        assert config.retries["total_max_attempts"] <= 3, field.name


def test_a_send_its_record_and_its_schedule_fit_the_functions_timeout(aws: None) -> None:
    built = build_clients("us-east-1")
    send = budget.worst_call(config_of(built.ssm_send))
    record = budget.worst_call(config_of(built.dynamodb))
    schedule = budget.worst_call(config_of(built.scheduler))

    # What the code reserves is what the real clients can take...
    assert send + record + schedule + budget.MARGIN_SECONDS == budget.SEND_RESERVE
    # ...and it leaves room before it for the reads that decide what to send.
    room_for_reads = TIMEOUT - budget.SEND_RESERVE
    assert room_for_reads >= 2, f"{budget.SEND_RESERVE:.1f} s of {TIMEOUT:.0f} s reserved"


def test_too_little_time_left_sends_nothing_and_says_so(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    handled = handler.handle(CLEAR, settings, clients, remaining=lambda: budget.SEND_RESERVE - 1)

    body = handled.response["body"]
    assert handled.response["statusCode"] == 503
    assert body["error"]["rule"] == "no-time-left"
    assert "nothing was sent" in body["error"]["message"]
    assert commands_in_moto(clients) == []


def test_a_throttled_send_is_not_tried_again_once_time_runs_short(
    settings: Config, clients: Clients, web_prod: list[str], no_backoff: list[float]
) -> None:
    fault = inject(
        clients.ssm_send,
        "ssm",
        "SendCommand",
        Fault(ssm_error("ThrottlingException", 400, "Rate exceeded"), 1),
    )
    left = iter([TIMEOUT - 1, budget.SEND_RESERVE - 0.5])

    handled = handler.handle(CLEAR, settings, clients, remaining=lambda: next(left))

    assert handled.response["statusCode"] == 503
    assert fault.attempts == 1
    assert commands_in_moto(clients) == []


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """An HTTP endpoint on 127.0.0.1 that accepts the request and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    server.close()


def test_a_send_that_never_answers_ends_unknown_within_the_budget(
    settings: Config, clients: Clients, web_prod: list[str], silent_endpoint: str
) -> None:
    # SendCommand's own client, pointed at an endpoint that takes the request and stalls
    stalled = boto3.client(
        "ssm",
        region_name="us-east-1",
        endpoint_url=silent_endpoint,
        config=config_of(clients.ssm_send),
    )
    started = time.monotonic()

    with pytest.raises(SendOutcomeUnknown, match="may have accepted it"):
        handler.handle(CLEAR, settings, dataclasses.replace(clients, ssm_send=stalled))

    # It gave up at its read timeout, long before Lambda would stop the function
    took = time.monotonic() - started
    assert took <= budget.worst_call(config_of(clients.ssm_send)) + 1
    assert took < TIMEOUT - 2 * budget.worst_call(config_of(clients.dynamodb))
