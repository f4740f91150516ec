"""GET /flush/{commandId}: running, judged, unknown and malformed ids, through the handler."""

from __future__ import annotations

import collections
import datetime as dt
import json
from typing import Any

import pytest

from apcu_clear import converge, store
from apcu_clear.item import ApcuCount, OpcacheCount, RecordedProblem, RecordedVerdict
from apcu_dispatcher import handler
from apcu_dispatcher.clients import Clients
from apcu_dispatcher.config import Config
from harness import aws_emulator
from harness.aws_emulator import InvocationResult, ok
from tests.dispatcher.conftest import COMMANDS_TABLE, stored_event

STORED_ID = "5f0c4a1e-8d3b-4c2a-9e7f-1b6d2a9c3e48"


def status_event(command_id: Any) -> dict[str, Any]:
    event: dict[str, Any] = stored_event("api-status.json")
    event["pathParameters"] = {"commandId": command_id}
    return event


def ask(event: dict[str, Any], settings: Config, clients: Clients) -> tuple[int, dict[str, Any]]:
    response = handler.handle(event, settings, clients).response
    return response["statusCode"], json.loads(response["body"])


def clear(settings: Config, clients: Clients) -> str:
    response = handler.handle(stored_event("api-clear.json"), settings, clients).response
    assert response["statusCode"] == 202
    return str(json.loads(response["body"])["commandId"])


def ssm_calls(clients: Clients) -> collections.Counter[str]:
    calls: collections.Counter[str] = collections.Counter()
    clients.ssm.meta.events.register("before-call", lambda model, **_: calls.update([model.name]))
    return calls


