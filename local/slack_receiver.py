"""A Slack-compatible incoming-webhook receiver on 127.0.0.1.

It answers as Slack does (200 "ok"), keeps every JSON payload, and renders a payload as
readable terminal text. `fail_next` lets a caller queue error answers (429, 500, ...) to see
the notifier's retries without Slack.
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Looks like a real webhook path; it is the "secret" the tests check never leaks.
WEBHOOK_PATH = "/services/T0LOCAL00/B0LOCAL00/local-webhook-token-0123456789"


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    headers: tuple[tuple[str, str], ...] = ()


class SlackReceiver:
    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []
        self._answers: deque[Answer] = deque()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{WEBHOOK_PATH}"

    def fail_next(self, *answers: Answer) -> None:
        with self._lock:
            self._answers.extend(answers)

    def __enter__(self) -> SlackReceiver:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with receiver._lock:
                    queued = receiver._answers.popleft() if receiver._answers else None
                if queued:
                    self._answer(queued)
                    return
                if self.path != WEBHOOK_PATH:
                    self._answer(Answer(404, "no_service"))
                    return
                try:
                    payload = json.loads(raw)
                except ValueError:
                    self._answer(Answer(400, "invalid_payload"))
                    return
                if not isinstance(payload, dict) or not (
                    payload.get("text") or payload.get("blocks")
                ):
                    self._answer(Answer(400, "no_text"))
                    return
                with receiver._lock:
                    receiver.payloads.append(payload)
                self._answer(Answer(200, "ok"))

            def _answer(self, answer: Answer) -> None:
                body = answer.body.encode()
                self.send_response(answer.status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                for name, value in answer.headers:
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return  # keep the terminal for the messages themselves

        return Handler


_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
# Slack shows <!here> as @here, <@U123> as the user's name, <!subteam^S123> as the group's.
_MENTION = re.compile(r"<(?:!subteam\^|!|@)([A-Za-z0-9]+)>")
# mrkdwn *bold*: Slack shows the words in bold, without the asterisks.
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")


def _unescape(text: str) -> str:
    # Slack shows <url|label> as a link and &lt; &gt; &amp; as the characters themselves.
    text = _LINK.sub(lambda m: f"{m.group(2)}: {m.group(1)}", text)
    text = _BOLD.sub(r"\1", _MENTION.sub(r"@\1", text))
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def render(payload: dict[str, Any], indent: str = "  │ ") -> str:
    """The payload as a reader would see it in Slack, in plain terminal text."""
    lines: list[str] = []
    for block in payload.get("blocks", []):
        kind = block.get("type")
        if kind == "header":
            # Slack shows a header as written, larger and bold; a terminal has only the text.
            lines.append(_unescape(block["text"]["text"]))
        elif kind == "section":
            if block.get("text"):
                lines.extend(_unescape(block["text"]["text"]).splitlines())
            for item in block.get("fields", []):
                lines.append(_unescape(item["text"]).replace("\n", " "))
        elif kind == "context":
            lines.extend(_unescape(e.get("text", "")) for e in block.get("elements", []))
        elif kind == "divider":
            lines.append("─" * 40)
        elif kind == "actions":
            # Buttons (app mode's retry): shown as Slack draws them, a label in a box.
            lines.append(
                "  ".join(
                    f"[ {_unescape(e['text']['text'])} ]"
                    for e in block.get("elements", [])
                    if e.get("type") == "button"
                )
            )
    if not lines:
        lines = _unescape(str(payload.get("text", ""))).splitlines()
    return "\n".join(indent + line for line in lines)
