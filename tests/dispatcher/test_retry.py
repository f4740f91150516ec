"""Retry on demand (POST /flush/{commandId}/retry): a clear of its own, with its own id, that sends
the judged clear's action and prefix again to the instances its verdict left stale and that are
InService now. Through the whole stack: the dispatcher records and starts it, the notifier's
execution sends, waits, judges and records the retry's verdict under the retry's id."""

from __future__ import annotations

import json
import uuid

from harness import aws_emulator
from harness.stack import GROUP, REQUESTER, Stack
from tests.dispatcher.conftest import GROUP_CLAIM, commands, group_claim, item
from tests.fleet import Fleet, failed


def stale_clear(stack: Stack, fleet: Fleet) -> str:
    fleet.serve()
    clear_id = stack.clear(prefix="config:")
    verdict = stack.verdict(clear_id)
    assert verdict["alert"] is True
    return clear_id


def test_a_retry_sends_to_the_stale_instances_in_service_and_records_its_own_verdict(
    deployed: Stack,
) -> None:
    ok, mending, gone = deployed.instances
    # Both fail the clear's two attempts; `mending` clears on the third, `gone` has left.
    fleet = Fleet({mending: [failed(), failed(), aws_emulator.ok(5)], gone: [failed()]})
    clear_id = stale_clear(deployed, fleet)
    assert sorted(deployed.status(clear_id)["verdict"]["stale"]["instances"]) == sorted(
        [mending, gone]
    )
    aws_emulator.set_lifecycle(GROUP, [gone], "Terminating")
    sent_before = len(fleet.sent)

    status, body = deployed.api("POST", f"/flush/{clear_id}/retry")

    assert status == 202, body
    retry_id = body["commandId"]
    assert str(uuid.UUID(retry_id)) == retry_id and retry_id != clear_id
    assert (body["retryOf"], body["retried"], body["skipped"]) == (clear_id, [mending], [gone])
    # Its record names what it repairs, whom it sends to and the claim it holds; its
    # execution is started by its id.
    record = item(retry_id)
    assert record is not None
    assert (record["retryOf"], record["targets"], record["claimKey"]) == (
        clear_id,
        [mending],
        GROUP_CLAIM,
    )
    assert (record["origin"], record["requester"], record["prefix"]) == (
        "retry",
        REQUESTER,
        "config:",
    )
    assert record["comment"] == f"retry of {clear_id}"
    assert deployed.lambda_.started(retry_id)

    verdict = deployed.verdict(retry_id)

    # Only the stale instance still InService got the command, by id, with the same prefix.
    assert fleet.sent[sent_before:] == [(fleet.sent[-1][0], [mending])]
    retried = next(c for c in commands() if c["CommandId"] == fleet.sent[-1][0])
    assert retried["InstanceIds"] == [mending]
    assert retried["Parameters"] == {"action": ["clear-apcu"], "prefix": ["config:"]}
    assert fleet.commands_to(ok) == 1 and fleet.commands_to(gone) == 2
    # The retry's verdict is recorded under the retry's id, naming the clear it repairs; the
    # clear's own verdict is left as it was.
    status_body = deployed.status(retry_id)
    assert status_body["retryOf"] == clear_id and status_body["state"] == "judged"
    assert mending not in verdict["stale"]["instances"]
    assert deployed.status(clear_id)["verdict"]["stale"]["count"] == 2
    assert group_claim() is None, "the retry frees the group when it ends"
    assert len(deployed.slack.webhook_posts) == 2, "the clear's verdict, then the retry's"
    assert mending in json.dumps(deployed.slack.webhook_posts[1])


def test_a_retry_of_a_retry_repairs_what_the_retry_left(deployed: Stack) -> None:
    broken = deployed.instances[2]
    fleet = Fleet({broken: [failed(), failed(), failed(), aws_emulator.ok(2)]})
    clear_id = stale_clear(deployed, fleet)
    status, first = deployed.api("POST", f"/flush/{clear_id}/retry")
    assert status == 202
    assert deployed.verdict(first["commandId"])["alert"] is True

    status, second = deployed.api("POST", f"/flush/{first['commandId']}/retry")

    assert status == 202, second
    assert (second["retryOf"], second["retried"]) == (first["commandId"], [broken])
    assert deployed.verdict(second["commandId"])["alert"] is False
    assert fleet.commands_to(broken) == 4


def test_a_retry_refused_leaves_nothing_recorded_and_nothing_started(deployed: Stack) -> None:
    Fleet().serve()
    clear_id = deployed.clear()
    deployed.outcome(clear_id)
    before = len(commands())

    status, _ = deployed.api("POST", f"/flush/{clear_id}/retry")

    assert status == 409
    assert len(commands()) == before and group_claim() is None
