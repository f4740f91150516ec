"""The asynchronous half of POST /slack/actions (apcu_dispatcher.slack): the request, as Slack
signed it, checked again (the signature is the only proof the request is Slack's: anyone allowed
lambda:InvokeFunction can shape this event), then done: a press of the retry button starts the
retry, and its button gives way to who asked; a slash command sends the clear. What came of it
is told on the request's response_url, only to whoever asked.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

from apcu_clear.errors import CLEAR_IN_PROGRESS, Refusal
from apcu_clear.observability import logger
from apcu_clear.slack_app import RETRY_BLOCK_ID, AppSecret
from apcu_dispatcher import retry, sending, validation
from apcu_dispatcher.failures import as_refusal
from apcu_dispatcher.runtime import Runtime
from apcu_dispatcher.slack import (
    TIMEOUT_SECONDS,
    USAGE,
    WORK,
    Signed,
    press_of,
    secret_of,
    signature_problem,
    tell,
    user_of,
)
from apcu_dispatcher.status import clear_id_of

ASKED_BLOCK_ID = "apcu_retry_asked"
_MAX_TEXT = 300
_MAX_NAME = 40
# A context block's text holds at most 3,000 characters (Block Kit reference).
_MAX_LINE = 3000


def work(event: dict[str, Any], rt: Runtime) -> str:
    """The asynchronous half: the request checked again, done, and answered on response_url."""
    raw: dict[str, Any] = event[WORK] if isinstance(event.get(WORK), dict) else {}
    signed = Signed(
        str(raw.get("body", "")), str(raw.get("timestamp", "")), str(raw.get("signature", ""))
    )
    secret = secret_of(rt)
    problem = signature_problem(signed, secret, time.time())
    if problem is not None:
        logger.warning("Slack work refused: signature check failed", extra={"reason": problem})
        return "SlackUnauthorized"
    form = signed.form()
    user = user_of(form)
    if user not in rt.config.slack_allowed_users:
        return "SlackNotAllowed"
    requester = requester_of(user, form.get("user_name", [""])[0] or _press_user_name(form))
    press = press_of(form)
    try:
        if press is not None:
            # The button gives way before the retry starts: from then on only the retry's own
            # clear writes to this message, so its verdict is never overwritten by this update.
            _show_asked(
                rt, secret, press, f"Retry asked by <@{user}>; its verdict will update this message"
            )
            started = retry.retry(clear_id_of(press["value"]), requester, rt, origin="slack")
            retried = len(started.body["retried"])
            tell(
                form,
                f"Retry asked by <@{user}>: clear {started.clear_id} to {retried} "
                f"instance{'s' if retried != 1 else ''}; its verdict will update this message",
            )
            return "SlackRetryAccepted"
        words = unescape(form.get("text", [""])[0][:_MAX_TEXT]).split()
        if len(words) not in (2, 3) or words[0] != "clear":
            tell(form, USAGE)
            return "SlackCommandRejected"
        body = {
            "group": words[1],
            "action": validation.CLEAR_APCU,
            **({"prefix": words[2]} if len(words) == 3 else {}),
        }
        request = validation.validate_request(
            body, allowed_groups=rt.config.shared.allowed_groups, requester=requester
        )
        request = dataclasses.replace(request, origin="slack")
        done = sending.clear_group(request, rt)
        assert isinstance(done, sending.Started)
        expect = done.body["expect"]
        prefix = f" of the keys starting {request.prefix}" if request.prefix else ""
        lines = [
            f"202: clear{prefix} sent to {request.group} ({expect['inService']} InService), command "
            f"{done.command_id}; its verdict will be posted in the channel.",
            *(f"warning {w['reason']}: {w['message']}" for w in done.body["warnings"]),
        ]
        tell(form, "\n".join(lines))
        return "SlackCommandAccepted"
    except Exception as error:
        # A refusal, or AWS failing in a way the presser may try again: said on response_url.
        # Anything else is a fault of the function's, raised so that Lambda tries the event
        # again.
        refusal = error if isinstance(error, Refusal) else as_refusal(error)
        if refusal is None:
            raise
        if press is not None and refusal.rule != CLEAR_IN_PROGRESS:
            # Nothing was started: the button comes back, with why the press was refused. A
            # clear in progress may be this very retry (Lambda's retry of this event): its
            # message is left to it.
            _show_asked(
                rt,
                secret,
                press,
                f"Retry asked by <@{user}> refused: {refusal.message}",
                button=True,
            )
        tell(
            form,
            f"Refused ({refusal.rule}): {refusal.message}"
            + (f"\n{USAGE}" if press is None else ""),
        )
        return "SlackRefused"


def requester_of(user_id: str, name: str) -> str:
    """Who asked from Slack, as a command's Comment and the record name them."""
    shown = "".join(c for c in name if c.isprintable())[:_MAX_NAME]
    return f"slack:{user_id} ({shown})" if shown else f"slack:{user_id}"


def unescape(text: str) -> str:
    """A slash command's text as typed: Slack escapes &, < and >; &amp; last."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _show_asked(
    rt: Runtime, secret: AppSecret, press: dict[str, Any], line: str, *, button: bool = False
) -> None:
    """The pressed message with `line` in place of its button (so that nobody presses it
    again), or under it (`button`: the press was refused, the button stays)."""
    from slack_sdk import WebClient

    blocks = [
        b
        for b in press["message"].get("blocks", [])
        if isinstance(b, dict) and b.get("block_id") != ASKED_BLOCK_ID
    ]
    context = {
        "type": "context",
        "block_id": ASKED_BLOCK_ID,
        "elements": [{"type": "mrkdwn", "text": line[:_MAX_LINE]}],
    }
    if not button:
        blocks = [b for b in blocks if b.get("block_id") != RETRY_BLOCK_ID]
    blocks.append(context)
    original = press["message"].get("text")
    text = f"{original} ({line})" if isinstance(original, str) and original else line
    try:
        client = WebClient(
            token=secret.bot_token,
            base_url=rt.config.shared.slack.api_url,
            timeout=TIMEOUT_SECONDS,
            retry_handlers=[],
        )
        client.chat_update(channel=press["channel"], ts=press["ts"], text=text, blocks=blocks)
    except Exception as error:
        logger.warning("pressed message not updated", extra={"error": type(error).__name__})


def _press_user_name(form: dict[str, list[str]]) -> str:
    try:
        user = json.loads(form["payload"][0]).get("user", {})
        return str(user.get("username") or user.get("name") or "")
    except (KeyError, IndexError, ValueError, AttributeError):
        return ""
