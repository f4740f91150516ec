"""Slack app mode's messages, with no I/O: the clear's start message, and a verdict split into
the clear's message (updated in place), the detail in its thread, and the reply that notifies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apcu_clear.record import Clear
from apcu_clear.slack_app import RETRY_ACTION_ID, RETRY_BLOCK_ID
from apcu_notifier.messages import CATALOGUE
from apcu_notifier.messages.en import Messages
from apcu_notifier.render import Payload, Request, Style, blocks, render_parts
from apcu_notifier.render.words import COMMENT_TEXT, NAME_TEXT, NONE, fallback, job, requester
from apcu_notifier.verdict import Verdict

# Block Kit: a button's text is plain_text of at most 75 characters.
BUTTON_TEXT = 75


@dataclass(frozen=True)
class VerdictMessages:
    """What the clear's message becomes, its detail as a thread reply (None without per-instance
    detail), and for an alert the reply also sent to the channel (an edit notifies no one)."""

    message: Payload
    detail: Payload | None
    alert: Payload | None


def started(record: Clear, style: Style) -> Payload:
    """The clear's message while its command runs: who asked for what, on which group."""
    m = CATALOGUE[style.language]
    title = m.title_started.format(job=job(m, record.action).job)
    group = blocks.escape_clip(record.group, NAME_TEXT)
    prefix = f"`{blocks.escape(record.prefix)}`" if record.prefix else m.whole_cache
    pairs = [
        (m.label_group, group),
        (m.label_requester, requester(record.requester) or NONE),
        (m.label_comment, blocks.escape_clip(record.comment, COMMENT_TEXT) or NONE),
        (m.label_prefix, prefix),
        (m.label_action, f"`{blocks.escape(record.action)}`"),
        (m.label_command, f"`{blocks.escape(record.clear_id)}`"),
    ]
    link = m.console_link.format(url=blocks.console_url(style.region, record.clear_id))
    summary = blocks.section(m.summary_started.format(target=group))
    shown = [blocks.header(title), summary, blocks.fields(pairs), blocks.context(link)]
    return blocks.payload(fallback(m, title, record.clear_id, group), shown)


def for_verdict(verdict: Verdict, style: Style, request: Request) -> VerdictMessages:
    """`request`: the clear's, whose id the button names; a command the stack did not record
    has none, and no button."""
    m = CATALOGUE[style.language]
    stale = verdict.stale_count if verdict.is_alert and request.recorded else 0
    # The mention goes in the reply that notifies: in an edited message it would notify no one.
    parts = render_parts(verdict, style, request, button=bool(stale), mention=False)
    button = [retry_button(request.clear_id, stale, m)] if stale else []
    message = blocks.payload(parts.text, [*parts.head, *parts.tail, *button])
    details = m.details_text.format(title=parts.title)
    detail = blocks.payload(details, parts.detail) if parts.detail else None
    alert: Payload | None = None
    if verdict.is_alert:
        lead = f"{style.mention} " if style.mention else ""
        reply = blocks.section(lead + m.alert_reply.format(title=parts.title))
        alert = blocks.payload(lead + parts.text, [reply])
    return VerdictMessages(message, detail, alert)


def retry_button(clear_id: str, stale: int, m: Messages) -> dict[str, Any]:
    """The button POST /slack/actions reads (docs/design.md): its value is the clear's id."""
    label = m.retry_button.format(stale=m.instances(stale))
    button = {
        "type": "button",
        "action_id": RETRY_ACTION_ID,
        "text": {"type": "plain_text", "text": label[:BUTTON_TEXT], "emoji": True},
        "value": clear_id,
        "style": "primary",
    }
    return {"type": "actions", "block_id": RETRY_BLOCK_ID, "elements": [button]}
