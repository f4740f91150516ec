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
from apcu_notifier.config import Language
from apcu_notifier.messages import messages
from apcu_notifier.render import (
    FALLBACK_TEXT,
    HEADER_TEXT,
    MAX_BLOCKS,
    MAX_FIELDS,
    Payload,
    clip,
    console_url,
    escape,
    escape_clip,
    render_parts,
)
from apcu_notifier.verdict import Verdict

# The retry button, as the dispatcher's POST /slack/actions reads it (docs/design.md).
# Block Kit: a button's text is plain_text of at most 75 characters.
BUTTON_TEXT = 75


@dataclass(frozen=True)
class VerdictMessages:
    """`message`: what the clear's message becomes; `detail`: a thread reply, when the verdict
    has per-instance detail; `alert`: the thread reply also sent to the channel, for an alert
    (an edit notifies no one)."""

    message: Payload
    detail: Payload | None
    alert: Payload | None


def started(record: Clear, *, language: Language, region: str) -> Payload:
    """The clear's message while its command runs: who asked for what, on which group."""
    m = messages(language)
    job = m.jobs.get(record.action, m.jobs["clear-apcu"])
    title = m.title_started.format(job=job.job)
    group = escape_clip(record.group, 200)
    fields = [
        (m.label_group, group),
        (m.label_requester, escape_clip(record.requester, 500) or m.none),
        (m.label_comment, escape_clip(record.comment, 500) if record.comment else m.none),
        (m.label_prefix, f"`{escape(record.prefix)}`" if record.prefix else m.whole_cache),
        (m.label_action, f"`{escape(record.action)}`"),
        (m.label_command, f"`{escape(record.clear_id)}`"),
    ]
    link = m.console_link.format(url=console_url(region, record.clear_id))
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": clip(title, HEADER_TEXT), "emoji": True},
        },
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": m.summary_started.format(target=group)},
        },
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*{label}*\n{value}"}
                for label, value in fields[:MAX_FIELDS]
            ],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": link}]},
    ]
    text = m.fallback.format(title=title, target=group, command_id=escape(record.clear_id))
    return {"text": clip(text, FALLBACK_TEXT), "blocks": blocks}


def for_verdict(
    verdict: Verdict,
    *,
    language: Language,
    mention: str,
    region: str,
    warm_pool_exit_clears: bool = True,
    first_command_id: str = "",
    group: str = "",
) -> VerdictMessages:
    """`first_command_id`: the clear's first command, whose retry the button asks for ("" for a
    command the stack did not record: no button). `group`: the clear's, named when the verdict
    is a retry's on demand (it targets instance ids, not the group)."""
    m = messages(language)
    # The mention goes in the reply that notifies: in an edited message it would notify no one.
    parts = render_parts(
        verdict,
        language=language,
        mention="",
        region=region,
        warm_pool_exit_clears=warm_pool_exit_clears,
    )
    blocks = [*parts.head, *parts.tail]
    if first_command_id and group and verdict.command_id != first_command_id:
        line = m.retry_of_clear.format(
            group=escape_clip(group, 200), first=escape(first_command_id)
        )
        blocks.insert(1, {"type": "context", "elements": [{"type": "mrkdwn", "text": line}]})
    stale = verdict.stale_count if verdict.is_alert else 0
    if stale and first_command_id:
        blocks.append(retry_button(first_command_id, stale, language))
    message = {"text": parts.text, "blocks": blocks[:MAX_BLOCKS]}
    detail = None
    if parts.detail:
        detail = {
            "text": clip(m.details_text.format(title=parts.title), FALLBACK_TEXT),
            "blocks": parts.detail[:MAX_BLOCKS],
        }
    alert = None
    if verdict.is_alert:
        lead = f"{mention} " if mention else ""
        reply = lead + m.alert_reply.format(title=parts.title)
        alert = {
            "text": clip(lead + parts.text, FALLBACK_TEXT),
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": reply}}],
        }
    return VerdictMessages(message=message, detail=detail, alert=alert)


def retry_button(first_command_id: str, stale: int, language: Language) -> dict[str, Any]:
    m = messages(language)
    label = m.retry_button_one if stale == 1 else m.retry_button.format(count=stale)
    return {
        "type": "actions",
        "block_id": RETRY_BLOCK_ID,
        "elements": [
            {
                "type": "button",
                "action_id": RETRY_ACTION_ID,
                "text": {"type": "plain_text", "text": label[:BUTTON_TEXT], "emoji": True},
                "value": first_command_id,
                "style": "primary",
            }
        ],
    }
