"""A Slack stand-in: a real HTTP server on 127.0.0.1 answering what both Slack modes call, as
Slack documents it: the Web API's chat.postMessage, chat.update and chat.postEphemeral (app
mode), an incoming webhook (webhook mode) and a request's response_url (the app's answers).

    with SlackWebApi(bot_token="xoxb-…", channels=("C0APCUFLUSH",)) as slack:
        WebClient(token="xoxb-…", base_url=slack.base_url).chat_postMessage(channel=…, text=…)
        slack.messages[0].text

What it does as Slack does (docs.slack.dev, reference/methods/chat.*):
- the token comes in `Authorization: Bearer xoxb-…` or as a `token` parameter; none gives
  not_authed, another one invalid_auth;
- bodies are JSON or form-encoded (blocks then a JSON string), parameters also in the query;
- every answer is HTTP 200 with {"ok": true, …} or {"ok": false, "error": "…"}, except a rate
  limit: HTTP 429, `Retry-After: <seconds>`, {"ok": false, "error": "ratelimited"};
- an unknown channel gives channel_not_found; a channel the bot is not a member of,
  not_in_channel; neither text nor blocks, no_text; chat.update of an unknown ts,
  message_not_found; blocks Slack would refuse, invalid_blocks.

Where it is stricter than Slack, to catch mistakes a test would otherwise miss: blocks are
checked with slack_sdk's own models (what the issue asks of every payload), and a reply to a
ts that is not a message of that channel gives thread_not_found rather than a new top-level
message.

An incoming webhook answers "ok" (HTTP 200) and keeps the payload in .webhook_posts; Slack's
refusals of one are HTTP errors with a plain-text code (400 invalid_payload, 403
action_prohibited, 404 channel_not_found, 410 channel_is_archived, 429 with Retry-After). A
response_url answers the same way and keeps what it got in .responses.

Failures are injected one at a time with fail_next(method, …), where method is a Web API
method, WEBHOOK or RESPONSE_URL: the next call of it gets the failure, whatever its parameters.
drop_next(method) lets Slack take the next request, then closes the connection before the
answer: the caller cannot tell whether Slack took it (it did). Everything is recorded: .calls (every call, failed
or not, token left out), .messages (with every version an update gave them), .ephemerals.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

# The test values of the app secret (no real workspace has them).
BOT_TOKEN = "xoxb-0000000000-apcufleetflush"  # noqa: S105
SIGNING_SECRET = "8f742231b10e8888abcd99aaabbb85a5"  # noqa: S105
CHANNEL = "C0APCUFLUSH"
# What the stand-in's bot is called in the messages it returns (Slack fills these in).
BOT_ID = "B0APCUFLUSH"
BOT_USER = "U0APCUBOT"
APP_ID = "A0APCUFLUSH"

PREFIX = "/api/"
WEBHOOK = "webhook"
RESPONSE_URL = "response_url"
API_METHODS = ("chat.postMessage", "chat.update", "chat.postEphemeral")
METHODS = (*API_METHODS, WEBHOOK, RESPONSE_URL)
WEBHOOK_PATH = "/services/T0APCU000/B0APCU000/apcufleetflushtesthook"
RESPONSE_PATH = "/actions/T0APCU000/"
# Slack's limits on a message (chat.postMessage, "Truncating content"; Block Kit, "blocks").
MAX_TEXT = 40_000
MAX_BLOCKS = 50


@dataclass
class Version:
    text: str
    blocks: list[dict[str, Any]]


@dataclass
class Message:
    channel: str
    ts: str
    thread_ts: str | None
    text: str
    blocks: list[dict[str, Any]]
    reply_broadcast: bool = False
    # Every text and blocks the message had, the post first, then one per chat.update.
    versions: list[Version] = field(default_factory=list)

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts


@dataclass
class Ephemeral:
    channel: str
    user: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None


@dataclass
class Hold:
    """A call held before it is answered: `arrived` is set when it comes in; it is answered
    (as it would have been) once release() is called, or after `timeout` seconds."""

    timeout: float = 30.0
    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        self.released.set()


@dataclass(frozen=True)
class Failure:
    error: str
    status: int = HTTPStatus.OK
    retry_after: int | None = None


class _Refusal(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


class SlackWebApi:
    """The stand-in. start() / stop(), or use it as a context manager."""

    def __init__(
        self,
        *,
        bot_token: str = BOT_TOKEN,
        channels: Iterable[str] = (CHANNEL,),
        member_of: Iterable[str] | None = None,
    ) -> None:
        self.bot_token = bot_token
        self.channels = tuple(channels)
        # None: the bot is a member of every channel.
        self.member_of = None if member_of is None else tuple(member_of)
        self.messages: list[Message] = []
        self.ephemerals: list[Ephemeral] = []
        self.webhook_posts: list[dict[str, Any]] = []
        self.responses: list[dict[str, Any]] = []
        self._dropped: dict[str, int] = defaultdict(int)
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._failures: dict[str, deque[Failure]] = defaultdict(deque)
        self._holds: dict[str, deque[Hold]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        if self._server is not None:
            return
        api = self

        class Handler(_Handler):
            stand_in = api

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SlackWebApi:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the Slack Web API stand-in is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """What SLACK_API_URL and WebClient(base_url=…) take."""
        return f"http://127.0.0.1:{self.port}{PREFIX}"

    @property
    def webhook_url(self) -> str:
        """The incoming webhook's URL, what the webhook secret holds."""
        return f"http://127.0.0.1:{self.port}{WEBHOOK_PATH}"

    def response_url(self, name: str = "1") -> str:
        """A response_url, as Slack puts one in each interaction and slash command."""
        return f"http://127.0.0.1:{self.port}{RESPONSE_PATH}{name}/apcuresponsetoken"

    def drop_next(self, method: str) -> None:
        """The next call of `method` is taken, and its answer lost: the connection closes."""
        if method not in METHODS:
            raise ValueError(f"the stand-in does not answer {method}")
        with self._lock:
            self._dropped[method] += 1

    def reset(self) -> None:
        """Forget every call, message and scripted failure: a test of its own."""
        with self._lock:
            self.messages.clear()
            self.ephemerals.clear()
            self.webhook_posts.clear()
            self.responses.clear()
            self.calls.clear()
            self._failures.clear()
            self._holds.clear()
            self._dropped.clear()

    def _hook(self, method: str, raw: bytes) -> tuple[int, dict[str, str], str] | None:
        """An incoming webhook's or a response_url's answer; None: the connection is dropped."""
        with self._lock:
            holds = self._holds.get(method)
            hold = holds.popleft() if holds else None
        if hold is not None:
            hold.arrived.set()
            hold.released.wait(hold.timeout)
        try:
            payload: Any = json.loads(raw or b"{}")
        except ValueError:
            payload = None
        with self._lock:
            self.calls.append((method, payload if isinstance(payload, dict) else {}))
            dropped = self._dropped[method] > 0
            if dropped:
                self._dropped[method] -= 1
            failures = self._failures.get(method)
            failure = failures.popleft() if failures and not dropped else None
        if failure is not None:
            headers = (
                {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
            )
            return failure.status, headers, failure.error
        if not isinstance(payload, dict) or not (payload.get("text") or payload.get("blocks")):
            return HTTPStatus.BAD_REQUEST, {}, "invalid_payload"
        if block_kit_problems(payload.get("blocks") or []):
            return HTTPStatus.BAD_REQUEST, {}, "invalid_blocks"
        with self._lock:
            (self.webhook_posts if method == WEBHOOK else self.responses).append(payload)
        return None if dropped else (HTTPStatus.OK, {}, "ok")

    # -- scripting and reading -------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        error: str | None = None,
        status: int = HTTPStatus.OK,
        retry_after: int | None = None,
    ) -> None:
        """The next call of `method` fails: {"ok": false, "error": error} with HTTP `status`.
        A 429 carries Retry-After (1 s unless told) and the error "ratelimited"."""
        if method not in METHODS:
            raise ValueError(f"the stand-in does not answer {method}")
        if status == HTTPStatus.TOO_MANY_REQUESTS:
            retry_after = 1 if retry_after is None else retry_after
        if method in (WEBHOOK, RESPONSE_URL) and status == HTTPStatus.OK:
            status = HTTPStatus.INTERNAL_SERVER_ERROR
        with self._lock:
            self._failures[method].append(
                Failure(
                    error=error or ("ratelimited" if status == 429 else "fatal_error"),
                    status=status,
                    retry_after=retry_after,
                )
            )

    def hold_next(self, method: str, timeout: float = 30.0) -> Hold:
        """Hold the next call of `method` until released: a slow Slack, for races."""
        if method not in METHODS:
            raise ValueError(f"the stand-in does not answer {method}")
        hold = Hold(timeout=timeout)
        with self._lock:
            self._holds[method].append(hold)
        return hold

    def top_level(self, channel: str | None = None) -> list[Message]:
        """The messages people see in the channel itself: not replies, and replies sent to
        the channel too (reply_broadcast)."""
        with self._lock:
            return [
                m
                for m in self.messages
                if (channel is None or m.channel == channel)
                and (not m.is_reply or m.reply_broadcast)
            ]

    def replies(self, ts: str) -> list[Message]:
        with self._lock:
            return [m for m in self.messages if m.is_reply and m.thread_ts == ts]

    def message(self, ts: str) -> Message:
        with self._lock:
            for m in self.messages:
                if m.ts == ts:
                    return m
        raise KeyError(ts)

    def method_calls(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [params for name, params in self.calls if name == method]

    # -- the API ---------------------------------------------------------------------------

    def _answer(
        self, method: str, params: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        with self._lock:
            holds = self._holds.get(method)
            hold = holds.popleft() if holds else None
        if hold is not None:
            hold.arrived.set()
            hold.released.wait(hold.timeout)
        with self._lock:
            self.calls.append((method, params))
            dropped = self._dropped[method] > 0
            if dropped:
                self._dropped[method] -= 1
            failures = self._failures.get(method)
            failure = failures.popleft() if failures and not dropped else None
        if failure is not None:
            headers = {}
            if failure.retry_after is not None:
                headers["Retry-After"] = str(failure.retry_after)
            return failure.status, headers, {"ok": False, "error": failure.error}
        try:
            if not token:
                raise _Refusal("not_authed")
            if token != self.bot_token:
                raise _Refusal("invalid_auth")
            with self._lock:
                body = self._call(method, params)
        except _Refusal as refusal:
            return HTTPStatus.OK, {}, {"ok": False, "error": refusal.error, **refusal.extra}
        if dropped:
            return 0, {}, {}
        return HTTPStatus.OK, {}, {"ok": True, **body}

    def _call(self, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
        if method == "chat.postMessage":
            return self._post_message(params)
        if method == "chat.update":
            return self._update(params)
        return self._post_ephemeral(params)

    def _channel(self, params: Mapping[str, Any], *, member: bool = True) -> str:
        channel = str(params.get("channel") or "")
        if channel not in self.channels:
            raise _Refusal("channel_not_found")
        if member and self.member_of is not None and channel not in self.member_of:
            raise _Refusal("not_in_channel")
        return channel

    def _next_ts(self) -> str:
        # Slack's ts: seconds, a dot, six digits; unique and increasing within a channel.
        return f"{int(time.time())}.{next(self._seq):06d}"

    def _post_message(self, params: Mapping[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        text, blocks = _content(params)
        thread_ts = _optional_str(params.get("thread_ts"))
        if thread_ts is not None:
            parent = self._find(channel, thread_ts)
            if parent is None:
                raise _Refusal("thread_not_found")
            # A reply to a reply goes to its parent's thread, as in Slack.
            thread_ts = parent.thread_ts or parent.ts
        ts = self._next_ts()
        message = Message(
            channel=channel,
            ts=ts,
            thread_ts=thread_ts,
            text=text,
            blocks=blocks,
            reply_broadcast=thread_ts is not None and _flag(params.get("reply_broadcast")),
            versions=[Version(text, blocks)],
        )
        self.messages.append(message)
        return {"channel": channel, "ts": ts, "message": _as_slack(message)}

    def _update(self, params: Mapping[str, Any]) -> dict[str, Any]:
        # Slack lets the author edit its message wherever it is; no membership check.
        channel = self._channel(params, member=False)
        ts = _optional_str(params.get("ts"))
        message = self._find(channel, ts) if ts else None
        if message is None:
            raise _Refusal("message_not_found")
        text, blocks = _content(params)
        # chat.update keeps the blocks when only the text is given, and clears them when
        # blocks is an empty list (chat.update, "blocks").
        if "blocks" not in params:
            blocks = message.blocks
        message.text, message.blocks = text, blocks
        message.versions.append(Version(text, blocks))
        return {
            "channel": channel,
            "ts": message.ts,
            "text": text,
            "message": _as_slack(message),
        }

    def _post_ephemeral(self, params: Mapping[str, Any]) -> dict[str, Any]:
        channel = self._channel(params)
        user = _optional_str(params.get("user"))
        if not user:
            raise _Refusal("user_not_found")
        text, blocks = _content(params)
        thread_ts = _optional_str(params.get("thread_ts"))
        self.ephemerals.append(Ephemeral(channel, user, text, blocks, thread_ts))
        return {"message_ts": self._next_ts()}

    def _find(self, channel: str, ts: str) -> Message | None:
        for m in self.messages:
            if m.channel == channel and m.ts == ts:
                return m
        return None


def _optional_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in ("1", "true")
    return bool(value)


def _content(params: Mapping[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    text = params.get("text")
    text = "" if text is None else str(text)
    raw = params.get("blocks")
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else []
        except ValueError:
            raise _Refusal("invalid_blocks_format") from None
    blocks: list[dict[str, Any]] = []
    if raw is not None:
        if not isinstance(raw, list) or not all(isinstance(b, dict) for b in raw):
            raise _Refusal("invalid_blocks_format")
        blocks = raw
    if not text and not blocks:
        raise _Refusal("no_text")
    if len(text) > MAX_TEXT:
        raise _Refusal("msg_too_long")
    problems = block_kit_problems(blocks)
    if problems:
        raise _Refusal("invalid_blocks", errors=problems)
    return text, blocks


def block_kit_problems(blocks: list[dict[str, Any]]) -> list[str]:
    """What slack_sdk's Block Kit models find wrong with `blocks`; empty when they are valid.

    Each block is parsed into its model (Block.parse), checked (validate_json: lengths,
    counts, required fields), and turned back into JSON, which must be the block as sent:
    the models drop a key they do not know, so a misspelt or misplaced key shows as a
    difference.
    """
    if len(blocks) > MAX_BLOCKS:
        return [f"{len(blocks)} blocks, more than {MAX_BLOCKS}"]
    problems = []
    for index, raw in enumerate(blocks):
        where = f"blocks[{index}] ({raw.get('type')})"
        try:
            block = Block.parse(raw)
            if block is None:
                problems.append(f"{where}: not a block type slack_sdk knows")
                continue
            block.validate_json()
            # to_dict validates the elements inside the block too (a button's value, …).
            as_json = block.to_dict()
        except (SlackObjectFormationError, KeyError, TypeError, ValueError) as error:
            problems.append(f"{where}: {error}")
            continue
        if as_json != raw:
            problems.append(f"{where}: keys slack_sdk does not know: {as_json} != {raw}")
    return problems


def _as_slack(message: Message) -> dict[str, Any]:
    """The message as Slack returns it: what was sent, with its author filled in."""
    body: dict[str, Any] = {
        "type": "message",
        "subtype": "bot_message",
        "text": message.text,
        "ts": message.ts,
        "bot_id": BOT_ID,
        "user": BOT_USER,
        "app_id": APP_ID,
    }
    if message.blocks:
        body["blocks"] = message.blocks
    if message.thread_ts is not None:
        body["thread_ts"] = message.thread_ts
    return body


class _Handler(BaseHTTPRequestHandler):
    stand_in: SlackWebApi
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the tests read .calls

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        method = parts.path.removeprefix(PREFIX) if parts.path.startswith(PREFIX) else ""
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if parts.path == WEBHOOK_PATH or parts.path.startswith(RESPONSE_PATH):
            answered = self.stand_in._hook(
                WEBHOOK if parts.path == WEBHOOK_PATH else RESPONSE_URL, raw
            )
            if answered is None:
                self.close_connection = True
                return
            status, headers, text = answered
            self._write(status, {"Content-Type": "text/html", **headers}, text.encode())
            return
        if method not in API_METHODS:
            self._send(HTTPStatus.OK, {}, {"ok": False, "error": "unknown_method"})
            return
        params: dict[str, Any] = dict(parse_qsl(parts.query))
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        try:
            if content_type == "application/json":
                document = json.loads(raw or b"{}")
                if not isinstance(document, dict):
                    raise ValueError("not an object")
                params.update(document)
            else:
                params.update(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        except ValueError:
            self._send(HTTPStatus.OK, {}, {"ok": False, "error": "invalid_json"})
            return
        token = None
        authorization = self.headers.get("Authorization") or ""
        if authorization.startswith("Bearer "):
            token = authorization.removeprefix("Bearer ").strip()
        body_token = params.pop("token", None)
        # A token in a JSON body is not read by Slack: JSON calls must use the header.
        if token is None and content_type != "application/json" and body_token:
            token = str(body_token)
        status, headers, body = self.stand_in._answer(method, params, token)
        if status == 0:
            self.close_connection = True
            return
        self._send(status, headers, body)

    def do_GET(self) -> None:
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, {}, {"ok": False, "error": "method_not_allowed"})

    def _send(self, status: int, headers: Mapping[str, str], body: Mapping[str, Any]) -> None:
        json_type = {"Content-Type": "application/json; charset=utf-8"}
        self._write(status, {**json_type, **headers}, json.dumps(body).encode())

    def _write(self, status: int, headers: Mapping[str, str], data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
