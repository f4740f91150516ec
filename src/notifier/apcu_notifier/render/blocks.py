"""Slack's Block Kit as the messages use it: escaping, clipping to Slack's limits (docs.slack.dev,
Block Kit reference), and the few blocks they are made of. No I/O. Every string from AWS or a
notification is escaped, so that `<!channel>` in a group name shows as text and notifies no one."""

from __future__ import annotations

import html
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
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")

Block = dict[str, Any]
Payload = dict[str, Any]


def escape(text: str) -> str:
    """Slack's mrkdwn escaping: &, < and >, the only three characters it asks to replace."""
    return html.escape(text, quote=False)


def clip(text: str, limit: int) -> str:
    """Cut escaped mrkdwn to `limit` characters, without leaving half an entity behind."""
    if len(text) <= limit:
        return text
    return _PARTIAL_ENTITY.sub("", text[: limit - 1]) + "…"


def escape_clip(text: str, limit: int) -> str:
    return clip(escape(text), limit)


def code_block(raw: str, limit: int) -> str:
    # Three backticks inside the output would end the block early; a modifier grave
    # accent looks the same and cannot.
    inner = escape_clip(raw.replace("`", "\u02cb"), max(limit - 6, 1))
    return f"```{inner}```" if inner else ""


def console_url(region: str, command_id: str) -> str:
    return (
        f"https://{region}.console.aws.amazon.com/systems-manager/run-command/"
        f"{quote(command_id, safe='-')}?region={quote(region, safe='-')}"
    )


def header(text: str) -> Block:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": clip(text, HEADER_TEXT), "emoji": True},
    }


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_TEXT)}}


def fields(pairs: Sequence[tuple[str, str]]) -> Block:
    texts = [clip(f"*{label}*\n{value}", FIELD_TEXT) for label, value in pairs[:MAX_FIELDS]]
    return {"type": "section", "fields": [{"type": "mrkdwn", "text": text} for text in texts]}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, SECTION_TEXT)}]}


def payload(text: str, shown: Sequence[Block]) -> Payload:
    """A message: its top-level text and its blocks, within Slack's limits."""
    return {"text": clip(text, FALLBACK_TEXT), "blocks": list(shown[:MAX_BLOCKS])}


def pack(title: str, items: Sequence[str], more: str, separator: str, total: int) -> str:
    """`title`, as many items as fit in a section, then `more` ("…and {count} more") for the
    rest; `total` counts them all, more than `items` when the verdict kept only the first."""
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
