"""apcu_clear.record: the clear's item in the commands table, written by the dispatcher, the clear
and the relay in any order, against moto's DynamoDB."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeDeserializer

from apcu_clear import record
from apcu_clear.record import Clear, LifecycleHold, SlackMessage
from harness import aws_emulator

TABLE = "apcu-fleet-flush-CommandsTable-1A2B3C4D"
CLEAR_ID = "5f0c4a1e-8d3b-4c2a-9e7f-1b6d2a9c3e48"
NOW = dt.datetime(2026, 12, 3, 0, 30, tzinfo=dt.UTC)
CLEAR = Clear(
    clear_id=CLEAR_ID,
    group="web-prod",
    action="clear-apcu",
    prefix="config:",
    requester="arn:aws:sts::123456789012:assumed-role/PlatformOps/alice",
    comment="new flags",
    origin="api",
    requested_at="2026-12-03T00:30:00Z",
    expires_at="2026-12-03T00:33:00Z",
    claim_key="claim#group#web-prod",
)


@pytest.fixture
def db(aws: None) -> Iterator[Any]:
    aws_emulator.create_commands_table(TABLE)
    yield boto3.client("dynamodb")


def raw(db: Any, key: str = CLEAR_ID) -> dict[str, Any]:
    found = db.get_item(TableName=TABLE, Key={"commandId": {"S": key}})["Item"]
    return {k: TypeDeserializer().deserialize(v) for k, v in found.items()}


def epoch(text: str) -> int:
    return int(record.parse_iso(text).timestamp())


def test_a_clear_round_trips_through_the_table(db: Any) -> None:
    full = Clear(
        **{
            **CLEAR.__dict__,
            "origin": "retry",
            "retry_of": "0b6f3e2a-1c4d-4e5f-8a9b-0c1d2e3f4a5b",
            "targets": ("i-0123456789abcdef0", "i-0fedcba9876543210"),
            "hold": LifecycleHold("apcu-fleet-flush-warm-pool", "tok-1", "i-0123456789abcdef0"),
            "message": SlackMessage("C0APCUFLUSH", "1764741600.000100"),
        }
    )

    record.create(db, TABLE, full)
    stored = record.read(db, TABLE, CLEAR_ID)

    assert stored is not None
    assert stored.clear == full
    assert stored.state == record.RUNNING
    assert stored.message == full.message
    item = raw(db)
    assert item["ttl"] == epoch(full.requested_at) + 30 * 86_400
    assert item["targets"] == list(full.targets)
    # Strings, numbers, lists and maps only: no sets, no binary.
    assert all(isinstance(v, str | Decimal | list | dict) for v in item.values())


def test_a_clear_not_a_retry_keeps_no_retry_fields(db: Any) -> None:
    record.create(db, TABLE, CLEAR)

    item = raw(db)
    assert "retryOf" not in item and "targets" not in item and "lifecycle" not in item
    stored = record.read(db, TABLE, CLEAR_ID)
    assert stored is not None and stored.clear == CLEAR


def test_a_retrys_targets_are_kept_up_to_the_bound(db: Any) -> None:
    many = tuple(f"i-{n:017x}" for n in range(record.MAX_TARGETS + 5))
    retry = Clear(**{**CLEAR.__dict__, "retry_of": "x", "targets": many})

    record.create(db, TABLE, retry)

    assert raw(db)["targets"] == list(many[: record.MAX_TARGETS])


def test_a_clear_never_recorded_reads_as_none(db: Any) -> None:
    assert record.read(db, TABLE, CLEAR_ID) is None


def test_create_merges_with_what_the_relay_wrote_first(db: Any) -> None:
    # SSM's notification can reach the relay before the dispatcher records the clear.
    assert record.note_notification(db, TABLE, CLEAR_ID, "Success", NOW) == ""
    relayed = record.read(db, TABLE, CLEAR_ID)
    assert relayed is not None and relayed.clear is None and relayed.notified == "Success"

    record.create(db, TABLE, CLEAR)

    stored = record.read(db, TABLE, CLEAR_ID)
    assert stored is not None
    assert stored.clear == CLEAR and stored.notified == "Success"
    assert raw(db)["ttl"] == epoch(CLEAR.requested_at) + 30 * 86_400


def test_a_create_made_again_after_the_clear_was_judged_leaves_its_verdict(db: Any) -> None:
    # The dispatcher writes the record again when its first answer was lost; by then the clear
    # may have ended. Its state stays what the clear made it.
    record.create(db, TABLE, CLEAR)
    record.record_verdict(db, TABLE, CLEAR_ID, {"kind": "ok", "alert": False}, {"k": "ok"})

    record.create(db, TABLE, CLEAR)

    stored = record.read(db, TABLE, CLEAR_ID)
    assert stored is not None
    assert stored.state == record.JUDGED and stored.verdict == {"kind": "ok", "alert": False}


def test_callback_first_then_notification(db: Any) -> None:
    record.create(db, TABLE, CLEAR)

    assert record.record_callback(db, TABLE, CLEAR_ID, "cb-1", NOW) == ""
    assert record.note_notification(db, TABLE, CLEAR_ID, "Failed", NOW) == "cb-1"

    stored = record.read(db, TABLE, CLEAR_ID)
    assert stored is not None and (stored.callback_id, stored.notified) == ("cb-1", "Failed")


def test_notification_first_then_callback(db: Any) -> None:
    record.create(db, TABLE, CLEAR)

    assert record.note_notification(db, TABLE, CLEAR_ID, "TimedOut", NOW) == ""
    assert record.record_callback(db, TABLE, CLEAR_ID, "cb-1", NOW) == "TimedOut"


def test_the_halves_written_before_the_record_expire_on_their_own(db: Any) -> None:
    record.record_callback(db, TABLE, CLEAR_ID, "cb-1", NOW)
    first = raw(db)["ttl"]
    record.note_notification(db, TABLE, CLEAR_ID, "Success", NOW + dt.timedelta(days=3))

    assert first == int((NOW + record.RETENTION).timestamp())
    assert raw(db)["ttl"] == first, "a later half keeps the item's TTL"


def test_each_rounds_commands_are_kept_in_order_and_once(db: Any) -> None:
    record.create(db, TABLE, CLEAR)

    record.record_commands(db, TABLE, CLEAR_ID, ["f-2", "e-3"])
    record.record_commands(db, TABLE, CLEAR_ID, ["a-4"])
    # A round's step run again (its invocation died after the write) records nothing new.
    record.record_commands(db, TABLE, CLEAR_ID, ["a-4"])

    stored = record.read(db, TABLE, CLEAR_ID)
    assert stored is not None and stored.commands == ("f-2", "e-3", "a-4"), "the latest last"


def test_a_verdict_and_its_judgement_round_trip_with_numbers_as_ints(db: Any) -> None:
    record.create(db, TABLE, CLEAR)
    verdict = {
        "kind": "failed",
        "alert": True,
        "targeted": 3,
        "stale": {"count": 1, "instances": ["i-0123456789abcdef0"]},
        "apcu": {"instances": 2, "entries": 24},
    }

    record.record_verdict(db, TABLE, CLEAR_ID, verdict, {"attempts": [1, 2], "kind": "failed"})

    stored = record.read(db, TABLE, CLEAR_ID)
    assert stored is not None and stored.state == record.JUDGED
    assert stored.verdict == verdict
    assert stored.judgement == {"attempts": [1, 2], "kind": "failed"}
    assert type(stored.verdict["targeted"]) is int


def test_a_failure_is_recorded_short(db: Any) -> None:
    record.create(db, TABLE, CLEAR)

    record.record_failure(db, TABLE, CLEAR_ID, "SlackRejected: " + "x" * 1000)

    stored = record.read(db, TABLE, CLEAR_ID)
    assert stored is not None and stored.state == record.FAILED
    assert stored.failure.startswith("SlackRejected: ") and len(stored.failure) == 500


def test_the_clears_message_is_kept(db: Any) -> None:
    record.create(db, TABLE, CLEAR)

    record.record_message(db, TABLE, CLEAR_ID, SlackMessage("C0APCUFLUSH", "1.2"))

    stored = record.read(db, TABLE, CLEAR_ID)
    assert stored is not None and stored.message == SlackMessage("C0APCUFLUSH", "1.2")


def test_times_are_utc_to_the_second() -> None:
    tokyo = dt.timezone(dt.timedelta(hours=9))
    moment = dt.datetime(2026, 12, 3, 9, 30, 15, 999_000, tzinfo=tokyo)

    assert record.iso(moment) == "2026-12-03T00:30:15Z"
    assert record.parse_iso("2026-12-03T00:30:15Z") == moment.replace(microsecond=0)
