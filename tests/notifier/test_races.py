"""Normal races must not count in the notifier's Errors, whose alarm pages on-call (issue 20,
point 5): SNS ahead of ListCommands is looked at again a minute later through a watchdog
schedule; a second caller while the verdict is being posted leaves it to the first (tested in
test_idempotency and test_watchdog)."""

from __future__ import annotations

import json

import pytest

from apcu_notifier import handler
from apcu_notifier.watchdog import MAX_SETTLE_LOOKS
from harness import aws_emulator as emu
from harness.aws_emulator import ok
from tests.notifier.conftest import GROUP, World, text_of
from tests.notifier.records import dispatched, item
from tests.notifier.test_rearm import SCHEDULE_GROUP, Watched, recording, scheduler
from tests.notifier.test_watchdog import NEVER_ARRIVED, emitted_metrics, watchdog_event

__all__ = ["recording"]


def notified_early(world: World) -> tuple[str, list[str]]:
    """A command SNS says ended while ListCommands still says it runs."""
    members = sorted(emu.create_group(GROUP, 2))
    command_id = world.send()
    emu.settle_command(command_id, {i: ok() for i in members}, status="InProgress")
    dispatched(command_id)
    return command_id, members


def stored_event(command_id: str, look: int) -> dict[str, object]:
    stored = scheduler().get_schedule(
        Name=f"watchdog-{command_id}-settle-{look}", GroupName=SCHEDULE_GROUP
    )
    # A minute after the runtime's clock (test_rearm's NOW, 09:30:07).
    assert stored["ScheduleExpression"] == "at(2026-03-02T09:31:07)"
    event: dict[str, object] = json.loads(stored["Target"]["Input"])
    return event


def test_sns_ahead_of_list_commands_looks_again_shortly_and_gives_one_verdict(
    recording: World, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given SNS says Success while ListCommands still says InProgress
    watched = Watched(recording)
    world = watched.world
    command_id, members = notified_early(world)
    world.slack.always()

    # When SNS's notification is handled, Then nothing raises and nothing is posted yet
    result = world.notify(command_id)
    assert result["outcomes"] == [
        {
            "command_id": command_id,
            "settling": "InProgress",
            "follow_up": f"watchdog-{command_id}-settle-1",
        }
    ]
    assert world.slack.messages() == []
    assert "claim" not in item(command_id)
    # And a look one minute later is armed in Scheduler, saying what SNS said
    event = stored_event(command_id, 1)
    assert event == {
        "source": "apcu-fleet-flush.watchdog",
        "commandId": command_id,
        "attempt": 1,
        "notified": "Success",
    }

    # When ListCommands has caught up and the look fires
    emu.settle_command(command_id, {i: ok() for i in members})
    capsys.readouterr()
    looked = world.invoke(event)

    # Then the verdict is posted, as SNS's: not a notification that never arrived
    assert looked["outcomes"] == [{"command_id": command_id, "verdict": "ok", "posted": True}]
    assert NEVER_ARRIVED not in text_of(world.slack.message())
    assert emitted_metrics(capsys.readouterr().out)["NotificationMissing"] == 0
    assert item(command_id)["verdict"]["M"]["via"] == {"S": "sns"}
    # And the dispatcher's watchdog after the expiry finds it: one verdict in all
    late = world.invoke(watchdog_event(command_id))
    assert late["outcomes"][0]["duplicate"] is True
    assert len(world.slack.messages()) == 1


def test_a_command_list_commands_never_ends_is_an_error_after_the_last_look(
    recording: World,
) -> None:
    watched = Watched(recording)
    world = watched.world
    command_id, _ = notified_early(world)
    world.slack.always()

    world.notify(command_id)
    for look in range(1, MAX_SETTLE_LOOKS):
        world.invoke(stored_event(command_id, look))
    with pytest.raises(handler.NotificationsFailed, match="CommandNotSettled"):
        world.invoke(stored_event(command_id, MAX_SETTLE_LOOKS))
    assert world.slack.messages() == []
