"""Every payload the notifier sends is valid Block Kit by slack_sdk's own models (issue 21):
webhook mode's verdicts, and app mode's start message, updated message, thread detail and
alert reply, for every verdict kind the snapshots render, in both languages."""

from __future__ import annotations

from typing import Any

import pytest

from apcu_clear.item import CommandRecord
from apcu_notifier import app_messages
from apcu_notifier.config import Language
from apcu_notifier.render import render
from harness.slack_web_api import block_kit_problems
from tests.notifier.builders import COMMAND_ID
from tests.notifier.test_render import CASES, MENTION

FIRST = "0f1e2d3c-4b5a-4978-8a9b-0c1d2e3f4a5b"


def assert_valid(payload: dict[str, Any]) -> None:
    assert isinstance(payload["text"], str) and payload["text"].strip()
    assert payload["blocks"], "a message with no blocks"
    assert block_kit_problems(payload["blocks"]) == []


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("case", list(CASES))
def test_webhook_payloads_are_valid_block_kit(case: str, language: Language) -> None:
    assert_valid(render(CASES[case](), language=language, mention=MENTION, region="us-east-1"))


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("case", list(CASES))
def test_app_mode_payloads_are_valid_block_kit(case: str, language: Language) -> None:
    verdict = CASES[case]()
    out = app_messages.for_verdict(
        verdict, language=language, mention=MENTION, region="us-east-1", first_command_id=FIRST
    )

    assert_valid(out.message)
    for reply in (out.detail, out.alert):
        if reply is not None:
            assert_valid(reply)
    # The reply that notifies exists exactly for alerts; the button for alerts with stale
    # instances to clear again.
    assert (out.alert is not None) == verdict.is_alert
    buttons = [b for b in out.message["blocks"] if b["type"] == "actions"]
    assert len(buttons) == (1 if verdict.is_alert and verdict.stale else 0)


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("prefix", ["", "config:"])
def test_the_start_message_is_valid_block_kit(language: Language, prefix: str) -> None:
    record = CommandRecord(
        command_id=COMMAND_ID,
        group="web-prod",
        prefix=prefix,
        requester="arn:aws:sts::123456789012:assumed-role/PlatformOps/alice",
        comment="release <!channel> & more",
        origin="api",
        requested_at="2026-03-02T09:15:03Z",
        expires_at="2026-03-02T09:18:03Z",
        action="clear-all",
    )

    payload = app_messages.started(record, language=language, region="us-east-1")

    assert_valid(payload)
    # A comment is the requester's text: it notifies no one.
    assert "<!channel>" not in str(payload)


def test_a_button_over_slacks_limits_would_be_caught() -> None:
    # The check is not vacuous: the models refuse a button whose value is too long.
    button = app_messages.retry_button(FIRST, 2, Language.EN)
    button["elements"][0]["value"] = "x" * 2001

    assert block_kit_problems([button])
