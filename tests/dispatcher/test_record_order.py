"""SNS can outrun the dispatcher: the notifier's claim, or its whole verdict, may make the command's
item before the dispatcher records what was asked. The request's fields land either way, and
GET /flush/{commandId} answers for the real command (it answered 404 when a conditional PutItem
lost to the notifier's item)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

from apcu_clear import store
from apcu_clear.item import CommandRecord, RecordedVerdict
from apcu_dispatcher import handler
from apcu_dispatcher.clients import Clients
from apcu_dispatcher.config import Config
from tests.dispatcher.conftest import COMMANDS_TABLE, stored_event

COMMAND_ID = "0b7d3c2e-6f1a-4e9b-8c5d-2a4f6e8b1c3d"
REQUESTED = "2026-11-29T05:22:03Z"


def record() -> CommandRecord:
    return CommandRecord(
        command_id=COMMAND_ID,
        group="web-prod",
        prefix="config:",
        requester="arn:aws:sts::123456789012:assumed-role/PlatformOps/alice",
        comment="release 2026.11.29",
        origin="api",
        requested_at=REQUESTED,
        expires_at="2026-11-29T05:25:03Z",
    )


def verdict() -> RecordedVerdict:
    return RecordedVerdict(
        kind="ok",
        alert=False,
        expected=3,
        targeted=3,
        succeeded=3,
        missing_instances=(),
        problems=(),
        posted_at="2026-11-29T05:23:00Z",
        via="sns",
    )


def status(settings: Config, clients: Clients) -> tuple[int, dict[str, Any]]:
    event: dict[str, Any] = stored_event("api-status.json")
    event["pathParameters"] = {"commandId": COMMAND_ID}
    response = handler.handle(event, settings, clients).response
    return response["statusCode"], json.loads(response["body"])


def claim(clients: Clients) -> store.Claim:
    return store.claim_verdict(
        clients.dynamodb, COMMANDS_TABLE, COMMAND_ID, now=dt.datetime.now(dt.UTC), hold_seconds=60
    )


def test_a_verdict_recorded_before_the_dispatchers_write_keeps_both(
    settings: Config, clients: Clients
) -> None:
    # Given SNS reached the notifier first: it claimed and recorded the verdict
    taken = claim(clients)
    assert store.record_verdict(
        clients.dynamodb, COMMANDS_TABLE, COMMAND_ID, taken.token, verdict()
    )

    # When the dispatcher's write lands after it
    store.put_sent(clients.dynamodb, COMMANDS_TABLE, record())

    # Then the status route answers with the request and its verdict
    code, body = status(settings, clients)
    assert code == 200
    assert (body["group"], body["prefix"], body["requestedAt"]) == (
        "web-prod",
        "config:",
        REQUESTED,
    )
    assert body["state"] == "judged"
    assert body["verdict"]["kind"] == "ok"


def test_a_claim_taken_before_the_dispatchers_write_still_holds(
    settings: Config, clients: Clients
) -> None:
    taken = claim(clients)

    store.put_sent(clients.dynamodb, COMMANDS_TABLE, record())

    # The request's fields are there, and the notifier's claim is still its own
    stored = store.read(clients.dynamodb, COMMANDS_TABLE, COMMAND_ID)
    assert stored is not None and stored.group == "web-prod" and stored.comment
    assert claim(clients).result is store.ClaimResult.BUSY
    assert store.record_verdict(
        clients.dynamodb, COMMANDS_TABLE, COMMAND_ID, taken.token, verdict()
    )


def test_the_dispatchers_write_first_then_the_notifiers(settings: Config, clients: Clients) -> None:
    store.put_sent(clients.dynamodb, COMMANDS_TABLE, record())
    taken = claim(clients)
    assert taken.result is store.ClaimResult.CLAIMED
    assert taken.record == record()


def test_writing_the_same_record_twice_changes_nothing(clients: Clients) -> None:
    store.put_sent(clients.dynamodb, COMMANDS_TABLE, record())
    first = clients.dynamodb.get_item(
        TableName=COMMANDS_TABLE, Key={"commandId": {"S": COMMAND_ID}}
    )
    other = dataclasses.replace(record(), comment="a second write")

    store.put_sent(clients.dynamodb, COMMANDS_TABLE, other)

    again = clients.dynamodb.get_item(
        TableName=COMMANDS_TABLE, Key={"commandId": {"S": COMMAND_ID}}
    )
    assert again["Item"] == first["Item"]
