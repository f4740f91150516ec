"""App mode's retry button, pressed as Slack presses it: a form POST to the stack's
POST /slack/actions (the local HTTP API in front of the dispatcher), signed with the app's
signing secret. First by someone not in SlackAllowedUsers (refused; only they are told), then by
an allowed user: the route answers at once and hands the press to an asynchronous invocation of
the dispatcher, which starts the retry, a clear of its own whose verdict updates the message."""

from __future__ import annotations

import re
import time
import urllib.request
from collections.abc import Callable

from harness import slack_press
from harness.slack_web_api import SIGNING_SECRET, Message
from local.api_gateway import ApiGateway
from local.context import Demo, ScenarioFailed
from local.embedded_aws import REGION
from local.slack_view import own_messages

OUTSIDER = "U0APCUDEV"
_CLEAR_ID = re.compile(r"\bclear ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b")


def press_retry(demo: Demo, clear_id: str, show: Callable[[], None]) -> str:
    """Press the button twice; the retry's clear id, once its verdict has updated the message."""
    allowed = demo.stack.env["SLACK_ALLOWED_USERS"].split(",")[0]
    message = _with_button(demo)
    label, value = _button(message)
    if value != clear_id:
        raise ScenarioFailed(f"the button asks to retry {value}, not the clear {clear_id}")
    console = demo.console
    with ApiGateway(demo.stack.dispatch, region=REGION) as api:
        status = _press(api, demo, message, OUTSIDER, clear_id)
        demo.stack.lambda_.drain()
        if status != 200 or len(demo.sent) != 1:
            raise ScenarioFailed(f"a press by {OUTSIDER}: HTTP {status}, {len(demo.sent)} commands")
        console.step(
            f"{OUTSIDER} (not in SlackAllowedUsers) presses [ {label} ]: POST /slack/actions, "
            f"signed as Slack signs it -> HTTP {status}; nothing sent"
        )
        show()
        status = _press(api, demo, demo.slack.message(message.ts), allowed, clear_id)
    console.step(
        f"{allowed} presses it -> HTTP {status} at once; the dispatcher hands the press to an "
        "asynchronous invocation of itself, which starts the retry: a clear of its own"
    )
    demo.stack.lambda_.drain()
    errors = demo.stack.lambda_.asynchronous_errors
    if status != 200 or errors:
        raise ScenarioFailed(f"an allowed press: HTTP {status}, errors {errors}")
    retry_id = _retry_of(demo)
    verdict = demo.stack.outcome(retry_id)["verdict"]
    retried = ", ".join(i for _, ids in demo.sent[1:] for i in ids)
    console.step(
        f"the retry {retry_id}: the same clear sent to {retried}; verdict {verdict}. The "
        "message named who asked, then the retry's verdict updated it in place"
    )
    show()
    if verdict != "ok":
        raise ScenarioFailed(f"the retry's verdict is {verdict}")
    return retry_id


def _with_button(demo: Demo) -> Message:
    buttons = [m for m in own_messages(demo.slack) if _button(m)[0]]
    if len(buttons) != 1:
        raise ScenarioFailed(f"{len(buttons)} messages carry the retry button, expected 1")
    return buttons[0]


def _button(message: Message) -> tuple[str, str]:
    """The retry button's label and value (the clear it retries); empty without one."""
    for block in message.blocks:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if element.get("action_id") == slack_press.RETRY_ACTION_ID:
                return str(element["text"]["text"]), str(element.get("value", ""))
    return "", ""


def _press(api: ApiGateway, demo: Demo, message: Message, user: str, clear_id: str) -> int:
    payload = slack_press.block_actions_payload(
        command_id=clear_id,
        user_id=user,
        user_name="ops" if user != OUTSIDER else "dev",
        channel=message.channel,
        message_ts=message.ts,
        message={"type": "message", "text": message.text, "blocks": message.blocks},
    )
    # Slack's answers to the presser go to the request's response_url: the stand-in's.
    payload["response_url"] = demo.slack.response_url(user)
    body = slack_press.form_body(payload)
    timestamp = str(int(time.time()))
    request = urllib.request.Request(  # noqa: S310 - the local API on 127.0.0.1
        api.url.removesuffix("/flush") + slack_press.PATH,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": slack_press.signature(SIGNING_SECRET, timestamp, body),
        },
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
        return int(answer.status)


def _retry_of(demo: Demo) -> str:
    """The retry's clear id, as the presser is told it."""
    for response in demo.slack.responses:
        found = _CLEAR_ID.search(str(response.get("text", "")))
        if found:
            return found.group(1)
    raise ScenarioFailed(f"the presser was not told of a retry: {demo.slack.responses}")
