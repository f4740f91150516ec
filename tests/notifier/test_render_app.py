"""Slack app mode's messages: the clear's start message, a verdict split into the clear's message,
its thread and the reply that notifies; and, end to end, the clear's message after a press of its
retry button."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from apcu_clear.record import Clear
from apcu_clear.slack_app import RETRY_ACTION_ID, RETRY_BLOCK_ID
from apcu_notifier.app_messages import for_verdict, started
from apcu_notifier.config import Language
from apcu_notifier.messages import CATALOGUE
from harness import aws_emulator
from harness.slack_press import block_actions_payload, form_body, request_event
from harness.slack_web_api import SIGNING_SECRET, SlackWebApi
from harness.stack import GROUP, TABLE, Stack
from tests.fleet import DELIVERY_TIMED_OUT, Fleet
from tests.notifier.snapshots import (
    assert_snapshot,
    assert_within_slack_limits,
    english_words,
    plain,
)
from tests.notifier.test_render import ALICE, ASKED, CASES, MENTION, style

BOTH = pytest.mark.parametrize("language", list(Language))
PRESSER = "U0APCUOPS"


def _buttons(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in payload["blocks"] if b["type"] == "actions"]


@BOTH
def test_the_start_message_names_who_asked_and_why_apart(language: Language) -> None:
    record = Clear(
        clear_id=ASKED.clear_id,
        group="web-prod",
        action="clear-apcu",
        prefix="",
        requester=ALICE,
        comment="release 2026.03.02",
        origin="api",
        requested_at="2026-03-02T09:15:03Z",
    )
    payload = started(record, style(language))
    assert_within_slack_limits(payload)
    assert_snapshot(f"app-started.{language.value}", payload)
    m = CATALOGUE[language]
    text = plain(payload)
    assert f"*{m.label_requester}*\nPlatformEngineer/alice@example.com" in text
    assert f"*{m.label_comment}*\nrelease 2026.03.02" in text


@BOTH
@pytest.mark.parametrize("case", ["stopped", "clear-still-stale", "ok-launching", "ok"])
def test_a_verdict_in_app_mode(language: Language, case: str) -> None:
    build, request = CASES[case]
    verdict = build()
    parts = for_verdict(verdict, style(language), request)
    for payload in filter(None, (parts.message, parts.detail, parts.alert)):
        assert_within_slack_limits(payload)
    assert_snapshot(f"app-{case}.{language.value}", parts.message)
    # An edit notifies no one: the mention goes in the reply sent to the channel, alerts only.
    assert MENTION not in json.dumps(parts.message)
    assert (parts.alert is not None) is verdict.is_alert
    if parts.alert is not None:
        assert parts.alert["blocks"][0]["text"]["text"].startswith(MENTION + " ")
    # The button is there exactly when something stale can be cleared again; it names the clear.
    buttons = _buttons(parts.message)
    assert bool(buttons) is (verdict.is_alert and verdict.stale_count > 0)
    for block in buttons:
        assert block["block_id"] == RETRY_BLOCK_ID
        [button] = block["elements"]
        assert button["action_id"] == RETRY_ACTION_ID and button["value"] == request.clear_id
        assert "(s)" not in button["text"]["text"]
    # The per-instance detail is in the thread, and only there.
    if parts.detail is not None:
        assert "`i-" not in plain(parts.message)


def test_the_buttons_label_counts_in_real_plurals() -> None:
    build, request = CASES["clear-stopped-on-retry"]
    [block] = _buttons(for_verdict(build(), style(), request).message)
    assert block["elements"][0]["text"]["text"] == "Clear the 1 instance still stale again"
    build, request = CASES["stopped"]
    [block] = _buttons(for_verdict(build(), style(), request).message)
    assert block["elements"][0]["text"]["text"] == "Clear the 3 instances still stale again"


# --- end to end: a press of the button, and the clear's message after the retry


def _press(stack: Stack, slack: SlackWebApi, message: Any) -> dict[str, Any]:
    payload = block_actions_payload(
        command_id=message.blocks[-1]["elements"][0]["value"],
        user_id=PRESSER,
        user_name="bob",
        channel=message.channel,
        message_ts=message.ts,
        message={"text": message.text, "blocks": message.blocks},
    )
    payload["response_url"] = slack.response_url()
    return stack.dispatch(request_event(form_body(payload), signing_secret=SIGNING_SECRET))


def _retry_of(clear_id: str) -> str:
    items = boto3.client("dynamodb").scan(TableName=TABLE)["Items"]
    [retry] = [i["commandId"]["S"] for i in items if i.get("retryOf", {}).get("S") == clear_id]
    return retry


@BOTH
def test_after_a_press_the_clears_message_keeps_its_group_its_first_picture_and_the_outcome(
    aws: None, slack: SlackWebApi, language: Language
) -> None:
    m = CATALOGUE[language]
    with Stack(slack, mode="app", MESSAGE_LANGUAGE=language.value) as stack:
        # Given a clear whose automatic retry did not clear one instance either
        late = stack.instances[2]
        Fleet({late: [DELIVERY_TIMED_OUT, DELIVERY_TIMED_OUT, aws_emulator.ok(5)]}).serve()
        clear_id = stack.clear(comment="release 42")
        assert stack.verdict(clear_id)["stale"]["instances"] == [late]
        [message] = [x for x in slack.top_level() if not x.is_reply]
        assert _buttons({"blocks": message.blocks})

        # When someone presses its button, and the retry ends
        assert _press(stack, slack, message)["statusCode"] == 200
        stack.lambda_.drain()
        retry_id = _retry_of(clear_id)
        assert stack.outcome(retry_id)["verdict"] == "ok"

        # Then the clear's message is the clear's verdict with the retry's outcome
        after = slack.message(message.ts)
        payload = {"text": after.text, "blocks": after.blocks}
        assert_within_slack_limits(payload)
        text = plain(payload)
        assert after.blocks[0]["text"]["text"].startswith("✅")
        assert f"*{m.label_group}*\n{GROUP}" in text
        assert f"*{m.label_command}*\n`{clear_id}`" in text
        assert f"*{m.label_comment}*\nrelease 42" in text
        assert f"*{m.label_retried_by}*\nslack:{PRESSER} (bob)" in text
        assert not _buttons(payload)
        # The per-instance story is in the thread: each attempt, the third the retry's.
        thread = [plain({"blocks": r.blocks}) for r in slack.replies(message.ts)]
        said = {
            Language.EN: "Delivery Timed Out, then Delivery Timed Out, then cleared on attempt 3",
            Language.JA: "Delivery Timed Out、続いて Delivery Timed Out、3 回目の試行でクリア",
        }[language]
        assert any(f"`{late}`: {said}" in t for t in thread), thread
        # Every attempt's entries: 12 and 12 on the first, 5 on the retry.
        assert {Language.EN: "removing 29 entries", Language.JA: "計 29 件"}[language] in text
        if language is Language.JA:
            values = (
                GROUP,
                "release 42",
                f"slack:{PRESSER} (bob)",
                "PlatformEngineer/alice@example.com",
            )
            assert english_words("\n".join([text, *thread]), *values) == []
