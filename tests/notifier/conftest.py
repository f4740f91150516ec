"""The notifier's world: moto with the emulator, a Slack webhook on 127.0.0.1, stored events."""

from __future__ import annotations

import copy
import json
import threading
import time
import types
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.endpoint
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from apcu_notifier import handler
from apcu_notifier.config import Config, Language
from apcu_notifier.runtime import Runtime, build_runtime
from harness import aws_emulator

EVENTS = Path(__file__).resolve().parents[2] / "events" / "notifier"
WEBHOOK_PATH = "/services/T000/B000/XXXX"
SECRET_NAME = "apcu-fleet-flush/slack-webhook"
GROUP = "web-prod"


def load_event(name: str, **message: Any) -> dict[str, Any]:
    """A stored SNS event, with fields of its Message replaced (e.g. the real command id)."""
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    for record in event["Records"]:
        body = json.loads(record["Sns"]["Message"])
        body.update(message)
        record["Sns"]["Message"] = json.dumps(body, separators=(",", ":"))
    return event


def with_records(*events: Mapping[str, Any]) -> dict[str, Any]:
    return {"Records": [copy.deepcopy(r) for e in events for r in e["Records"]]}


@dataclass
class FakeContext:
    """The parts of LambdaContext that Powertools and the handler read."""

    remaining_ms: int = 60_000
    function_name: str = "apcu-fleet-flush-NotifierFunction-AbC123"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:apcu-fleet-flush-NotifierFunction-AbC123"
    )
    aws_request_id: str = "7b9e0c1d-2a3f-4b5c-8d6e-9f0a1b2c3d4e"
    log_group_name: str = "/aws/lambda/apcu-fleet-flush-NotifierFunction-AbC123"
    log_stream_name: str = "2026/03/02/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass
class Slack:
    """What the webhook received, and a way to script its answers."""

    server: HTTPServer
    _in_flight: list[threading.Event] = field(default_factory=list)

    @property
    def url(self) -> str:
        return str(self.server.url_for(WEBHOOK_PATH))

    def answer(
        self, body: str = "ok", status: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        self.server.expect_ordered_request(WEBHOOK_PATH, method="POST").respond_with_data(
            body, status=status, headers=headers
        )

    def always(self, body: str = "ok", status: int = 200) -> None:
        self.server.expect_request(WEBHOOK_PATH, method="POST").respond_with_data(
            body, status=status
        )

    def respond_with(self, handler: Callable[[Request], Response]) -> None:
        """Answer every post with `handler`, which may block (a slow or stalled Slack).

        The fixture waits, at the end of the test, for a handler still running, so that the
        server it stops has no answer half-sent.
        """

        def tracked(request: Request) -> Response:
            done = threading.Event()
            self._in_flight.append(done)
            try:
                return handler(request)
            finally:
                done.set()

        self.server.expect_request(WEBHOOK_PATH, method="POST").respond_with_handler(tracked)

    def respond_slowly(self, seconds: float, body: str = "ok") -> None:
        def slow(request: Request) -> Response:
            time.sleep(seconds)
            return Response(body)

        self.respond_with(slow)

    def drain(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        for done in self._in_flight:
            assert done.wait(max(0.0, deadline - time.monotonic())), "a Slack handler never ended"
        # The server appends its log entry just after the handler returns.
        while len(self.server.log) < len(self._in_flight) and time.monotonic() < deadline:
            time.sleep(0.01)

    def messages(self) -> list[dict[str, Any]]:
        return [json.loads(request.get_data()) for request, _ in self.server.log]

    def message(self) -> dict[str, Any]:
        received = self.messages()
        assert len(received) == 1, f"expected one post, got {len(received)}"
        return received[0]


@pytest.fixture
def slack() -> Iterator[Slack]:
    # A server of its own for each test, rather than pytest-httpserver's shared one: a post that
    # a test's notifier timed out on can only reach this test's server, never the next test's.
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    stand_in = Slack(server)
    try:
        yield stand_in
        stand_in.drain()
    finally:
        server.clear()
        server.stop()


@dataclass
class World:
    """moto accounts for one test, the notifier's runtime wired to them, and helpers."""

    slack: Slack
    secret_arn: str
    language: Language = Language.EN
    mention: str = "<!here>"
    table: str | None = None
    sleeps: list[float] = field(default_factory=list)
    runtime: Runtime | None = None
    context: FakeContext = field(default_factory=FakeContext)

    def start(self, **config: Any) -> Runtime:
        settings = {
            "slack_webhook_secret_arn": self.secret_arn,
            "region": aws_emulator.REGION,
            "language": self.language,
            "alert_mention": self.mention,
            "commands_table": self.table,
        }
        settings.update(config)
        rt = build_runtime(Config(**settings), boto3.Session(region_name=aws_emulator.REGION))
        rt.sleep = self.sleeps.append
        handler.use_runtime(rt)
        self.runtime = rt
        return rt

    def send(
        self,
        groups: tuple[str, ...] = (GROUP,),
        *,
        instance_ids: list[str] | None = None,
        targets: list[dict[str, Any]] | None = None,
        comment: str = "alice: release 2026.03.02",
        action: str | None = None,
        stop_alarm: str | None = None,
    ) -> str:
        ssm = boto3.client("ssm", region_name=aws_emulator.REGION)
        parameters: dict[str, list[str]] = {
            "commands": ["curl -fsS -X POST http://127.0.0.1/apcu.php"]
        }
        # The stack's document takes the action as a parameter; the notifier reads it back.
        if action is not None:
            parameters = {"action": [action], "prefix": [""]}
        kwargs: dict[str, Any] = {
            "DocumentName": "AWS-RunShellScript",
            "Parameters": parameters,
            "Comment": comment,
        }
        if stop_alarm is not None:
            kwargs["AlarmConfiguration"] = {
                "Alarms": [{"Name": stop_alarm}],
                "IgnorePollAlarmFailure": False,
            }
        if instance_ids is not None:
            kwargs["InstanceIds"] = instance_ids
        else:
            kwargs["Targets"] = targets or [{"Key": aws_emulator.GROUP_TAG, "Values": list(groups)}]
        return str(ssm.send_command(**kwargs)["Command"]["CommandId"])

    def notify(
        self, command_id: str, name: str = "command-success.json", **message: Any
    ) -> dict[str, Any]:
        return self.invoke(load_event(name, commandId=command_id, **message))

    def invoke(self, event: Any) -> dict[str, Any]:
        result: dict[str, Any] = handler.lambda_handler(event, self.context)
        return result


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def world(aws: None, slack: Slack) -> Iterator[World]:
    secrets = boto3.client("secretsmanager", region_name=aws_emulator.REGION)
    arn = secrets.create_secret(Name=SECRET_NAME, SecretString=slack.url)["ARN"]
    state = World(slack=slack, secret_arn=arn)
    yield state
    handler.use_runtime(None)


def text_of(message: Mapping[str, Any]) -> str:
    """Everything a reader sees in a posted message, as one string."""
    parts = [str(message.get("text", ""))]
    for block in message.get("blocks", []):
        if "text" in block:
            parts.append(block["text"]["text"])
        parts.extend(f["text"] for f in block.get("fields", []))
        parts.extend(e["text"] for e in block.get("elements", []))
    return "\n".join(parts)


# --- AWS faults -----------------------------------------------------------------------------

JSON_THROTTLE = b'{"__type":"ThrottlingException","message":"Rate exceeded"}'
XML_THROTTLE = (
    b'<ErrorResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><Error>'
    b"<Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
    b"<RequestId>0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b</RequestId></ErrorResponse>"
)


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


@pytest.fixture
def aws_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """botocore's retry waits, recorded instead of slept."""
    sleeps: list[float] = []
    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=sleeps.append))
    return sleeps


