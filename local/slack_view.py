"""Slack as a reader sees it, in plain terminal text: what the stand-in (harness/slack_web_api)
received, rendered block by block the way Slack draws it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from harness.slack_web_api import Message, SlackWebApi

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
    """The payload as a reader would see it in Slack."""
    lines: list[str] = []
    for block in payload.get("blocks") or []:
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
            # Buttons (app mode's retry): a label in a box, as Slack draws them.
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


def as_payload(message: Message, version: int = -1) -> dict[str, Any]:
    shown = message.versions[version]
    return {"text": shown.text, "blocks": shown.blocks}


def own_messages(slack: SlackWebApi) -> list[Message]:
    """The app's messages in the channel: not thread replies."""
    return [m for m in slack.top_level() if not m.is_reply]


def record(slack: SlackWebApi) -> dict[str, Any]:
    """Everything Slack received, for local/out/*.slack.json: the webhook's posts; in app mode
    each message with its versions and replies, and the answers only the presser saw."""
    return {
        "webhook": list(slack.webhook_posts),
        "messages": [
            {
                "ts": m.ts,
                "versions": [{"text": v.text, "blocks": v.blocks} for v in m.versions],
                "replies": [
                    {"text": r.text, "blocks": r.blocks, "broadcast": r.reply_broadcast}
                    for r in slack.replies(m.ts)
                ],
            }
            for m in own_messages(slack)
        ],
        "responses": list(slack.responses),
        "calls": [[method, params] for method, params in slack.calls],
    }


@dataclass
class Shown:
    """What of Slack the console has shown so far, so that each step shows what is new: a
    webhook's posts; in app mode each version of a message, its thread replies, and the answers
    only a presser sees."""

    posts: int = 0
    versions: dict[str, int] = field(default_factory=dict)
    replies: set[str] = field(default_factory=set)
    responses: int = 0

    def new(self, slack: SlackWebApi) -> list[tuple[str, dict[str, Any]]]:
        shown: list[tuple[str, dict[str, Any]]] = [
            ("only the presser sees", r) for r in slack.responses[self.responses :]
        ]
        self.responses = len(slack.responses)
        shown.extend(("", post) for post in slack.webhook_posts[self.posts :])
        self.posts = len(slack.webhook_posts)
        for message in own_messages(slack):
            for n in range(self.versions.get(message.ts, 0), len(message.versions)):
                shown.append(("posted" if n == 0 else "updated in place", as_payload(message, n)))
            self.versions[message.ts] = len(message.versions)
            for reply in slack.replies(message.ts):
                if reply.ts not in self.replies:
                    self.replies.add(reply.ts)
                    label = "thread reply" + (
                        ", also sent to the channel" if reply.reply_broadcast else ""
                    )
                    shown.append((label, {"text": reply.text, "blocks": reply.blocks}))
        return shown
