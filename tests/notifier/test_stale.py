"""The verdict's record keeps the InService instances it leaves stale: what POST
/flush/{commandId}/retry re-sends to. Through lambda_handler, moto with the emulator, and a
webhook on 127.0.0.1."""

from __future__ import annotations

import datetime as dt

import pytest

from apcu_clear.item import RecordedVerdict
from harness import aws_emulator as emu
from harness.aws_emulator import InvocationResult, ok
from tests.notifier import records
from tests.notifier.conftest import GROUP, World
from tests.notifier.records import dispatched, item
from tests.notifier.test_watchdog import watchdog_event


@pytest.fixture
def recording(world: World) -> World:
    world = records.enable(world)
    world.start()
    world.slack.always()
    return world


def stale(command_id: str) -> tuple[list[str], int]:
    verdict = item(command_id)["verdict"]["M"]
    listed = [v["S"] for v in verdict["staleInstances"]["L"]]
    return listed, int(verdict["staleCount"]["N"])


def judged(world: World, results: dict[str, InvocationResult], **settle: str) -> str:
    command_id = world.send()
    emu.settle_command(command_id, results, **settle)
    dispatched(command_id)
    outcome = world.notify(command_id)
    assert "verdict" in outcome["outcomes"][0], outcome
    return command_id


def test_missed_and_failed_in_service_instances_are_kept_and_nothing_else(
    recording: World,
) -> None:
    # Given 5 InService instances: 2 cleared, 1 failed, 1 undeliverable, 1 never reached,
    # and a Standby instance whose agent timed out
    members = sorted(emu.create_group(GROUP, 6))
    emu.set_desired_capacity(GROUP, 5)
    emu.set_lifecycle(GROUP, [members[5]], "Standby")
    command_id = judged(
        recording,
        {
            members[0]: ok(),
            members[1]: ok(),
            members[2]: InvocationResult("Failed", stderr="curl: (22) 503"),
            members[3]: InvocationResult("Failed", "Undeliverable"),
            members[5]: InvocationResult("TimedOut", "DeliveryTimedOut"),
        },
    )

    # Then the record names exactly the three InService instances left stale
    assert stale(command_id) == (sorted(members[2:5]), 3)


def test_no_targets_keeps_every_in_service_instance_but_not_one_that_joined_after(
    recording: World,
) -> None:
    # Given a command that reached nothing, and one InService instance launched after it
    members = sorted(emu.create_group(GROUP, 3))
    command_id = recording.send()
    emu.set_launch_time([members[2]], dt.datetime.now(dt.UTC) + dt.timedelta(minutes=3))
    emu.settle_command(command_id, {})
    dispatched(command_id)

    outcome = recording.notify(command_id)

    assert outcome["outcomes"][0]["verdict"] == "no_targets"
    # Its cache began empty: only the two that were there are stale
    assert stale(command_id) == (members[:2], 2)


def test_the_watchdogs_verdict_keeps_them_too(recording: World) -> None:
    # Given a command whose notification never came, and one instance that never got it
    members = sorted(emu.create_group(GROUP, 3))
    command_id = recording.send()
    emu.settle_command(command_id, {i: ok() for i in members[:2]})
    dispatched(command_id)

    recording.invoke(watchdog_event(command_id))

    assert item(command_id)["verdict"]["M"]["via"] == {"S": "watchdog"}
    assert stale(command_id) == ([members[2]], 1)


def test_an_ok_verdict_leaves_nothing_stale(recording: World) -> None:
    members = sorted(emu.create_group(GROUP, 2))
    command_id = judged(recording, {i: ok() for i in members})

    assert item(command_id)["verdict"]["M"]["kind"] == {"S": "ok"}
    assert stale(command_id) == ([], 0)


def test_a_retry_to_named_instances_keeps_those_it_did_not_reach(recording: World) -> None:
    # Given a retry sent to 3 instances by id: one cleared, one failed, one never answered
    members = sorted(emu.create_group(GROUP, 3))
    command_id = recording.send(instance_ids=members)
    emu.settle_command(
        command_id, {members[0]: ok(), members[1]: InvocationResult("Failed", stderr="503")}
    )
    dispatched(command_id, origin="retry")

    recording.notify(command_id)

    assert stale(command_id) == (members[1:], 2)


def test_the_stale_list_is_bounded_and_counted_and_the_status_shows_a_short_list() -> None:
    # Given a verdict that left 1,500 instances stale
    ids = tuple(f"i-{n:017x}" for n in range(1500))
    verdict = RecordedVerdict(
        kind="no_targets",
        alert=True,
        expected=1500,
        targeted=0,
        succeeded=0,
        missing_instances=ids,
        problems=(),
        posted_at="2026-11-29T05:30:00Z",
        via="sns",
        stale_instances=ids,
        stale_count=len(ids),
    )

    attribute = verdict.to_attribute()
    kept = attribute["M"]["staleInstances"]["L"]  # type: ignore[typeddict-item]

    # Then the item keeps 1,000 of them and says there were 1,500, far below 400 KB
    assert len(kept) == 1000
    assert attribute["M"]["staleCount"] == {"N": "1500"}  # type: ignore[typeddict-item]
    assert len(str(attribute)) < 60_000
    back = RecordedVerdict.from_attribute(attribute)
    assert back.stale_instances == ids[:1000]
    shown = back.to_json()["stale"]
    assert shown["count"] == 1500
    assert shown["instances"] == list(ids[:100])