def _throttled(request: Any, body: bytes) -> AWSResponse:
    content_type = "text/xml" if body.startswith(b"<") else "application/x-amz-json-1.1"
    return AWSResponse(request.url, 400, {"Content-Type": content_type}, _Body(body))


def throttle(client: Any, operation: str, body: bytes) -> list[str]:
    """Answer every `operation` on this client with a throttling error, before moto sees it."""
    attempts: list[str] = []
    service = client.meta.service_model.service_id.hyphenize()

    def answer(request: Any, **_: Any) -> AWSResponse:
        attempts.append(operation)
        return _throttled(request, body)

    client.meta.events.register_first(f"before-send.{service}.{operation}", answer)
    return attempts


@dataclass
class ThrottleEvery:
    """Answer every `every`-th HTTP attempt of one operation with a throttling error, below
    botocore's retry loop, so that its standard retries really run."""

    body: bytes
    every: int
    attempts: int = 0
    faulted: int = 0

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        self.attempts += 1
        if self.attempts % self.every:
            return None
        self.faulted += 1
        return _throttled(request, self.body)


def throttle_every(client: Any, operation: str, body: bytes, every: int) -> ThrottleEvery:
    fault = ThrottleEvery(body, every)
    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register_first(f"before-send.{service}.{operation}", fault)
    return fault


def fail_calls(
    client: Any, operation: str, code: str, *, matching: bytes = b"", times: int = 1
) -> list[str]:
    """Fail `times` whole calls of `operation` whose request contains `matching` with this
    error code, as a call that botocore gave up on: answered on before-call, so neither moto
    nor botocore's own retries see it (moto applies whatever reaches before-send)."""
    failed: list[str] = []

    def answer(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if len(failed) >= times or matching not in (params.get("body") or b""):
            return None
        failed.append(operation)
        error = {"Error": {"Code": code, "Message": "Rate exceeded"}}
        metadata = {"ResponseMetadata": {"HTTPStatusCode": 400, "RetryAttempts": 2}}
        return AWSResponse(params.get("url", ""), 400, {}, _Body(b"")), {**error, **metadata}

    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register_first(f"before-call.{service}.{operation}", answer)
    return failed


def lose_answer(client: Any, operation: str, *, matching: bytes = b"") -> list[str]:
    """Let one call of `operation` whose request contains `matching` reach moto and be
    applied, then lose its answer (HTTP 500), so that botocore sends it again."""
    lost: list[str] = []
    pending: list[bool] = []
    service = client.meta.service_model.service_id.hyphenize()

    def sent(request: Any, **_: Any) -> None:
        if not lost and not pending and matching in (request.body or b""):
            pending.append(True)

    def parsed(response_dict: dict[str, Any], **_: Any) -> None:
        if pending and not lost:
            lost.append(operation)
            response_dict["status_code"] = 500
            response_dict["body"] = b'{"__type":"InternalServerError","message":"lost"}'

    client.meta.events.register(f"before-send.{service}.{operation}", sent)
    client.meta.events.register(f"before-parse.{service}.{operation}", parsed)
    return lost
