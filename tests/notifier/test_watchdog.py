"""The watchdog's event, as the dispatcher's schedule delivers it: a lost notification still
ends in one verdict, a command still running after its expiry is a `stuck` alert, and nothing
is posted twice whatever arrives first."""

from __future__ import annotations

import collections
import datetime as dt
import json
import threading
from typing import Any

import pytest
from werkzeug import Request, Response

from apcu_dispatcher.config import Config as DispatcherConfig
from apcu_dispatcher.validation import FlushRequest
from apcu_dispatcher.watchdog import build_record, build_schedule
from apcu_notifier import handler
from apcu_notifier.config import Language
from harness import aws_emulator as emu
from harness.aws_emulator import InvocationResult, ok
from tests.dispatcher.conftest import ENV as DISPATCHER_ENV
from tests.notifier import records
from tests.notifier.conftest import GROUP, World, load_event, text_of
from tests.notifier.records import dispatched, item

NEVER_ARRIVED = "SSM's notification for this command never arrived"


@pytest.fixture
def recording(world: World) -> World:
    return records.enable(world)


def watchdog_event(command_id: str) -> dict[str, Any]:
    """The Input of the schedule the dispatcher creates for this command, as it fires."""
    request = FlushRequest("web-prod", "clear-apcu", None, None, False, "console", "console")
    config = DispatcherConfig.from_env(DISPATCHER_ENV)
    record = build_record(command_id, request, dt.datetime.now(dt.UTC), config)
    event: dict[str, Any] = json.loads(build_schedule(record, config)["Target"]["Input"])
    return event


