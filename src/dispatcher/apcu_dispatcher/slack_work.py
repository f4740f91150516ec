"""The asynchronous half of POST /slack/actions (apcu_dispatcher.slack): the request, as Slack
signed it, checked again (anyone allowed lambda:InvokeFunction can shape this event), then done:
a press of the retry button starts the retry, and its button gives way to who asked; a slash
command sends the clear. What came of it is told on the request's response_url, only to whoever
asked.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from apcu_clear.errors import CLEAR_IN_PROGRESS, Refusal
from apcu_clear.observability import logger
from apcu_clear.slack_app import RETRY_BLOCK_ID, AppSecret
from apcu_dispatcher import retry, sending, validation
from apcu_dispatcher.runtime import Runtime
from apcu_dispatcher.slack import (
    TIMEOUT_SECONDS,
    USAGE,
    WORK,
    Asked,
    Press,
    Signed,
    secret_of,
    signature_problem,
    tell,
)
from apcu_dispatcher.status import clear_id_of

ASKED_BLOCK_ID = "apcu_retry_asked"
_MAX_TEXT = 300
_MAX_NAME = 40
# A context block's text holds at most 3,000 characters (Block Kit reference).
_MAX_LINE = 3000


def work(event: dict[str, Any], rt: Runtime) -> str:
    """The request checked again, done, and answered on response_url; the outcome to count."""
    raw = event[WORK] if isinstance(event[WORK], dict) else {}
    signed = Signed(*(str(raw.get(name, "")) for name in ("body", "timestamp", "signature")))
    secret = secret_of(rt)
    problem = signature_problem(signed, secret, time.time())
    if problem is not None:
        logger.warning("Slack work refused: signature check failed", extra={"reason": problem})
        return "SlackUnauthorized"
    asked = Asked.of(signed.body)
    if asked.user not in rt.config.slack_allowed_users:
        return "SlackNotAllowed"
    shown = "".join(c for c in asked.user_name if c.isprintable())[:_MAX_NAME]
    requester = f"slack:{asked.user} ({shown})" if shown else f"slack:{asked.user}"
    try:
        if asked.press is not None:
            # The button gives way before the retry starts: from then on only the retry's own
            # clear writes to this message, so its verdict is never overwritten by this update.
            line = f"Retry asked by <@{asked.user}>; its verdict will update this message"
            _show_asked(rt, secret, asked.press, line)
            started = retry.retry(clear_id_of(asked.press.value), requester, rt, origin="slack")
            retried = len(started.body["retried"])
            tell(
                asked,
                f"Retry asked by <@{asked.user}>: clear {started.clear_id} to {retried} "
                f"instance{'s' if retried != 1 else ''}; its verdict will update this message",
            )
            return "SlackRetryAccepted"
        words = unescape((asked.command or "")[:_MAX_TEXT]).split()
        if len(words) not in (2, 3) or words[0] != "clear":
            tell(asked, USAGE)
            return "SlackCommandRejected"
        body = {"group": words[1], "action": validation.CLEAR_APCU}
        request = validation.validate_request(
            body | ({"prefix": words[2]} if len(words) == 3 else {}),
            allowed_groups=rt.config.shared.allowed_groups,
            requester=requester,
        )
        done = sending.clear_group(dataclasses.replace(request, origin="slack"), rt)
        assert isinstance(done, sending.Started)
        prefix = f" of the keys starting {request.prefix}" if request.prefix else ""
        lines = [
            f"202: clear{prefix} sent to {request.group} ({done.body['expect']['inService']} "
            f"InService), command {done.command_id}; its verdict will be posted in the channel.",
            *(f"warning {w['reason']}: {w['message']}" for w in done.body["warnings"]),
        ]
        tell(asked, "\n".join(lines))
        return "SlackCommandAccepted"
    except Exception as error:
        # A refusal, or AWS failing in a way the presser may try again: said on response_url.
        # Anything else is a fault of the function's, raised so that Lambda tries the event
        # again.
        refusal = error if isinstance(error, Refusal) else sending.as_refusal(error)
        if refusal is None:
            raise
        if asked.press is not None and refusal.rule != CLEAR_IN_PROGRESS:
            # Nothing was started: the button comes back, with why the press was refused. A
            # clear in progress may be this very retry (Lambda's retry of this event): its
            # message is left to it.
            line = f"Retry asked by <@{asked.user}> refused: {refusal.message}"
            _show_asked(rt, secret, asked.press, line, button=True)
        usage = f"\n{USAGE}" if asked.press is None else ""
        tell(asked, f"Refused ({refusal.rule}): {refusal.message}{usage}")
        return "SlackRefused"


def unescape(text: str) -> str:
    """A slash command's text as typed: Slack escapes &, < and >; &amp; last."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _show_asked(
    rt: Runtime, secret: AppSecret, press: Press, line: str, *, button: bool = False
) -> None:
    """The pressed message with `line` in place of its button (so that nobody presses it
    again), or under it (`button`: the press was refused, the button stays)."""
    from slack_sdk import WebClient

    gone = {ASKED_BLOCK_ID} if button else {ASKED_BLOCK_ID, RETRY_BLOCK_ID}
    blocks = [
        b
        for b in press.message.get("blocks", [])
        if isinstance(b, dict) and b.get("block_id") not in gone
    ]
    context = {"type": "mrkdwn", "text": line[:_MAX_LINE]}
    blocks.append({"type": "context", "block_id": ASKED_BLOCK_ID, "elements": [context]})
    original = press.message.get("text")
    text = f"{original} ({line})" if isinstance(original, str) and original else line
    try:
        client = WebClient(
            token=secret.bot_token,
            base_url=rt.config.shared.slack.api_url,
            timeout=TIMEOUT_SECONDS,
            retry_handlers=[],
        )
        client.chat_update(channel=press.channel, ts=press.ts, text=text, blocks=blocks)
    except Exception as error:
        logger.warning("pressed message not updated", extra={"error": type(error).__name__})
