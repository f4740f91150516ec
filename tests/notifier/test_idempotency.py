"""Exactly one verdict per command (the command record's claim): SNS and Lambda may deliver
twice, a post may fail and be retried, and Slack still hears each command once."""

from __future__ import annotations

import collections
import datetime as dt
import threading
from typing import Any

import pytest
from werkzeug import Request, Response

from apcu_clear import store
from apcu_notifier import handler
from harness import aws_emulator as emu
from harness.aws_emulator import InvocationResult, ok
from tests.notifier import records
from tests.notifier.conftest import GROUP, World
from tests.notifier.records import TABLE, dispatched, dynamodb, item


@pytest.fixture
def recording(world: World) -> World:
    return records.enable(world)


def settled_command(world: World, size: int = 2, *, record: bool = True) -> str:
    members = emu.create_group(GROUP, size)
    command_id = world.send()
    emu.settle_command(command_id, {i: ok() for i in members})
    if record:
        dispatched(command_id)
    return command_id


def test_the_same_notification_twice_posts_once(recording: World) -> None:
    world = recording
    command_id = settled_command(world)
    world.start()
    world.slack.always()

    first = world.notify(command_id)
    second = world.notify(command_id)

    assert len(world.slack.messages()) == 1
    assert first["outcomes"] == [{"command_id": command_id, "verdict": "ok", "posted": True}]
    assert second["outcomes"] == [{"command_id": command_id, "duplicate": True}]


def test_the_posted_verdict_is_recorded_on_the_dispatchers_record(recording: World) -> None:
    # Given a group of 3 where one instance failed
    world = recording
    members = sorted(emu.create_group(GROUP, 3))
    command_id = world.send()
    results = {i: ok() for i in members[:2]}
    results[members[2]] = InvocationResult("Failed", stderr="curl: (22) 503")
    emu.settle_command(command_id, results)
    dispatched(command_id)
    world.start()
    world.slack.always()

    world.notify(command_id)

    # Then the item is judged, with the verdict as posted, brought by SNS
    recorded = item(command_id)
    assert recorded["state"] == {"S": "judged"}
    assert "claim" not in recorded
    assert recorded["group"] == {"S": GROUP}
    verdict = recorded["verdict"]["M"]
    posted_at = verdict.pop("postedAt")["S"]
    assert dt.datetime.strptime(posted_at, "%Y-%m-%dT%H:%M:%SZ")
    assert verdict == {
        "kind": {"S": "partial"},
        "alert": {"BOOL": True},
        "expected": {"N": "3"},
        "targeted": {"N": "3"},
        "succeeded": {"N": "2"},
        "missingInstances": {"L": []},
        "problems": {
            "L": [
                {
                    "M": {
                        "instanceId": {"S": members[2]},
                        "status": {"S": "Failed"},
                        "detail": {"S": "curl: (22) 503"},
                    }
                }
            ]
        },
        "via": {"S": "sns"},
        # The failed instance is what a retry would re-send to.
        "staleInstances": {"L": [{"S": members[2]}]},
        "staleCount": {"N": "1"},
        # clear-apcu: the APCu counts only
        "apcu": {"M": {"instances": {"N": "2"}, "entries": {"N": "20"}}},
    }


def test_a_second_final_status_of_the_same_command_is_not_a_second_verdict(
    recording: World,
) -> None:
    world = recording
    command_id = settled_command(world)
    world.start()
    world.slack.always()

    world.notify(command_id, "command-success.json")
    emu.settle_command(command_id, {}, status="Cancelled")
    late = world.notify(command_id, "command-cancelled.json")

    assert len(world.slack.messages()) == 1
    assert late["outcomes"][0]["duplicate"] is True