def test_a_running_command_shows_ssms_live_status(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    # Given a clear whose first instance finished and two still run
    command_id = clear(settings, clients)
    aws_emulator.settle_command(
        command_id,
        {
            web_prod[0]: ok(),
            web_prod[1]: InvocationResult("InProgress"),
            web_prod[2]: InvocationResult("InProgress"),
        },
        status="InProgress",
    )
    calls = ssm_calls(clients)

    status, body = ask(status_event(command_id), settings, clients)

    assert status == 200
    recorded = store.read(clients.dynamodb, COMMANDS_TABLE, command_id)
    assert recorded is not None
    assert body == {
        "commandId": command_id,
        "group": "web-prod",
        "action": "clear-apcu",
        "prefix": "config:",
        "requestedAt": recorded.requested_at,
        "expiresAt": recorded.expires_at,
        "consoleUrl": "https://us-east-1.console.aws.amazon.com/systems-manager/run-command/"
        f"{command_id}?region=us-east-1",
        "state": "running",
        "ssm": {
            "status": "InProgress",
            "statusDetails": "InProgress",
            "targeted": 3,
            "completed": 1,
            "errors": 0,
        },
    }
    assert dict(calls) == {"ListCommands": 1}


def test_a_judged_command_shows_its_recorded_verdict_without_asking_ssm(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    # Given the notifier recorded a partial verdict
    command_id = clear(settings, clients)
    now = dt.datetime.now(dt.UTC)
    claim = store.claim_verdict(
        clients.dynamodb, COMMANDS_TABLE, command_id, now=now, hold_seconds=60
    )
    verdict = RecordedVerdict(
        kind="partial",
        alert=True,
        expected=3,
        targeted=3,
        succeeded=2,
        missing_instances=(),
        problems=(RecordedProblem(web_prod[2], "Failed", "Undeliverable"),),
        posted_at="2026-11-29T05:30:00Z",
        via="sns",
        stale_instances=(web_prod[2],),
        stale_count=1,
    )
    assert store.record_verdict(clients.dynamodb, COMMANDS_TABLE, command_id, claim.token, verdict)
    calls = ssm_calls(clients)

    status, body = ask(status_event(command_id), settings, clients)

    assert status == 200
    assert body["state"] == "judged"
    assert "ssm" not in body
    assert body["verdict"] == {
        "kind": "partial",
        "alert": True,
        "expected": 3,
        "targeted": 3,
        "succeeded": 2,
        "missingInstances": [],
        "problems": [{"instanceId": web_prod[2], "status": "Failed", "detail": "Undeliverable"}],
        "postedAt": "2026-11-29T05:30:00Z",
        "via": "sns",
        "stale": {"count": 1, "instances": [web_prod[2]]},
    }
    assert sum(calls.values()) == 0


def test_a_judged_opcache_reset_shows_its_counts_per_cache(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    # Given a clear-all whose verdict counted both caches
    response = handler.handle(
        {"group": "web-prod", "action": "clear-all"}, settings, clients
    ).response
    command_id = response["body"]["commandId"]
    claim = store.claim_verdict(
        clients.dynamodb, COMMANDS_TABLE, command_id, now=dt.datetime.now(dt.UTC), hold_seconds=60
    )
    verdict = RecordedVerdict(
        kind="old_code",
        alert=True,
        expected=3,
        targeted=3,
        succeeded=3,
        missing_instances=(),
        problems=(),
        posted_at="2026-11-29T05:30:00Z",
        via="sns",
        apcu=ApcuCount(instances=3, entries=321),
        opcache=OpcacheCount(instances=3, scripts=4000, preload=(web_prod[1],)),
    )
    assert store.record_verdict(clients.dynamodb, COMMANDS_TABLE, command_id, claim.token, verdict)

    status, body = ask(status_event(command_id), settings, clients)

    assert (status, body["action"], body["verdict"]["kind"]) == (200, "clear-all", "old_code")
    assert body["verdict"]["apcu"] == {"instances": 3, "entries": 321}
    assert body["verdict"]["opcache"] == {
        "instances": 3,
        "scripts": 4000,
        "preload": [web_prod[1]],
        "fileCache": [],
        "validateTimestamps": 0,
    }


def test_a_command_this_stack_never_sent_is_404(settings: Config, clients: Clients) -> None:
    # The stored console test event names a command no record exists for
    status, body = ask(stored_event("api-status.json"), settings, clients)

    assert status == 404
    assert body == {
        "error": {
            "status": 404,
            "field": "commandId",
            "rule": "unknown-command",
            "message": f"no clear {STORED_ID} was sent by this stack (or its record has expired)",
        }
    }


def test_a_verdict_the_notifier_kept_for_a_foreign_command_is_not_readable(
    settings: Config, clients: Clients
) -> None:
    # The notifier keeps a bare item for commands it judged without a record; not ours to show
    store.claim_verdict(
        clients.dynamodb, COMMANDS_TABLE, STORED_ID, now=dt.datetime.now(dt.UTC), hold_seconds=60
    )
    status, _ = ask(stored_event("api-status.json"), settings, clients)
    assert status == 404


@pytest.mark.parametrize(
    "command_id",
    [
        "abc",
        "",
        None,
        42,
        "5f0c4a1e-8d3b-4c2a-9e7f-1b6d2a9c3e4",
        "5f0c4a1e-8d3b-4c2a-9e7f-1b6d2a9c3e488",
        "5f0c4a1e8d3b4c2a9e7f1b6d2a9c3e48abcd",
        "5f0c4a1e-8d3b-4c2a-9e7f-1b6d2a9c3e4g",
        "../../5f0c4a1e-8d3b-4c2a-9e7f-1b6d2a9",
        "5f0c4a1e-8d3b-4c2a-9e7f-1b6d2a9c3e48\n",
    ],
)
def test_a_malformed_id_is_400_and_reads_nothing(
    settings: Config, clients: Clients, command_id: Any
) -> None:
    calls = ssm_calls(clients)
    status, body = ask(status_event(command_id), settings, clients)

    assert status == 400
    assert body["error"]["field"] == "commandId"
    assert body["error"]["rule"] == "pattern"
    assert "UUID" in body["error"]["message"]
    assert sum(calls.values()) == 0


def test_a_request_without_path_parameters_is_400(settings: Config, clients: Clients) -> None:
    event = stored_event("api-status.json")
    del event["pathParameters"]
    status, _ = ask(event, settings, clients)
    assert status == 400


def test_the_status_route_needs_an_iam_identity(settings: Config, clients: Clients) -> None:
    event = stored_event("api-status.json")
    del event["requestContext"]["authorizer"]
    status, body = ask(event, settings, clients)
    assert status == 403
    assert body["error"]["rule"] == "iam-auth"


def test_the_status_route_sends_nothing(
    settings: Config, clients: Clients, web_prod: list[str], sent: list[dict[str, Any]]
) -> None:
    command_id = clear(settings, clients)
    ask(status_event(command_id), settings, clients)
    assert len(sent) == 1


def _verdict(kind: str, stale: tuple[str, ...]) -> RecordedVerdict:
    return RecordedVerdict(
        kind=kind,
        alert=bool(stale),
        expected=3,
        targeted=3,
        succeeded=3 - len(stale),
        missing_instances=(),
        problems=(),
        posted_at="2026-11-29T05:30:00Z",
        via="sns",
        stale_instances=stale,
        stale_count=len(stale),
    )


def test_a_clear_whose_automatic_retry_runs_is_running_until_the_clear_is_judged(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    # Given a clear whose first attempt left one instance stale, judged without a post while
    # the notifier's retry runs
    command_id = clear(settings, clients)
    aws_emulator.settle_command(
        command_id,
        {web_prod[0]: ok(), web_prod[1]: ok(), web_prod[2]: InvocationResult("Failed")},
        status="Failed",
    )
    now = dt.datetime.now(dt.UTC)
    claim = store.claim_verdict(
        clients.dynamodb, COMMANDS_TABLE, command_id, now=now, hold_seconds=60
    )
    first = _verdict("partial", (web_prod[2],))
    assert store.record_verdict(clients.dynamodb, COMMANDS_TABLE, command_id, claim.token, first)
    retry = clients.ssm.send_command(DocumentName="AWS-RunShellScript", InstanceIds=[web_prod[2]])
    retry_id = retry["Command"]["CommandId"]
    aws_emulator.set_command_running(retry_id)
    attempt = converge.Attempt(command_id, 0, {web_prod[2]: "Failed"})
    assert converge.start_round(clients.dynamodb, COMMANDS_TABLE, command_id, 1, "t", attempt)
    converge.round_sent(clients.dynamodb, COMMANDS_TABLE, command_id, [retry_id], ())

    status, body = ask(status_event(command_id), settings, clients)

    # Then the clear is running, with the attempt in progress
    assert status == 200
    assert body["state"] == "running"
    assert body["attempt"]["commandId"] == retry_id
    assert body["attempt"]["round"] == 1
    assert body["ssm"]["status"] == "InProgress"

    # When the clear is judged, its verdict is the clear's
    converge.judge_clear(clients.dynamodb, COMMANDS_TABLE, command_id, _verdict("ok", ()))
    status, body = ask(status_event(command_id), settings, clients)
    assert body["state"] == "judged"
    assert body["verdict"]["kind"] == "ok"
    assert body["attempts"][0]["commandId"] == command_id
