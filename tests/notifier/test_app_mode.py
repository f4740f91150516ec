"""Slack app mode: one message per clear, posted when the clear starts and updated in place with
its verdict; the detail in its thread; an alert also a thread reply sent to the channel, which
notifies (an edit notifies no one), and the retry button. Slack is the Web API stand-in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness import aws_emulator
from harness.slack_web_api import CHANNEL
from harness.stack import Stack
from tests.fleet import Fleet, failed


@pytest.fixture
def app(aws: None, slack: object) -> Iterator[Stack]:
    with Stack(slack, mode="app") as stack:  # type: ignore[arg-type]
        yield stack


def test_an_ok_clear_is_one_message_updated_in_place(app: Stack) -> None:
    Fleet().serve()
    clear_id = app.clear()
    app.outcome(clear_id)

    [message] = app.slack.top_level(CHANNEL)
    assert message.versions[0].text.startswith("⏳")
    assert message.text.startswith("✅")
    assert not any(b.get("type") == "actions" for b in message.blocks), "no button on an ok clear"
    assert clear_id in message.text or clear_id in str(message.blocks)


def test_an_alert_has_its_button_and_a_reply_that_notifies(app: Stack) -> None:
    broken = app.instances[0]
    Fleet({broken: [failed()]}).serve()
    clear_id = app.clear()
    app.outcome(clear_id)

    [message] = [m for m in app.slack.top_level(CHANNEL) if not m.is_reply]
    [button] = [b for b in message.blocks if b.get("type") == "actions"]
    assert button["elements"][0]["value"] == clear_id
    replies = app.slack.replies(message.ts)
    alerts = [r for r in replies if r.reply_broadcast]
    assert len(alerts) == 1 and alerts[0].text.startswith("<!here>")
    assert any(broken in str(r.blocks) for r in replies), "the detail names the stale instance"


def test_a_message_deleted_meanwhile_gets_the_verdict_as_a_new_message(app: Stack) -> None:
    Fleet().serve()
    clear_id = app.clear()
    app.slack.fail_next("chat.update", "message_not_found")

    app.outcome(clear_id)

    messages = app.slack.top_level(CHANNEL)
    assert messages[-1].text.startswith("✅")
    assert app.status(clear_id)["state"] == "judged"


def test_a_retry_updates_the_message_of_the_clear_it_repairs(app: Stack) -> None:
    broken = app.instances[0]
    Fleet({broken: [failed(), failed(), aws_emulator.ok(4)]}).serve()
    clear_id = app.clear()
    app.outcome(clear_id)
    [message] = [m for m in app.slack.top_level(CHANNEL) if not m.is_reply]

    status, body = app.api("POST", f"/flush/{clear_id}/retry")
    assert status == 202
    app.outcome(str(body["commandId"]))

    own = [m.ts for m in app.slack.top_level(CHANNEL) if not m.is_reply]
    assert own == [message.ts], "the retry has no message of its own"
    updated = app.slack.message(message.ts)
    assert updated.text.startswith("✅")
    assert "web-prod" in str(updated.blocks), "the message keeps the group"


def test_the_stuck_alert_goes_in_the_clears_thread_and_to_the_channel(app: Stack) -> None:
    import datetime as dt

    aws_emulator.expire_commands(dt.timedelta(seconds=-58))
    clear_id = app.clear()
    aws_emulator.end_on_read(clear_id, 5, {i: aws_emulator.ok(5) for i in app.instances})

    app.outcome(clear_id)

    [message] = [m for m in app.slack.top_level(CHANNEL) if not m.is_reply]
    stuck = [r for r in app.slack.replies(message.ts) if "still running" in r.text]
    assert len(stuck) == 1 and stuck[0].reply_broadcast
    assert app.slack.message(message.ts).text.startswith("✅")