def test_two_concurrent_deliveries_post_once_and_the_loser_leaves_it_to_the_first(
    recording: World, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the first delivery is in the middle of its Slack post when the second arrives
    world = recording
    command_id = settled_command(world)
    world.start()
    first_posting = threading.Event()
    second_done = threading.Event()

    def slow_slack(request: Request) -> Response:
        first_posting.set()
        second_done.wait(timeout=30)
        return Response("ok")

    world.slack.respond_with(slow_slack)
    outcomes: dict[str, Any] = {}

    def deliver(name: str) -> None:
        try:
            outcomes[name] = world.notify(command_id)
        except Exception as error:
            outcomes[name] = error

    first = threading.Thread(target=deliver, args=("first",))
    first.start()
    assert first_posting.wait(timeout=30)

    # When the duplicate is handled while the first holds the claim
    deliver("second")
    second_done.set()
    first.join(timeout=30)

    # Then the duplicate returns without an error (a normal race must not count in the
    # function's Errors, whose alarm pages on-call) and Slack heard one message
    assert outcomes["first"]["outcomes"][0]["verdict"] == "ok"
    assert outcomes["second"]["outcomes"] == [{"command_id": command_id, "in_progress": True}]
    assert len(world.slack.messages()) == 1
    assert '"VerdictInProgress":[1.0]' in capsys.readouterr().out.replace(" ", "")

    # And a later delivery finds the verdict and posts nothing more
    retry = world.notify(command_id)
    assert retry["outcomes"][0]["duplicate"] is True
    assert len(world.slack.messages()) == 1


def test_a_failed_post_is_not_counted_as_posted_so_the_retry_posts(recording: World) -> None:
    world = recording
    command_id = settled_command(world)
    world.start()
    for _ in range(5):
        world.slack.answer("internal_error", status=500)
    world.slack.answer("ok")

    with pytest.raises(handler.NotificationsFailed, match="SlackUnavailable"):
        world.notify(command_id)
    # The claim was given back: the command is still waiting for its verdict
    assert item(command_id)["state"] == {"S": "sent"}
    assert "claim" not in item(command_id)

    result = world.notify(command_id)

    assert result["outcomes"] == [{"command_id": command_id, "verdict": "ok", "posted": True}]
    assert len(world.slack.messages()) == 6
    assert item(command_id)["state"] == {"S": "judged"}


def test_a_claim_left_by_an_invocation_that_died_expires(recording: World) -> None:
    # Given an invocation that claimed the command and was killed before it could post
    world = recording
    command_id = settled_command(world)
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    claim = store.claim_verdict(dynamodb(), TABLE, command_id, now=long_ago, hold_seconds=60)
    assert claim.token
    world.start()
    world.slack.always()

    # When Lambda retries the event, Then its claim has expired and the verdict is posted
    result = world.notify(command_id)

    assert result["outcomes"][0]["verdict"] == "ok"
    assert len(world.slack.messages()) == 1


def test_a_command_without_a_record_is_still_posted_once(recording: World) -> None:
    # Given a command sent outside this stack (no record)
    world = recording
    command_id = settled_command(world, record=False)
    world.start()
    world.slack.always()

    world.notify(command_id)
    world.notify(command_id)

    assert len(world.slack.messages()) == 1
    # The notifier remembers the verdict, but the item is not a record of a command it sent
    assert item(command_id)["state"] == {"S": "judged"}
    assert "requestedAt" not in item(command_id)
    assert store.read(dynamodb(), TABLE, command_id) is None


def test_in_progress_after_success_posts_nothing_more(recording: World) -> None:
    # SNS does not keep order: the InProgress notification may arrive last.
    world = recording
    command_id = settled_command(world)
    world.start()
    world.slack.always()

    world.notify(command_id, "command-success.json")
    late = world.notify(command_id, "command-inprogress.json")

    assert len(world.slack.messages()) == 1
    assert late["outcomes"][0]["skipped"] == "InProgress"


def test_without_a_table_there_is_no_deduplication(world: World) -> None:
    # COMMANDS_TABLE unset means no record and no de-duplication: both deliveries post.
    command_id = settled_command(world, record=False)
    world.start()
    world.slack.always()

    world.notify(command_id)
    world.notify(command_id)

    assert world.runtime is not None and world.runtime.ledger is None
    assert len(world.slack.messages()) == 2


def test_duplicate_unreadable_notifications_post_once(recording: World) -> None:
    world = recording
    world.start()
    world.slack.always()
    event = {"Records": [{"EventSource": "aws:sns", "Sns": {"Message": "not json"}}]}

    world.invoke(event)
    world.invoke(event)

    assert len(world.slack.messages()) == 1


def test_a_warm_pool_clear_that_is_ok_is_recorded_but_not_posted(recording: World) -> None:
    world = recording
    members = emu.create_group(GROUP, 2)
    quiet, loud = world.send(), world.send()
    emu.settle_command(quiet, {i: ok() for i in members})
    emu.settle_command(loud, {members[0]: ok()})
    dispatched(quiet, origin="warm-pool")
    dispatched(loud, origin="warm-pool")
    world.start()
    world.slack.always()

    first = world.notify(quiet)
    world.notify(loud)

    assert first["outcomes"] == [{"command_id": quiet, "verdict": "ok", "posted": False}]
    assert item(quiet)["verdict"]["M"]["kind"] == {"S": "ok"}
    # Only the alert reached Slack
    [message] = world.slack.messages()
    assert "did not reach the whole group" in message["text"]


def test_an_ok_verdict_makes_two_dynamodb_calls_beyond_the_three_reads(recording: World) -> None:
    world = recording
    command_id = settled_command(world, size=3)
    rt = world.start()
    assert rt.ledger is not None
    calls: collections.Counter[str] = collections.Counter()

    def hook(model: Any, **_: Any) -> None:
        calls[model.name] += 1

    for client in (rt.ssm, rt.autoscaling, rt.secrets.client, rt.ledger.client):
        client.meta.events.register("before-call", hook)
    world.slack.always()

    world.notify(command_id)

    # The claim and the recorded verdict; the secret is read once per container.
    assert dict(calls) == {
        "UpdateItem": 2,
        "ListCommands": 1,
        "ListCommandInvocations": 1,
        "DescribeAutoScalingGroups": 1,
        "GetSecretValue": 1,
    }
