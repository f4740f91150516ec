"""Slack's Block Kit, as the messages use it: escaping, clipping to Slack's limits, and the few
blocks they are made of. No I/O.

Slack limits (docs.slack.dev, Block Kit reference): 50 blocks per message, header plain_text
150 characters, section text 3,000, at most 10 fields of 2,000 each, 10 context elements.
Every string that comes from AWS or from the notification is escaped (&, <, >) so that a group
name or command output holding `<!channel>` shows as text and notifies no one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

MAX_BLOCKS = 50
HEADER_TEXT = 150
SECTION_TEXT = 3000
FIELD_TEXT = 2000
MAX_FIELDS = 10
# Top-level text is what mobile notifications show; Slack truncates it far later (40,000),
# but a notification only needs the gist.
FALLBACK_TEXT = 3000

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")

Block = dict[str, Any]
Payload = dict[str, Any]


def escape(text: str) -> str:
    """Slack's mrkdwn escaping: the only three characters it asks to replace."""
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def escape_clip(text: str, limit: int) -> str:
    """Escape, and cut so the escaped text is at most `limit` characters, never mid-entity."""
    pieces: list[str] = []
    size = 0
    for index, ch in enumerate(text):
        piece = _ESCAPES.get(ch, ch)
        remaining = len(text) - index
        if size + len(piece) > limit or (size + len(piece) == limit and remaining > 1):
            pieces.append("…")
            break
        pieces.append(piece)
        size += len(piece)
    return "".join(pieces)


def clip(text: str, limit: int) -> str:
    """Cut already-escaped mrkdwn, without leaving half an entity behind."""
    if len(text) <= limit:
        return text
    return _PARTIAL_ENTITY.sub("", text[: limit - 1]) + "…"


def code_block(raw: str, limit: int) -> str:
    # Three backticks inside the output would end the block early; a modifier grave
    # accent looks the same and cannot.
    inner = escape_clip(raw.replace("`", "\u02cb"), max(limit - 6, 1))
    return f"```{inner}```" if inner else ""


def console_url(region: str, command_id: str) -> str:
    safe_id = quote(command_id, safe="-")
    return (
        f"https://{region}.console.aws.amazon.com/systems-manager/run-command/"
        f"{safe_id}?region={quote(region, safe='-')}"
    )


def header(text: str) -> Block:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": clip(text, HEADER_TEXT), "emoji": True},
    }


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_TEXT)}}


def fields(pairs: Sequence[tuple[str, str]]) -> Block:
    return {
        "type": "section",
        "fields": [
            {"type": "mrkdwn", "text": clip(f"*{label}*\n{value}", FIELD_TEXT)}
            for label, value in pairs[:MAX_FIELDS]
        ],
    }


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, SECTION_TEXT)}]}


def pack(
    title: str,
    items: Sequence[str],
    more: str,
    *,
    separator: str,
    total: int | None = None,
) -> str:
    """A section's text: `title`, then as many items as fit in Slack's 3,000 characters, then
    `more` ("…and {count} more") for the rest. `total`: how many there are in all, when the
    verdict kept only the first ones."""
    total = len(items) if total is None else total
    reserve = len(more.format(count=total)) + 1
    text, shown = title, 0
    for item in items:
        candidate = text + (separator if shown else "\n") + item
        last = shown + 1 == total
        if len(candidate) + (0 if last else reserve) > SECTION_TEXT:
            break
        text, shown = candidate, shown + 1
    if shown < total:
        text += "\n" + more.format(count=f"{total - shown:,}")
    return text
