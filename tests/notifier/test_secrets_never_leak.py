"""The webhook URL is the secret (issue 6 item 5): on every failure path it appears in no log
line, no exception message, and nothing Lambda would keep in its failure destination.

Logging runs at DEBUG everywhere. The webhook receiver's own access log (werkzeug, the Slack
side of the wire) is left out: it is not the notifier's.
"""

from __future__ import annotations

import io
import json
import logging
import socket
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import boto3
import pytest

from apcu_notifier.observability import logger as notifier_logger
from harness import aws_emulator as emu
from harness.aws_emulator import ok
from tests.notifier.conftest import GROUP, JSON_THROTTLE, WEBHOOK_PATH, World, throttle

SECRET_PART = "B000/XXXX"


@dataclass
class Captured:
    logs: io.StringIO


@pytest.fixture
def debug_logs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> Iterator[Captured]:
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    caplog.set_level(logging.DEBUG)
    buffer = io.StringIO()
    handler = notifier_logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    previous_stream = handler.setStream(buffer)
    previous_level = notifier_logger.log_level
    notifier_logger.setLevel("DEBUG")
    yield Captured(buffer)
    notifier_logger.setLevel(previous_level)
    handler.setStream(previous_stream)


def settled(world: World) -> str:
    members = emu.create_group(GROUP, 2)
    command_id = world.send()
    emu.settle_command(command_id, {i: ok() for i in members})
    return command_id


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{WEBHOOK_PATH}"


Setup = Callable[[World], None]


def _answer(status: int, body: str, headers: dict[str, str] | None = None) -> Setup:
    def setup(world: World) -> None:
        world.slack.server.expect_request(WEBHOOK_PATH, method="POST").respond_with_data(
            body, status=status, headers=headers
        )

    return setup


def _secret(value: str | Callable[[World], str]) -> Setup:
    def setup(world: World) -> None:
        text = value(world) if callable(value) else value
        boto3.client("secretsmanager", region_name=emu.REGION).put_secret_value(
            SecretId=world.secret_arn, SecretString=text
        )

    return setup


def _timeout(world: World) -> None:
    world.slack.respond_slowly(1.5)
    world.context.remaining_ms = 2600


def _throttled(world: World) -> None:
    assert world.runtime is not None
    throttle(world.runtime.ssm, "ListCommands", JSON_THROTTLE)
    world.slack.always()


FAILURES: dict[str, Setup] = {
    "slack 400 invalid_payload": _answer(400, "invalid_payload"),
    "slack 403 action_prohibited": _answer(403, "action_prohibited"),
    "slack 404 no_service": _answer(404, "no_service"),
    "slack 410 channel_is_archived": _answer(410, "channel_is_archived"),
    "slack 500 storm": _answer(500, "internal_error"),
    "slack 429 longer than the time left": _answer(429, "rate_limited", {"Retry-After": "3600"}),
    "slack echoes the url": lambda w: _answer(400, f"bad url {w.slack.url}")(w),
    "slack timeout": _timeout,
    "connection refused": _secret(lambda _: closed_port_url()),
    "secret without a scheme": _secret(lambda w: w.slack.url.split("://", 1)[1]),
    "secret as JSON with the wrong key": _secret(lambda w: json.dumps({"webhook": w.slack.url})),
    "secret with a space": _secret(lambda w: w.slack.url + " trailing"),
    "aws throttled": _throttled,
}


@pytest.mark.parametrize("failure", list(FAILURES))
def test_the_webhook_url_never_leaks_on_failure(
    world: World,
    debug_logs: Captured,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    aws_sleeps: list[float],
    failure: str,
) -> None:
    # Given a notification that will fail in this way
    command_id = settled(world)
    world.start()
    FAILURES[failure](world)
    url = world.slack.url

    # When the handler runs, it raises (so Lambda retries and keeps the event)
    with pytest.raises(Exception) as raised:
        world.notify(command_id)

    # Then neither the URL nor its secret path is anywhere
    error = raised.value
    dead_letter = json.dumps(
        {
            "errorMessage": str(error),
            "errorType": type(error).__name__,
            "stackTrace": traceback.format_exception(error),
        }
    )
    ours = [r for r in caplog.records if r.name != "werkzeug"]
    out, err = capsys.readouterr()
    places = {
        "notifier log": debug_logs.logs.getvalue(),
        "python logging": "\n".join(r.getMessage() + str(r.exc_info or "") for r in ours),
        "stdout/stderr": out + err,
        "exception": str(error) + repr(error),
        "dead-letter payload": dead_letter,
    }
    assert debug_logs.logs.getvalue(), "the notifier logged nothing: the capture is broken"
    for place, text in places.items():
        assert url not in text, f"webhook URL found in {place}"
        assert SECRET_PART not in text, f"webhook path found in {place}"


def test_the_webhook_url_never_leaks_on_success(
    world: World,
    debug_logs: Captured,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    command_id = settled(world)
    world.start()
    world.slack.always()

    world.notify(command_id)

    out, err = capsys.readouterr()
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name != "werkzeug")
    assert len(world.slack.messages()) == 1
    for text in (debug_logs.logs.getvalue(), ours, out + err):
        assert SECRET_PART not in text
