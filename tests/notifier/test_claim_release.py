"""The clear's claim on its group (apcu_clear.claim) ends when SSM says the command ended, and
when its verdict is recorded; only the command that holds it can end it, and a failure to end
it never costs the verdict."""

from __future__ import annotations

import datetime as dt

import pytest

from apcu_clear import claim
from apcu_clear.claim import Taken
from apcu_notifier import handler
from harness import aws_emulator as emu
from harness.aws_emulator import ok
from tests.notifier import records
from tests.notifier.conftest import GROUP, World, fail_calls
from tests.notifier.records import TABLE, dispatched, dynamodb, item
from tests.notifier.test_watchdog import emitted_metrics, watchdog_event

KEY = claim.group_key(GROUP)


@pytest.fixture
def recording(world: World) -> World:
    return records.enable(world)


def claim_for(command_id: str) -> None:
    """What the dispatcher does around SendCommand: claim the group, then name the command."""
    now = dt.datetime.now(dt.UTC)
    taken = claim.take(dynamodb(), TABLE, KEY, now=now, until=now + dt.timedelta(minutes=8))
    assert isinstance(taken, Taken)
    until = now + dt.timedelta(minutes=8)
    assert claim.name_holder(dynamodb(), TABLE, taken, command_id, until=until)


def holder() -> str | None:
    held = claim.held(dynamodb(), TABLE, KEY, now=dt.datetime.now(dt.UTC))
    return held.holder if held else None


def cleared(world: World) -> str:
    """A clear of the group that has ended, recorded and claimed as the dispatcher leaves it."""
    members = emu.create_group(GROUP, 2)
    command_id = world.send()
    emu.settle_command(command_id, {i: ok() for i in members})
    dispatched(command_id, clear_claim=KEY)
    claim_for(command_id)
    return command_id


def test_the_final_notification_ends_the_claim(recording: World) -> None:
    world = recording
    command_id = cleared(world)
    world.start()
    world.slack.always()
    assert holder() == command_id

    result = world.notify(command_id)

    assert result["outcomes"] == [{"command_id": command_id, "verdict": "ok", "posted": True}]
    assert holder() is None
    assert item(KEY) == {}


def test_the_claim_ends_even_when_posting_the_verdict_fails(recording: World) -> None:
    world = recording
    command_id = cleared(world)
    world.start()
    for _ in range(5):
        world.slack.answer("internal_error", status=500)

    with pytest.raises(handler.NotificationsFailed, match="SlackUnavailable"):
        world.notify(command_id)

    # SSM said the command ended: the group is free, though its verdict waits for the retry
    assert holder() is None
    assert item(command_id)["state"] == {"S": "sent"}


def test_a_late_notification_of_an_older_command_leaves_a_newer_clears_claim(
    recording: World,
) -> None:
    world = recording
    older = cleared(world)
    # The older clear's claim ended (say, with its first notification); a newer clear holds it
    assert claim.end(dynamodb(), TABLE, KEY, older)
    newer = world.send()
    claim_for(newer)
    world.start()
    world.slack.always()

    # SNS delivers the older command's notification again, late
    world.notify(older)

    assert holder() == newer


def test_a_failing_release_does_not_break_the_verdict(
    recording: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world = recording
    command_id = cleared(world)
    rt = world.start()
    world.slack.always()
    assert rt.ledger is not None
    failed = fail_calls(rt.ledger.client, "DeleteItem", "InternalServerError", times=99)
    capsys.readouterr()

    result = world.notify(command_id)

    # Posted once and recorded; the claim stays until it expires, and the failure is counted
    assert failed
    assert result["outcomes"] == [{"command_id": command_id, "verdict": "ok", "posted": True}]
    assert len(world.slack.messages()) == 1
    assert item(command_id)["state"] == {"S": "judged"}
    assert holder() == command_id
    assert emitted_metrics(capsys.readouterr().out)["ClaimReleaseFailed"] >= 1


def test_a_claim_a_failed_release_left_ends_with_the_next_delivery(recording: World) -> None:
    world = recording
    command_id = cleared(world)
    rt = world.start()
    world.slack.always()
    assert rt.ledger is not None
    fail_calls(rt.ledger.client, "DeleteItem", "InternalServerError", times=2)
    world.notify(command_id)
    assert holder() == command_id

    # SNS delivers the notification again: no second post, and the group is freed
    again = world.notify(command_id)

    assert again["outcomes"] == [{"command_id": command_id, "duplicate": True}]
    assert len(world.slack.messages()) == 1
    assert holder() is None


def test_the_watchdogs_verdict_ends_the_claim_when_sns_was_lost(recording: World) -> None:
    world = recording
    command_id = cleared(world)
    world.start()
    world.slack.always()

    result = world.invoke(watchdog_event(command_id))

    assert result["outcomes"][0]["verdict"] == "ok"
    assert holder() is None


def test_a_notification_that_beat_the_record_still_ends_the_claim(recording: World) -> None:
    # SNS can reach the notifier before the dispatcher's record lands: the claim's key is read
    # again once the verdict is recorded
    world = recording
    members = emu.create_group(GROUP, 2)
    command_id = world.send()
    emu.settle_command(command_id, {i: ok() for i in members})
    claim_for(command_id)
    rt = world.start()
    world.slack.always()
    assert rt.ledger is not None

    calls: list[str] = []

    def record_lands(**_: object) -> None:
        # The notifier's second UpdateItem records the verdict: the dispatcher's record has
        # landed by then, after the notifier's claim made the item
        calls.append("UpdateItem")
        if len(calls) == 2:
            dispatched(command_id, clear_claim=KEY)

    rt.ledger.client.meta.events.register("before-call.dynamodb.UpdateItem", record_lands)

    world.notify(command_id)

    assert holder() is None
