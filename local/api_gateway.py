"""The HTTP API on 127.0.0.1, in front of the real dispatcher, as API Gateway serves it.

Every request's SigV4 signature is checked against the keys the embedded AWS issued
(local/sigv4.py): an unsigned or tampered request gets API Gateway's 403 and never reaches
the function. POST /slack/actions is the one route without IAM auth, as in template.yaml:
Slack cannot sign SigV4, and the dispatcher checks Slack's own signature. The rest becomes an
HTTP API payload 2.0 event, with the route key, the path parameters and the signing identity
in requestContext.authorizer.iam, and the function's statusCode, headers and body are the
answer.

    with ApiGateway(stack.dispatch, region=REGION) as api:
        api.url  # http://127.0.0.1:PORT/flush, shaped like the stack's ApiUrl output
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from harness import aws_emulator
from harness.aws_emulator import SigningIdentity
from local.sigv4 import Forbidden, Lookup, Received, verify

logger = logging.getLogger(__name__)
API_ID = "local0api1"
STAGE = "$default"
# The HTTP API's routes (template.yaml): the route key is what the dispatcher dispatches on.
POST_FLUSH = "POST /flush"
GET_FLUSH = "GET /flush/{commandId}"
RETRY_FLUSH = "POST /flush/{commandId}/retry"
# Slack's button presses: no IAM auth (Slack cannot sign SigV4); the dispatcher checks Slack's
# own signature before anything else.
SLACK_ACTIONS = "POST /slack/actions"
UNSIGNED_ROUTES = frozenset({SLACK_ACTIONS})
# The bodies HTTP API hands over as text; any other content type (a form included, as Slack
# posts) arrives base64-encoded, with isBase64Encoded true.
_TEXT_TYPES = re.compile(
    r"^(text/[^;]+|application/(json|xml|javascript))\s*(;.*)?$", re.IGNORECASE
)
_COMMAND_PATH = re.compile(r"^/flush/(?P<commandId>[^/]+)$")
_RETRY_PATH = re.compile(r"^/flush/(?P<commandId>[^/]+)/retry$")
# What API Gateway answers itself, when no route matches or the integration fails.
NOT_FOUND = {"message": "Not Found"}
INTEGRATION_FAILED = {"message": "Internal Server Error"}

# The function, invoked with an event: what it returns (it runs in this process).
Invoke = Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class Route:
    key: str
    path_parameters: dict[str, str] | None


def route(method: str, path: str) -> Route | None:
    if method == "POST" and path == "/flush":
        return Route(POST_FLUSH, None)
    if method == "GET" and (match := _COMMAND_PATH.match(path)):
        return Route(GET_FLUSH, {"commandId": unquote(match["commandId"])})
    if method == "POST" and (match := _RETRY_PATH.match(path)):
        return Route(RETRY_FLUSH, {"commandId": unquote(match["commandId"])})
    if method == "POST" and path == "/slack/actions":
        return Route(SLACK_ACTIONS, None)
    return None


def payload_v2(
    route: Route,
    received: Received,
    identity: SigningIdentity | None,
    *,
    source_ip: str,
    now: dt.datetime,
) -> dict[str, Any]:
    """The event API Gateway hands a Lambda integration (HTTP API, payload format 2.0)."""
    domain = received.headers.get("host", f"{API_ID}.execute-api.localhost")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.key,
        "rawPath": received.path,
        "rawQueryString": received.query,
        "headers": dict(received.headers),
        "requestContext": {
            "accountId": aws_emulator.ACCOUNT_ID,
            "apiId": API_ID,
            "domainName": domain,
            "domainPrefix": domain.split(".", 1)[0],
            "http": {
                "method": received.method,
                "path": received.path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": received.headers.get("user-agent", ""),
            },
            "requestId": base64.urlsafe_b64encode(uuid.uuid4().bytes[:10]).decode().rstrip("="),
            "routeKey": route.key,
            "stage": STAGE,
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if identity is not None:
        event["requestContext"]["authorizer"] = {
            "iam": {
                "accessKey": identity.access_key_id,
                "accountId": identity.account_id,
                "callerId": identity.user_id,
                "cognitoIdentity": None,
                "principalOrgId": None,
                "userArn": identity.arn,
                "userId": identity.user_id,
            }
        }
    if received.query:
        event["queryStringParameters"] = _joined(parse_qsl(received.query, keep_blank_values=True))
    if route.path_parameters:
        event["pathParameters"] = dict(route.path_parameters)
    if received.body:
        text = bool(_TEXT_TYPES.match(received.headers.get("content-type", "")))
        try:
            event["body"] = received.body.decode("utf-8") if text else None
        except UnicodeDecodeError:
            event["body"] = None
        if event["body"] is None:
            event["body"] = base64.b64encode(received.body).decode()
            event["isBase64Encoded"] = True
    return event


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def answer_from(value: Any) -> Answer:
    """The HTTP answer for what the function returned."""
    if not isinstance(value, dict) or "statusCode" not in value:
        # Payload 2.0: a result without statusCode is sent as a 200 JSON body.
        return _json_answer(200, value)
    body = value.get("body") or ""
    if not isinstance(body, str):
        return _json_answer(500, INTEGRATION_FAILED)
    raw = base64.b64decode(body) if value.get("isBase64Encoded") else body.encode()
    headers = {str(k): str(v) for k, v in (value.get("headers") or {}).items()}
    return Answer(int(value["statusCode"]), headers, raw)


class ApiGateway:
    def __init__(
        self,
        invoke: Invoke,
        *,
        region: str,
        lookup: Lookup = aws_emulator.signing_identity,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.region = region
        self.events: list[dict[str, Any]] = []  # what reached the function, in order
        self.answered: list[dict[str, Any]] = []  # what it had answered, in order
        self._invoke = invoke
        self._lookup = lookup
        self._clock = clock
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/flush"

    def __enter__(self) -> ApiGateway:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def handle(self, received: Received, source_ip: str) -> Answer:
        matched = route(received.method, received.path)
        if matched is None:
            return _json_answer(404, NOT_FOUND)
        now = self._clock()
        identity = None
        if matched.key not in UNSIGNED_ROUTES:
            try:
                identity = verify(received, region=self.region, lookup=self._lookup, now=now)
            except Forbidden as refusal:
                return _json_answer(403, {"message": refusal.message})
        event = payload_v2(matched, received, identity, source_ip=source_ip, now=now)
        with self._lock:
            self.events.append(event)
        try:
            result = self._invoke(event)
        except Exception:
            # The function raised: API Gateway answers 500 and logs nothing more.
            logger.exception("the dispatcher raised")
            return _json_answer(500, INTEGRATION_FAILED)
        finally:
            with self._lock:
                self.answered.append(event)
        return answer_from(result)

    def status_reads_answered(self, since: int = 0) -> int:
        """GET requests received at or after events[since] that the function has answered."""
        with self._lock:
            asked = {id(e) for e in self.events[since:] if e["routeKey"] == GET_FLUSH}
            return sum(1 for e in self.answered if id(e) in asked)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def do_PUT(self) -> None:
                self._serve()

            def do_DELETE(self) -> None:
                self._serve()

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                headers: dict[str, str] = {}
                for name, value in self.headers.items():
                    key = name.lower()
                    # Repeated headers reach the function joined with commas, as API Gateway does.
                    headers[key] = f"{headers[key]},{value}" if key in headers else value
                received = Received(self.command, parts.path, parts.query, headers, body)
                answer = gateway.handle(received, self.client_address[0])
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.send_header("apigw-requestid", uuid.uuid4().hex[:16])
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    return  # the caller stopped waiting (Ctrl-C) before the answer came

            def log_message(self, format: str, *args: Any) -> None:
                return  # the run prints its own steps

        return Handler


def _json_answer(status: int, body: object) -> Answer:
    return Answer(status, {"content-type": "application/json"}, json.dumps(body).encode())


def _joined(pairs: list[tuple[str, str]]) -> dict[str, str]:
    joined: dict[str, str] = {}
    for name, value in pairs:
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    return joined
