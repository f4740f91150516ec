"""Slack app mode's messages, with no I/O: the clear's start message, and a verdict split into
the clear's message (updated in place), the detail in its thread, and the reply that notifies.

The verdict's sentences and blocks are apcu_notifier.render's, in both languages; only what
app mode adds (the start message, the button, the reply texts) is written here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from apcu_clear.record import Clear
from apcu_clear.slack_app import RETRY_ACTION_ID, RETRY_BLOCK_ID
from apcu_notifier.messages import messages
from apcu_notifier.render import Payload, Request, Style, render_parts
from apcu_notifier.render.blocks import (
    FALLBACK_TEXT,
    MAX_BLOCKS,
    clip,
    console_url,
    context,
    escape,
    escape_clip,
    fields,
    header,
    section,
)
from apcu_notifier.render.words import requester
from apcu_notifier.verdict import Verdict

# Block Kit: a button's text is plain_text of at most 75 characters.
BUTTON_TEXT = 75
GROUP_TEXT = 200
COMMENT_TEXT = 500


@dataclass(frozen=True)
class VerdictMessages:
    """`message`: what the clear's message becomes; `detail`: a thread reply, when the verdict
    has per-instance detail; `alert`: the thread reply also sent to the channel, for an alert
    (an edit notifies no one)."""

    message: Payload
    detail: Payload | None
    alert: Payload | None


def started(record: Clear, style: Style) -> Payload:
    """The clear's message while its command runs: who asked for what, on which group."""
    m = messages(style.language)
    job = m.jobs.get(record.action, m.jobs["clear-apcu"])
    title = m.title_started.format(job=job.job)
    group = escape_clip(record.group, GROUP_TEXT)
    pairs = [
        (m.label_group, group),
        (m.label_requester, requester(record.requester) or m.none),
        (m.label_comment, escape_clip(record.comment, COMMENT_TEXT) or m.none),
        (m.label_prefix, f"`{escape(record.prefix)}`" if record.prefix else m.whole_cache),
        (m.label_action, f"`{escape(record.action)}`"),
        (m.label_command, f"`{escape(record.clear_id)}`"),
    ]
    link = m.console_link.format(url=console_url(style.region, record.clear_id))
    blocks = [
        header(title),
        section(m.summary_started.format(target=group)),
        fields(pairs),
        context(link),
    ]
    text = m.fallback.format(title=title, target=group, command_id=escape(record.clear_id))
    return {"text": clip(text, FALLBACK_TEXT), "blocks": blocks}


def for_verdict(verdict: Verdict, style: Style, request: Request) -> VerdictMessages:
    """`request`: the clear's, whose id the button names; a command the stack did not record
    has none, and no button."""
    m = messages(style.language)
    stale = verdict.stale_count if verdict.is_alert and request.recorded else 0
    # The mention goes in the reply that notifies: in an edited message it would notify no one.
    parts = render_parts(verdict, style, request, button=bool(stale), mention=False)
    blocks = [*parts.head, *parts.tail]
    if stale:
        blocks.append(retry_button(request.clear_id, stale, style))
    message = {"text": parts.text, "blocks": blocks[:MAX_BLOCKS]}
    detail = None
    if parts.detail:
        detail = {
            "text": clip(m.details_text.format(title=parts.title), FALLBACK_TEXT),
            "blocks": parts.detail[:MAX_BLOCKS],
        }
    alert = None
    if verdict.is_alert:
        lead = f"{style.mention} " if style.mention else ""
        reply = lead + m.alert_reply.format(title=parts.title)
        alert = {"text": clip(lead + parts.text, FALLBACK_TEXT), "blocks": [section(reply)]}
    return VerdictMessages(message=message, detail=detail, alert=alert)


def retry_button(clear_id: str, stale: int, style: Style) -> dict[str, Any]:
    """The button POST /slack/actions reads (docs/design.md): its value is the clear's id."""
    m = messages(style.language)
    label = m.retry_button.format(stale=m.instances(stale))
    return {
        "type": "actions",
        "block_id": RETRY_BLOCK_ID,
        "elements": [
            {
                "type": "button",
                "action_id": RETRY_ACTION_ID,
                "text": {"type": "plain_text", "text": label[:BUTTON_TEXT], "emoji": True},
                "value": clear_id,
                "style": "primary",
            }
        ],
    }
