"""After Slack took a message, one failed write must not make a second post (issue 20, point 1),
and a stuck alert whose poster died is posted later, once (point 3).

Faults are injected through botocore: one whole failed call (every attempt botocore makes),
or an answer lost after DynamoDB applied the write. Lambda's retry of the same event comes a
minute or more later, by which time the first invocation's claim has expired.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from apcu_clear import store
from apcu_notifier import after_post, budget, handler
from harness import aws_emulator as emu
from harness.aws_emulator import InvocationResult, ok
from tests.notifier import records
from tests.notifier.conftest import GROUP, World, fail_calls, lose_answer, text_of
from tests.notifier.records import TABLE, dispatched, dynamodb, item
from tests.notifier.test_watchdog import NEVER_ARRIVED, emitted_metrics, watchdog_event

THROTTLED = "ThrottlingException"
VERDICT_WRITE = b":judged"
ALERT_WRITE = b"if_not_exists(#posted"
ALERT_RELEASE = b'"REMOVE #lease"'
LAMBDA_RETRY = dt.timedelta(minutes=3)


class Clock:
    """The command record's clock: now, until Lambda's retry comes later."""

    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def later(self, by: dt.timedelta = LAMBDA_RETRY) -> None:
        self.now += by


@pytest.fixture
def recording(world: World) -> World:
    return records.enable(world)


def started(world: World) -> Clock:
    rt = world.start()
    assert rt.ledger is not None
    clock = Clock()
    rt.ledger.clock = clock
    world.slack.always()
    return clock


def settled(world: World, *, record: bool = True) -> str:
    members = emu.create_group(GROUP, 2)
    command_id = world.send()
    emu.settle_command(command_id, {i: ok() for i in members})
    if record:
        dispatched(command_id)
    return command_id


def running(world: World) -> str:
    members = sorted(emu.create_group(GROUP, 2))
    command_id = world.send()
    emu.settle_command(
        command_id, {i: InvocationResult("InProgress") for i in members}, status="InProgress"
    )
    dispatched(command_id)
    return command_id


def delivered_twice(world: World, clock: Clock, invoke: Callable[[], Any]) -> list[Any]:
    """The event, then Lambda's retry of it a few minutes later (after an error) or SNS's
    second delivery: each outcome, or the error Lambda would retry."""
    outcomes: list[Any] = []
    for _ in range(2):
        try:
            outcomes.append(invoke())
        except handler.NotificationsFailed as error:
            outcomes.append(error)
        clock.later()
    return outcomes


def ledger_client(world: World) -> object:
    assert world.runtime is not None and world.runtime.ledger is not None
    return world.runtime.ledger.client


def test_one_failed_verdict_write_then_lambdas_retry_posts_once(
    recording: World, aws_sleeps: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the write that records the verdict fails once, after Slack took the verdict
    world = recording
    command_id = settled(world)
    clock = started(world)
    failed = fail_calls(ledger_client(world), "UpdateItem", THROTTLED, matching=VERDICT_WRITE)

    # When SNS's notification is handled, and Lambda (or SNS) delivers it again later
    first, again = delivered_twice(world, clock, lambda: world.notify(command_id))

    # Then Slack heard the verdict once, and the record says it was posted
    assert failed, "the fault was never injected"
    assert len(world.slack.messages()) == 1, "the verdict was posted twice"
    assert first["outcomes"] == [{"command_id": command_id, "verdict": "ok", "posted": True}]
    assert again["outcomes"] == [{"command_id": command_id, "duplicate": True}]
    assert item(command_id)["state"] == {"S": "judged"}
    # And the watchdog after the expiry finds the verdict: no false "never arrived"
    capsys.readouterr()
    late = world.invoke(watchdog_event(command_id))
    assert late["outcomes"] == [{"command_id": command_id, "duplicate": True}]
    assert emitted_metrics(capsys.readouterr().out)["NotificationMissing"] == 0
    assert len(world.slack.messages()) == 1


def test_one_failed_verdict_write_on_the_watchdogs_path_posts_once(
    recording: World, aws_sleeps: list[float]
) -> None:
    world = recording
    command_id = settled(world)
    clock = started(world)
    failed = fail_calls(ledger_client(world), "UpdateItem", THROTTLED, matching=VERDICT_WRITE)

    delivered_twice(world, clock, lambda: world.invoke(watchdog_event(command_id)))
    late_sns = world.notify(command_id)

    assert failed
    assert len(world.slack.messages()) == 1, "the verdict was posted twice"
    assert NEVER_ARRIVED in text_of(world.slack.message())
    assert late_sns["outcomes"][0]["duplicate"] is True


def test_a_verdict_write_whose_answer_was_lost_is_not_a_lost_claim(
    recording: World, aws_sleeps: list[float], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given DynamoDB applies the verdict write but its answer is lost, so botocore sends it again
    world = recording
    command_id = settled(world)
    started(world)
    lost = lose_answer(ledger_client(world), "UpdateItem", matching=VERDICT_WRITE)

    result = world.notify(command_id)

    # Then the resent write finds its own token: recorded, no error, no second post
    assert lost
    assert result["outcomes"][0]["posted"] is True
    assert item(command_id)["state"] == {"S": "judged"}
    assert emitted_metrics(capsys.readouterr().out)["VerdictClaimLost"] == 0
    assert len(world.slack.messages()) == 1


def test_a_claim_whose_answer_was_lost_is_still_ours(
    recording: World, aws_sleeps: list[float]
) -> None:
    world = recording
    command_id = settled(world)
    started(world)
    lost = lose_answer(ledger_client(world), "UpdateItem", matching=b"if_not_exists(#state")

    result = world.notify(command_id)

    assert lost
    assert result["outcomes"][0]["posted"] is True
    assert len(world.slack.messages()) == 1


def test_a_verdict_that_cannot_be_recorded_at_all_is_raised(
    recording: World, aws_sleeps: list[float]
) -> None:
    # Given DynamoDB refuses every write after the post for the whole invocation
    world = recording
    command_id = settled(world)
    started(world)
    client = ledger_client(world)
    fail_calls(
        client,
        "UpdateItem",
        THROTTLED,
        matching=VERDICT_WRITE,
        times=len(after_post.AFTER_POST_WAITS) + 1,
    )

    # Then the invocation raises, saying the retry will post again (the record is what the
    # status route and the watchdog read), after waiting between its tries
    with pytest.raises(handler.NotificationsFailed, match="NotRecorded: posted to Slack"):
        world.notify(command_id)
    assert world.sleeps == list(after_post.AFTER_POST_WAITS)


def test_a_slack_read_timeout_is_delivery_unconfirmed_and_not_posted_again(
    recording: World, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # Given a Slack that takes the message but answers after the read timeout
    world = recording
    command_id = settled(world)
    rt = world.start()
    rt.slack_policy = dataclasses.replace(rt.slack_policy, read_timeout=0.3)
    world.slack.respond_slowly(1.0)

    # When the notification is handled, and delivered again
    first = world.notify(command_id)
    again = world.notify(command_id)

    # Then it is counted as posted, said to be unconfirmed, and never sent twice
    assert first["outcomes"] == [
        {"command_id": command_id, "verdict": "ok", "posted": True, "unconfirmed": True}
    ]
    assert again["outcomes"] == [{"command_id": command_id, "duplicate": True}]
    out = capsys.readouterr().out
    assert emitted_metrics(out)["SlackDeliveryUnconfirmed"] == 1
    assert "delivery unconfirmed" in caplog.text
    assert item(command_id)["state"] == {"S": "judged"}
    world.slack.drain()
    assert len(world.slack.messages()) == 1


# --- the stuck alert (point 3) ----------------------------------------------------------------


def stuck_titles(world: World) -> list[str]:
    return [m["blocks"][0]["text"]["text"] for m in world.slack.messages()]


STUCK = "🚨 APCu clear still running after its expiry"


def test_a_stuck_alert_left_by_an_invocation_that_died_is_posted_once_after_its_lease(
    recording: World,
) -> None:
    # Given an invocation took the stuck alert's lease and was killed before it posted
    world = recording
    command_id = running(world)
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    assert store.take_alert(dynamodb(), TABLE, command_id, now=long_ago, hold_seconds=60)
    started(world)

    # When the watchdog's event is delivered again (Lambda's retry), twice
    world.invoke(watchdog_event(command_id))
    world.invoke(watchdog_event(command_id))

    # Then the lease had expired: the alert is posted, once, and recorded as posted
    assert stuck_titles(world) == [STUCK]
    recorded = item(command_id)
    assert "stuckAlertedAt" in recorded
    assert "stuckAlertClaim" not in recorded


def test_a_stuck_alert_whose_cleanup_never_ran_is_posted_after_the_lease(
    recording: World, aws_sleeps: list[float]
) -> None:
    # Given the first run takes the lease, Slack fails, and the lease is never given back (as
    # when Lambda kills the invocation: no except runs)
    world = recording
    command_id = running(world)
    clock = started(world)
    world.slack.server.clear_all_handlers()
    for _ in range(budget.SLACK_POLICY.max_attempts):
        world.slack.answer("internal_error", status=500)
    world.slack.answer("ok")
    world.slack.answer("ok")
    release = fail_calls(ledger_client(world), "UpdateItem", THROTTLED, matching=ALERT_RELEASE)
    with pytest.raises(handler.NotificationsFailed, match="SlackUnavailable"):
        world.invoke(watchdog_event(command_id))
    assert release, "the lease was given back"

    # When a run comes while the lease holds, then after it expired, then once more
    held = world.invoke(watchdog_event(command_id))
    clock.later()
    after = world.invoke(watchdog_event(command_id))
    world.invoke(watchdog_event(command_id))

    # Then only the run after the lease posted the alert, once
    assert held["outcomes"][0]["duplicate"] is True
    assert after["outcomes"][0]["verdict"] == "stuck"
    assert stuck_titles(world)[budget.SLACK_POLICY.max_attempts :] == [STUCK]


def test_one_failed_write_recording_a_stuck_alert_posts_no_second_one(
    recording: World, aws_sleeps: list[float]
) -> None:
    world = recording
    command_id = running(world)
    clock = started(world)
    failed = fail_calls(ledger_client(world), "UpdateItem", THROTTLED, matching=ALERT_WRITE)

    delivered_twice(world, clock, lambda: world.invoke(watchdog_event(command_id)))

    assert failed
    assert stuck_titles(world) == [STUCK]