def emitted_metrics(output: str) -> collections.Counter[str]:
    counted: collections.Counter[str] = collections.Counter()
    for line in output.splitlines():
        if line.startswith('{"_aws"'):
            entry = json.loads(line)
            for metric in entry["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                counted[metric["Name"]] += len(entry[metric["Name"]])
    return counted


def sent(world: World, size: int = 3, *, status: str = "Success") -> tuple[str, list[str]]:
    members = sorted(emu.create_group(GROUP, size))
    command_id = world.send()
    if status == "Success":
        emu.settle_command(command_id, {i: ok(cleared=5) for i in members})
    dispatched(command_id)
    return command_id, members


def test_the_schedules_input_is_an_event_the_notifier_accepts_as_it_is(
    recording: World,
) -> None:
    world = recording
    command_id, _ = sent(world)
    world.start()
    world.slack.always()

    result = world.invoke(watchdog_event(command_id))

    assert result["outcomes"] == [{"command_id": command_id, "verdict": "ok", "posted": True}]


def test_a_lost_notification_still_ends_in_the_verdict_saying_it_never_arrived(
    recording: World, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a command that ended, and no notification from SSM
    world = recording
    command_id, _ = sent(world)
    world.start()
    world.slack.always()

    # When the watchdog fires
    world.invoke(watchdog_event(command_id))

    # Then the usual verdict is posted, saying that SSM's notification never arrived
    message = world.slack.message()
    assert message["blocks"][0]["text"]["text"] == "✅ APCu cleared on every instance"
    text = text_of(message)
    assert "Every instance in web-prod ran the clear: 3 of 3 wanted" in text
    assert NEVER_ARRIVED in text
    assert "docs/deploy.md" in text
    # And the broken notification path is counted, and the verdict recorded as the watchdog's
    assert emitted_metrics(capsys.readouterr().out)["NotificationMissing"] == 1
    assert item(command_id)["verdict"]["M"]["via"] == {"S": "watchdog"}


def test_the_watchdog_after_the_sns_verdict_posts_nothing_and_reads_nothing_from_ssm(
    recording: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world = recording
    command_id, _ = sent(world)
    rt = world.start()
    world.slack.always()
    world.notify(command_id)
    calls: collections.Counter[str] = collections.Counter()
    for client in (rt.ssm, rt.autoscaling):
        client.meta.events.register("before-call", lambda model, **_: calls.update([model.name]))
    capsys.readouterr()

    result = world.invoke(watchdog_event(command_id))

    assert result["outcomes"] == [{"command_id": command_id, "duplicate": True}]
    assert len(world.slack.messages()) == 1
    assert sum(calls.values()) == 0
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["WatchdogFoundVerdict"] == 1
    assert metrics["NotificationMissing"] == 0


def test_a_late_sns_notification_after_the_watchdogs_verdict_posts_nothing(
    recording: World,
) -> None:
    world = recording
    command_id, _ = sent(world)
    world.start()
    world.slack.always()

    world.invoke(watchdog_event(command_id))
    late = world.notify(command_id)

    assert late["outcomes"] == [{"command_id": command_id, "duplicate": True}]
    assert len(world.slack.messages()) == 1
    assert NEVER_ARRIVED in text_of(world.slack.message())


def test_the_watchdog_and_sns_at_once_from_two_threads_post_once(recording: World) -> None:
    # Given SNS's delivery is in the middle of its post when the watchdog fires
    world = recording
    command_id, _ = sent(world)
    world.start()
    posting = threading.Event()
    release = threading.Event()

    def slow_slack(request: Request) -> Response:
        posting.set()
        release.wait(timeout=30)
        return Response("ok")

    world.slack.respond_with(slow_slack)
    outcomes: dict[str, Any] = {}

    def run(name: str, event: dict[str, Any]) -> None:
        try:
            outcomes[name] = world.invoke(event)
        except Exception as error:
            outcomes[name] = error

    sns = threading.Thread(
        target=run, args=("sns", load_event("command-success.json", commandId=command_id))
    )
    sns.start()
    assert posting.wait(timeout=30)
    watchdog = threading.Thread(target=run, args=("watchdog", watchdog_event(command_id)))
    watchdog.start()
    watchdog.join(timeout=30)
    release.set()
    sns.join(timeout=30)

    # Then one post; the watchdog left it to SNS's invocation, without an error
    assert len(world.slack.messages()) == 1
    assert outcomes["sns"]["outcomes"][0]["verdict"] == "ok"
    assert outcomes["watchdog"]["outcomes"] == [{"command_id": command_id, "in_progress": True}]
    # And a later watchdog event finds the verdict
    retry = world.invoke(watchdog_event(command_id))
    assert retry["outcomes"][0]["duplicate"] is True
    assert len(world.slack.messages()) == 1
    assert NEVER_ARRIVED not in text_of(world.slack.message())


def test_a_command_still_running_after_its_expiry_is_a_stuck_alert_then_its_verdict(
    recording: World, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a command where 1 of 3 instances cleared and 2 still run
    world = recording
    command_id, members = sent(world, status="InProgress")
    emu.settle_command(
        command_id,
        {
            members[0]: ok(),
            members[1]: InvocationResult("InProgress"),
            members[2]: InvocationResult("InProgress"),
        },
        status="InProgress",
    )
    world.start()
    world.slack.always()

    # When the watchdog fires
    result = world.invoke(watchdog_event(command_id))

    # Then a stuck alert with the live status, the counts and a link, with the mention
    assert result["outcomes"] == [{"command_id": command_id, "verdict": "stuck", "posted": True}]
    message = world.slack.message()
    assert message["blocks"][0]["text"]["text"] == "🚨 APCu clear still running after its expiry"
    text = text_of(message)
    assert "<!here>" in message["text"]
    assert "SSM still reports the command *InProgress* after its expiry" in text
    assert "1 of 3 targeted instances have cleared so far" in text
    assert f"run-command/{command_id}?region=us-east-1" in text
    assert emitted_metrics(capsys.readouterr().out)["VerdictStuck"] == 1
    # And it is not the command's verdict
    assert item(command_id)["state"] == {"S": "sent"}

    # When the watchdog's event is delivered again, Then no second stuck alert
    world.invoke(watchdog_event(command_id))
    assert len(world.slack.messages()) == 1

    # When the command ends later and SNS says so, Then its verdict is posted, once
    emu.settle_command(command_id, {i: ok() for i in members})
    world.notify(command_id)
    world.notify(command_id)
    posted = world.slack.messages()
    assert len(posted) == 2
    assert posted[1]["blocks"][0]["text"]["text"] == "✅ APCu cleared on every instance"
    assert NEVER_ARRIVED not in text_of(posted[1])
    assert item(command_id)["verdict"]["M"]["via"] == {"S": "sns"}


def test_a_stuck_alert_that_failed_to_post_is_posted_by_the_retry(recording: World) -> None:
    world = recording
    command_id, members = sent(world, status="InProgress")
    emu.settle_command(
        command_id, {i: InvocationResult("InProgress") for i in members}, status="InProgress"
    )
    world.start()
    world.slack.answer("channel_not_found", status=404)
    world.slack.answer("ok")

    with pytest.raises(handler.NotificationsFailed, match="SlackRejected"):
        world.invoke(watchdog_event(command_id))
    world.invoke(watchdog_event(command_id))

    assert len(world.slack.messages()) == 2
    assert "still running" in world.slack.messages()[1]["text"]


@pytest.mark.parametrize(
    "event",
    [
        {"source": "apcu-fleet-flush.watchdog"},
        {"source": "apcu-fleet-flush.watchdog", "commandId": "not-a-command"},
        {"source": "apcu-fleet-flush.watchdog", "commandId": 42},
    ],
)
def test_an_unreadable_watchdog_event_is_an_alert_never_silence(
    recording: World, event: dict[str, Any]
) -> None:
    world = recording
    world.start()
    world.slack.always()

    world.invoke(event)

    message = world.slack.message()
    assert message["blocks"][0]["text"]["text"] == "🚨 Unreadable Run Command notification"
    assert "the watchdog event has no valid commandId" in text_of(message)


def test_the_watchdog_for_a_command_ssm_does_not_know_is_an_alert(recording: World) -> None:
    world = recording
    command_id = "5f0c4a1e-8d3b-4c2a-9e7f-1b6d2a9c3e48"
    world.start()
    world.slack.always()

    result = world.invoke(watchdog_event(command_id))

    assert result["outcomes"][0]["verdict"] == "unknown_command"
    assert "SSM does not know this command" in world.slack.message()["text"]


def test_the_watchdog_in_japanese(recording: World) -> None:
    world = recording
    command_id, _ = sent(world)
    world.language = Language.JA
    world.start()
    world.slack.always()

    world.invoke(watchdog_event(command_id))

    assert "SSM 通知が届かなかった" in text_of(world.slack.message())


def test_a_running_command_without_a_record_is_still_a_stuck_alert_then_its_verdict(
    recording: World,
) -> None:
    # Given the dispatcher's PutItem failed but its schedule was created
    world = recording
    members = sorted(emu.create_group(GROUP, 2))
    command_id = world.send()
    emu.settle_command(
        command_id, {i: InvocationResult("InProgress") for i in members}, status="InProgress"
    )
    world.start()
    world.slack.always()

    world.invoke(watchdog_event(command_id))
    emu.settle_command(command_id, {i: ok() for i in members})
    world.notify(command_id)
    world.notify(command_id)

    assert [m["blocks"][0]["text"]["text"] for m in world.slack.messages()] == [
        "🚨 APCu clear still running after its expiry",
        "✅ APCu cleared on every instance",
    ]


def test_the_watchdogs_verdict_knows_who_joined_after_the_clear_as_snss_does(
    recording: World,
) -> None:
    # Given a command whose notification was lost, in a group where one InService instance
    # was launched after the command was requested (its cache began empty)
    world = recording
    members = sorted(emu.create_group(GROUP, 3))
    command_id = world.send()
    emu.set_launch_time([members[2]], dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5))
    emu.settle_command(command_id, {i: ok(cleared=5) for i in members[:2]})
    dispatched(command_id)
    world.start()
    world.slack.always()

    # When the watchdog brings the verdict
    world.invoke(watchdog_event(command_id))

    # Then it is the verdict SNS would have brought: ok, the late instance joined after
    message = world.slack.message()
    assert message["blocks"][0]["text"]["text"] == "✅ APCu cleared on every instance"
    text = text_of(message)
    assert "InService instances that started after the clear was requested: 1." in text
    assert NEVER_ARRIVED in text
