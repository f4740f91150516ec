"""Slack app mode through the handler, against moto and the Slack Web API stand-in: one
message per clear, posted when it starts and updated in place with its verdict; an alert
notifies and carries the retry button; Slack's errors raise with what to fix."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from apcu_clear import store
from apcu_clear.item import CommandRecord
from apcu_clear.slack_app import SlackAppSettings
from apcu_notifier import handler
from apcu_notifier.config import Language
from harness import aws_emulator as emu
from harness.aws_emulator import InvocationResult, ok
from harness.slack_web_api import BOT_TOKEN, CHANNEL, SIGNING_SECRET, SlackWebApi
from tests.notifier import records
from tests.notifier.conftest import GROUP, World
from tests.notifier.records import TABLE, dispatched, dynamodb, item
from tests.notifier.test_converge import DOCUMENT, first_clear, retries
from tests.notifier.test_rearm import SCHEDULE_GROUP, SETTINGS, scheduler
from tests.notifier.test_watchdog import watchdog_event

APP_SECRET_NAME = "apcu-fleet-flush/slack-app"


@dataclass
class App:
    world: World
    api: SlackWebApi
    secret_arn: str

    def start(self, **config: Any) -> None:
        settings = SlackAppSettings(
            mode="app", secret_arn=self.secret_arn, api_url=self.api.base_url
        )
        self.world.start(slack_webhook_secret_arn="", slack=settings, **config)

    def put_secret(self, **values: str) -> None:
        document = {"botToken": BOT_TOKEN, "signingSecret": SIGNING_SECRET, "channel": CHANNEL}
        document.update(values)
        boto3.client("secretsmanager", region_name=emu.REGION).put_secret_value(
            SecretId=self.secret_arn, SecretString=json.dumps(document)
        )

    def started(self, command_id: str) -> dict[str, Any]:
        return self.world.notify(command_id, "command-inprogress.json")

    def ended(self, command_id: str) -> dict[str, Any]:
        return self.world.notify(command_id)


@pytest.fixture
def app(world: World, slack_api: SlackWebApi) -> Iterator[App]:
    records.enable(world)
    secrets = boto3.client("secretsmanager", region_name=emu.REGION)
    document = {"botToken": BOT_TOKEN, "signingSecret": SIGNING_SECRET, "channel": CHANNEL}
    arn = secrets.create_secret(Name=APP_SECRET_NAME, SecretString=json.dumps(document))["ARN"]
    state = App(world, slack_api, arn)
    state.start()
    yield state
    # Webhook mode posts nothing in app mode.
    assert world.slack.server.log == []


def clear(app: App, members: int = 2, *, origin: str = "api") -> tuple[str, list[str]]:
    """A command sent to the group and recorded as the dispatcher records it; settled later."""
    ids = sorted(emu.create_group(GROUP, members))
    command_id = app.world.send()
    dispatched(command_id, origin=origin)
    return command_id, ids


def settle(command_id: str, ids: list[str], failed: int = 0) -> None:
    results = {i: ok() for i in ids[: len(ids) - failed]}
    for i in ids[len(ids) - failed :]:
        results[i] = InvocationResult("Failed", stderr="curl: (22) 503")
    emu.settle_command(command_id, results, status="Failed" if failed else "Success")


def kept_message(command_id: str) -> dict[str, Any]:
    return dict(item(command_id)["slackMessage"]["M"])


def texts(blocks: list[dict[str, Any]]) -> str:
    parts = []
    for block in blocks:
        if "text" in block:
            parts.append(block["text"]["text"])
        parts.extend(f["text"] for f in block.get("fields", []))
        parts.extend(e.get("text", "") for e in block.get("elements", []) if "text" in e)
    return "\n".join(str(p) for p in parts)


def test_a_clear_is_one_message_posted_at_its_start_and_updated_to_its_ok_verdict(
    app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    command_id, ids = clear(app)

    started = app.started(command_id)

    (message,) = app.api.messages
    assert started["outcomes"] == [{"command_id": command_id, "started": True}]
    assert message.channel == CHANNEL and message.thread_ts is None
    shown = texts(message.blocks)
    for expected in (
        GROUP,
        "alice",
        "release 2026.03.02",
        "(whole cache)",
        "clear-apcu",
        command_id,
    ):
        assert expected in shown
    assert message.text.startswith("⏳ APCu clear started")
    assert kept_message(command_id) == {"channel": {"S": CHANNEL}, "ts": {"S": message.ts}}

    settle(command_id, ids)
    ended = app.ended(command_id)

    # The same message, updated in place: no second top-level message, no button
    assert app.api.top_level() == [message]
    assert len(message.versions) == 2
    assert message.text.startswith("✅ APCu cleared on every instance")
    assert command_id in message.text
    assert all(b["type"] != "actions" for b in message.blocks)
    assert ended["outcomes"][0]["updated"] is True
    assert item(command_id)["state"] == {"S": "judged"}
    assert [name for name, _ in app.api.calls] == ["chat.postMessage", "chat.update"]
    # The bot token and the signing secret are in no log line
    logged = capsys.readouterr()
    assert BOT_TOKEN not in logged.out + logged.err
    assert SIGNING_SECRET not in logged.out + logged.err


def test_an_alert_updates_the_message_notifies_in_its_thread_and_carries_the_retry_button(
    app: App,
) -> None:
    command_id, ids = clear(app, 3)
    app.started(command_id)
    settle(command_id, ids, failed=1)

    app.ended(command_id)

    message = app.api.messages[0]
    assert message.text.startswith("🚨")
    # An edit notifies no one: the mention is in the reply sent to the channel, not here
    assert "<!here>" not in message.text + texts(message.blocks)
    (actions,) = [b for b in message.blocks if b["type"] == "actions"]
    assert actions["block_id"] == "apcu_retry"
    (button,) = actions["elements"]
    assert button["action_id"] == "retry"
    assert button["value"] == command_id
    assert button["text"]["text"] == "Clear the 1 stale instance again"
    detail, alert = app.api.replies(message.ts)
    assert ids[2] in texts(detail.blocks) and not detail.reply_broadcast
    assert alert.reply_broadcast is True
    assert alert.text.startswith("<!here> ")
    assert app.api.top_level() == [message, alert]


def test_the_button_counts_every_stale_instance_in_japanese_too(app: App) -> None:
    app.start(language=Language.JA)
    command_id, ids = clear(app, 4)
    app.started(command_id)
    settle(command_id, ids, failed=3)

    app.ended(command_id)

    (actions,) = [b for b in app.api.messages[0].blocks if b["type"] == "actions"]
    assert actions["elements"][0]["text"]["text"] == "古いままの 3 台をもう一度クリア"


def test_without_a_start_message_the_verdict_is_the_clears_message_and_a_late_start_posts_nothing(
    app: App,
) -> None:
    command_id, ids = clear(app)
    settle(command_id, ids)

    app.ended(command_id)
    late = app.started(command_id)

    (message,) = app.api.messages
    assert message.text.startswith("✅")
    assert len(message.versions) == 1
    assert kept_message(command_id)["ts"] == {"S": message.ts}
    assert late["outcomes"][0]["skipped"] == "InProgress"
    assert [name for name, _ in app.api.calls] == ["chat.postMessage"]


def test_two_in_progress_deliveries_at_once_post_one_message(app: App) -> None:
    command_id, _ = clear(app)
    hold = app.api.hold_next("chat.postMessage")
    outcomes: dict[str, Any] = {}

    def deliver() -> None:
        outcomes["first"] = app.started(command_id)

    first = threading.Thread(target=deliver)
    first.start()
    assert hold.arrived.wait(timeout=30)
    outcomes["second"] = app.started(command_id)
    hold.release()
    first.join(timeout=30)

    assert len(app.api.messages) == 1
    assert outcomes["first"]["outcomes"][0]["started"] is True
    assert outcomes["second"]["outcomes"][0]["skipped"] == "InProgress"
    assert kept_message(command_id)["ts"] == {"S": app.api.messages[0].ts}


def test_a_retry_on_demand_updates_the_first_commands_message(app: App) -> None:
    command_id, ids = clear(app, 3)
    app.started(command_id)
    settle(command_id, ids, failed=1)
    app.ended(command_id)
    # The dispatcher's retry (POST /flush/{id}/retry) of the stale instance
    retry = app.world.send(instance_ids=[ids[2]])
    records_put_retry(retry, command_id)
    app.started(retry)
    emu.settle_command(retry, {ids[2]: ok()})

    app.ended(retry)

    message = app.api.messages[0]
    assert app.api.top_level() == [message, app.api.replies(message.ts)[1]]
    assert len(message.versions) == 3
    assert message.text.startswith("✅")
    assert retry in message.text
    assert all(b["type"] != "actions" for b in message.blocks)
    # The retry targets instance ids: the message still says whose clear it is
    assert f"A retry of the clear of *{GROUP}* (its first command `{command_id}`)" in texts(
        message.blocks
    )


def records_put_retry(retry: str, first: str) -> None:
    store.put_sent(
        dynamodb(),
        TABLE,
        CommandRecord(
            command_id=retry,
            group=GROUP,
            prefix="",
            requester="arn:aws:sts::123456789012:assumed-role/PlatformOps/alice",
            comment=f"retry of {first}",
            origin="retry",
            requested_at=records.REQUESTED,
            expires_at="2026-03-02T09:48:03Z",
            retry_of=first,
        ),
    )


def test_a_warm_pool_clear_posts_no_start_message(app: App) -> None:
    command_id, ids = clear(app, origin="warm-pool")

    app.started(command_id)
    settle(command_id, ids)
    app.ended(command_id)

    assert app.api.messages == []


# --- Slack's errors ---------------------------------------------------------------------------


def test_a_rate_limit_waits_retry_after_and_posts_once(app: App) -> None:
    command_id, ids = clear(app)
    settle(command_id, ids)
    app.api.fail_next("chat.postMessage", status=429, retry_after=3)

    app.ended(command_id)

    assert app.world.sleeps == [3.0]
    assert len(app.api.messages) == 1
    assert len(app.api.method_calls("chat.postMessage")) == 2


def test_the_rate_limit_wait_is_real_and_as_long_as_slack_asks(app: App) -> None:
    assert app.world.runtime is not None
    app.world.runtime.sleep = time.sleep
    command_id, _ = clear(app)
    app.api.fail_next("chat.postMessage", status=429, retry_after=1)

    started = time.monotonic()
    app.started(command_id)
    took = time.monotonic() - started

    assert 1.0 <= took < 3.0
    assert len(app.api.messages) == 1


def test_a_rate_limit_longer_than_the_time_left_raises_and_nothing_is_lost(app: App) -> None:
    command_id, ids = clear(app)
    settle(command_id, ids)
    app.api.fail_next("chat.postMessage", status=429, retry_after=600)

    with pytest.raises(handler.NotificationsFailed, match="asked to wait 600 s"):
        app.ended(command_id)

    assert app.world.sleeps == []
    assert item(command_id)["state"] == {"S": "sent"}
    assert "claim" not in item(command_id)
    # Lambda's retry posts it
    app.ended(command_id)
    assert len(app.api.messages) == 1


@pytest.mark.parametrize(
    ("setup", "fix"),
    [
        ("wrong-token", "reinstall the app"),
        ("unknown-channel", "fix the channel id"),
        ("not-a-member", "invite it"),
    ],
)
def test_slacks_refusals_raise_with_what_to_fix_and_never_the_token(
    app: App, setup: str, fix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    token = BOT_TOKEN
    if setup == "wrong-token":
        token = "xoxb-1111111111-notthebotsown"
        app.put_secret(botToken=token)
    elif setup == "unknown-channel":
        app.put_secret(channel="C0NOSUCHCHANNEL")
    else:
        app.api.member_of = ()
    command_id, ids = clear(app)
    settle(command_id, ids)

    with pytest.raises(handler.NotificationsFailed) as failed:
        app.ended(command_id)

    assert fix in str(failed.value)
    assert app.secret_arn in str(failed.value) or setup == "not-a-member"
    assert token not in str(failed.value)
    assert token not in capsys.readouterr().out
    assert app.api.messages == []
    # Nothing is lost: the verdict stays to be posted by Lambda's retry once it is fixed
    assert item(command_id)["state"] == {"S": "sent"}
    app.put_secret()
    app.api.member_of = None
    app.ended(command_id)
    assert len(app.api.messages) == 1


def test_an_update_that_slack_took_is_not_posted_again_on_lambdas_retry(app: App) -> None:
    # Given the update landed, but the thread reply after it failed
    command_id, ids = clear(app, 3)
    app.started(command_id)
    settle(command_id, ids, failed=1)
    app.api.fail_next("chat.postMessage", error="fatal_error", status=500)
    app.api.fail_next("chat.postMessage", error="fatal_error", status=500)
    app.api.fail_next("chat.postMessage", error="fatal_error", status=500)
    app.api.fail_next("chat.postMessage", error="fatal_error", status=500)
    app.api.fail_next("chat.postMessage", error="fatal_error", status=500)
    with pytest.raises(handler.NotificationsFailed):
        app.ended(command_id)
    message = app.api.messages[0]
    assert message.text.startswith("🚨")

    # When Lambda retries the event
    app.ended(command_id)

    # Then the same message is updated again, and the clear still has one top-level message
    # besides the alert's reply
    assert [m.ts for m in app.api.top_level()] == [message.ts, app.api.replies(message.ts)[1].ts]
    assert item(command_id)["state"] == {"S": "judged"}


def test_a_clear_that_converges_updates_its_message_once_with_the_clears_verdict(
    app: App,
) -> None:
    # Given a clear whose last instance's agent never picked the command up, retried once
    app.start(document_name=DOCUMENT, retry_missed=1)
    first, members = first_clear(app.world)
    app.started(first)
    app.world.notify(first, "command-timedout.json")
    [retry] = retries(first)
    # The retry's own InProgress posts nothing: the clear has its message
    app.started(retry)
    assert len(app.api.messages) == 1 and len(app.api.messages[0].versions) == 1

    # When the retry clears it
    emu.settle_command(retry, {members[2]: ok()})
    app.world.notify(retry)

    # Then the clear's one message shows the clear ok, and the retries are in its thread
    (message,) = app.api.top_level()
    assert len(message.versions) == 2
    assert message.text.startswith("✅") and first in message.text
    (detail,) = app.api.replies(message.ts)
    assert f"`{members[2]}`: Delivery Timed Out, cleared on the second attempt" in texts(
        detail.blocks
    )


def test_a_verdict_while_the_start_message_is_posted_waits_and_never_posts_a_second_one(
    app: App,
) -> None:
    # Given the start message is being posted (Slack is slow) when the verdict arrives
    command_id, ids = clear(app)
    settle(command_id, ids)
    hold = app.api.hold_next("chat.postMessage")
    outcomes: dict[str, Any] = {}
    starting = threading.Thread(target=lambda: outcomes.update(start=app.started(command_id)))
    starting.start()
    assert hold.arrived.wait(timeout=30)

    # When the verdict cannot learn the message's ts in time, Then it raises for Lambda's
    # retry rather than post a message of its own
    with pytest.raises(handler.NotificationsFailed, match="MessageBusy"):
        app.ended(command_id)
    assert app.world.sleeps == [0.5] * 10
    hold.release()
    starting.join(timeout=30)
    assert item(command_id)["state"] == {"S": "sent"}

    # And Lambda's retry updates the start message
    app.ended(command_id)
    (message,) = app.api.top_level()
    assert [v.text[:1] for v in message.versions] == ["⏳", "✅"]


def test_a_stuck_alert_shows_in_the_clears_message_then_its_verdict_replaces_it(
    app: App,
) -> None:
    command_id, ids = clear(app)
    app.started(command_id)
    emu.settle_command(
        command_id, {ids[0]: ok(), ids[1]: InvocationResult("InProgress")}, status="InProgress"
    )

    app.world.invoke(watchdog_event(command_id))

    message = app.api.messages[0]
    assert message.text.startswith("🚨 APCu clear still running after its expiry")
    assert app.api.top_level() == [message, app.api.replies(message.ts)[-1]]

    settle(command_id, ids)
    app.ended(command_id)

    assert [v.text[:1] for v in message.versions] == ["⏳", "🚨", "✅"]
    assert len(app.api.top_level()) == 2


def test_a_message_deleted_before_the_verdict_gets_a_new_one_that_the_clear_keeps(
    app: App,
) -> None:
    # Given a clear whose start message someone deleted in Slack
    command_id, ids = clear(app)
    app.started(command_id)
    (deleted,) = app.api.messages
    app.api.messages.remove(deleted)

    # When its verdict comes
    settle(command_id, ids)
    ended = app.ended(command_id)

    # Then the verdict is posted as a new message, not lost in retries that cannot update
    (message,) = app.api.top_level()
    assert message.ts != deleted.ts
    assert message.text.startswith("✅ APCu cleared on every instance")
    assert ended["outcomes"][0]["slack_message"] == message.ts
    # And the clear lives in the new message from now on
    assert kept_message(command_id) == {"channel": {"S": CHANNEL}, "ts": {"S": message.ts}}
    assert [name for name, _ in app.api.calls] == [
        "chat.postMessage",
        "chat.update",
        "chat.postMessage",
    ]


def test_lambdas_retry_after_the_replies_landed_posts_no_second_mention(app: App) -> None:
    # Given an alert whose update and both thread replies Slack took, and then the write that
    # records the verdict failed, so that Lambda retries the event
    command_id, ids = clear(app, 3)
    app.started(command_id)
    settle(command_id, ids, failed=1)
    app.ended(command_id)
    (message,) = [m for m in app.api.top_level() if not m.is_reply]
    replies = app.api.replies(message.ts)
    assert [r.reply_broadcast for r in replies] == [False, True]
    # (the verdict's record undone, as if its write had never landed)
    dynamodb().update_item(
        TableName=TABLE,
        Key={"commandId": {"S": command_id}},
        UpdateExpression="SET #state = :sent REMOVE verdict, judgedBy, claim",
        ExpressionAttributeNames={"#state": "state"},
        ExpressionAttributeValues={":sent": {"S": "sent"}},
    )

    # When Lambda retries the event
    app.ended(command_id)

    # Then the message is updated again, but no reply, and no @here, is posted twice
    assert app.api.replies(message.ts) == replies
    assert len(message.versions) == 3
    assert set(item(command_id)["slackReplies"]["SS"]) == {
        f"{command_id}/failed/detail",
        f"{command_id}/failed/alert",
    }


def test_a_verdict_that_finds_the_message_still_being_posted_looks_again_shortly(
    app: App,
) -> None:
    # Given the stack's watchdog, and the start message being posted (Slack is slow) when
    # the verdict arrives
    scheduler().create_schedule_group(Name=SCHEDULE_GROUP)
    app.start(watchdog=SETTINGS)
    command_id, ids = clear(app)
    settle(command_id, ids)
    hold = app.api.hold_next("chat.postMessage")
    starting = threading.Thread(target=lambda: app.started(command_id))
    starting.start()
    assert hold.arrived.wait(timeout=30)

    # When the verdict cannot learn the message's ts in time, Then it raises nothing (a race
    # is not an error, and the errors alarm stays quiet): it looks again a minute later
    ended = app.ended(command_id)
    assert ended["outcomes"] == [
        {
            "command_id": command_id,
            "settling": "Success",
            "follow_up": f"watchdog-{command_id}-settle-1",
        }
    ]
    hold.release()
    starting.join(timeout=30)

    # And that look updates the start message: one message, started then ok
    stored = scheduler().get_schedule(
        Name=f"watchdog-{command_id}-settle-1", GroupName=SCHEDULE_GROUP
    )
    app.world.invoke(json.loads(stored["Target"]["Input"]))
    (message,) = app.api.top_level()
    assert [v.text[:1] for v in message.versions] == ["⏳", "✅"]
