"""apcu_clear.claim: one clear per group (or instance) at a time, a conditional write in the
commands table, against moto's DynamoDB (made atomic by the emulator)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from apcu_clear import claim
from apcu_clear.claim import Held, Taken
from harness import aws_emulator
from tests.faults import Faults, injected

TABLE = "apcu-fleet-flush-CommandsTable-1A2B3C4D"
KEY = claim.group_key("web-prod")
NOW = dt.datetime(2026, 12, 3, 0, 30, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(minutes=8)
DAY = 86_400


@pytest.fixture
def db(aws: None) -> Iterator[Any]:
    aws_emulator.create_commands_table(TABLE)
    yield boto3.client("dynamodb")


def stored(db: Any) -> dict[str, Any] | None:
    from boto3.dynamodb.types import TypeDeserializer

    found = db.get_item(TableName=TABLE, Key={"commandId": {"S": KEY}}).get("Item")
    if found is None:
        return None
    return {k: TypeDeserializer().deserialize(v) for k, v in found.items()}


def taken(db: Any, now: dt.datetime = NOW, until: dt.datetime = LATER) -> Taken:
    got = claim.take(db, TABLE, KEY, now=now, until=until)
    assert isinstance(got, Taken), got
    return got


def test_the_keys_name_a_group_or_an_instance() -> None:
    assert claim.group_key("web-prod") == "claim#group#web-prod"
    assert claim.instance_key("i-0123456789abcdef0") == "claim#instance#i-0123456789abcdef0"


def test_the_first_taker_gets_the_claim_and_the_next_learns_who_holds_it(db: Any) -> None:
    first = taken(db)
    item = stored(db)
    assert item is not None
    assert item == {
        "commandId": KEY,
        "token": first.token,
        "requestedAt": "2026-12-03T00:30:00Z",
        "until": int(LATER.timestamp()),
        "ttl": int(LATER.timestamp()) + DAY,
    }
    assert claim.name_holder(db, TABLE, first, "clear-1", until=LATER)

    second = claim.take(db, TABLE, KEY, now=NOW + dt.timedelta(seconds=5), until=LATER)

    assert second == Held(KEY, "clear-1", "2026-12-03T00:30:00Z", int(LATER.timestamp()))


def test_a_claim_still_being_sent_names_no_clear(db: Any) -> None:
    taken(db)

    second = claim.take(db, TABLE, KEY, now=NOW, until=LATER)

    assert isinstance(second, Held) and second.holder == ""


def test_a_claim_is_held_up_to_its_until_and_taken_over_after(db: Any) -> None:
    dead = taken(db)

    at_until = claim.take(db, TABLE, KEY, now=LATER, until=LATER + dt.timedelta(minutes=8))
    assert isinstance(at_until, Held)
    after = claim.take(
        db, TABLE, KEY, now=LATER + dt.timedelta(seconds=1), until=LATER + dt.timedelta(minutes=9)
    )

    assert isinstance(after, Taken) and after.token != dead.token
    # The dead taker can no longer touch it.
    assert not claim.give_back(db, TABLE, dead)
    assert not claim.name_holder(db, TABLE, dead, "clear-dead", until=LATER)
    item = stored(db)
    assert item is not None and item["token"] == after.token and "holder" not in item


def test_held_reads_without_taking(db: Any) -> None:
    assert claim.held(db, TABLE, KEY, now=NOW) is None
    first = taken(db)
    claim.name_holder(db, TABLE, first, "clear-1", until=LATER)

    assert claim.held(db, TABLE, KEY, now=NOW) == Held(
        KEY, "clear-1", "2026-12-03T00:30:00Z", int(LATER.timestamp())
    )
    assert claim.held(db, TABLE, KEY, now=LATER + dt.timedelta(seconds=1)) is None
    assert stored(db) is not None, "a read takes nothing and deletes nothing"


def test_naming_the_holder_moves_until_to_the_clears_real_end(db: Any) -> None:
    first = taken(db)
    end = NOW + dt.timedelta(minutes=30)

    assert claim.name_holder(db, TABLE, first, "clear-1", until=end)

    item = stored(db)
    assert item is not None
    assert (item["holder"], item["until"], item["ttl"]) == (
        "clear-1",
        int(end.timestamp()),
        int(end.timestamp()) + DAY,
    )


def test_only_the_holder_extends_and_releases(db: Any) -> None:
    first = taken(db)
    claim.name_holder(db, TABLE, first, "clear-1", until=LATER)
    later = LATER + dt.timedelta(minutes=15)

    assert not claim.extend(db, TABLE, KEY, "clear-2", until=later)
    assert claim.extend(db, TABLE, KEY, "clear-1", until=later)
    item = stored(db)
    assert item is not None and item["until"] == int(later.timestamp())

    assert not claim.release(db, TABLE, KEY, "clear-2")
    assert stored(db) is not None
    assert claim.release(db, TABLE, KEY, "clear-1")
    assert stored(db) is None
    assert not claim.release(db, TABLE, KEY, "clear-1"), "nothing left to release"
    assert not claim.extend(db, TABLE, KEY, "clear-1", until=later), "nor to extend"
    assert stored(db) is None, "an extension never makes a claim anew"


def test_giving_back_needs_the_takers_token(db: Any) -> None:
    first = taken(db)

    assert not claim.give_back(db, TABLE, Taken(KEY, "someone-else"))
    assert claim.give_back(db, TABLE, first)
    assert stored(db) is None
    assert isinstance(claim.take(db, TABLE, KEY, now=NOW, until=LATER), Taken)


@pytest.mark.parametrize("kind", ["5xx", "timeout"])
def test_a_take_whose_answer_was_lost_is_made_again_and_finds_its_own_claim(
    db: Any, kind: str
) -> None:
    with injected(Faults(operation="PutItem", occurrence=1, kind=kind)) as faults:
        got = claim.take(db, TABLE, KEY, now=NOW, until=LATER)

    assert faults.count("PutItem") == 2
    assert isinstance(got, Taken)
    item = stored(db)
    assert item is not None and item["token"] == got.token


def test_a_throttled_take_raises_with_nothing_taken(db: Any) -> None:
    with (
        injected(Faults(operation="PutItem", occurrence=1, kind="throttle")) as faults,
        pytest.raises(ClientError, match="Throttling"),
    ):
        claim.take(db, TABLE, KEY, now=NOW, until=LATER)

    assert faults.count("PutItem") == 1
    assert stored(db) is None


def test_a_group_and_one_of_its_instances_are_claimed_apart(db: Any) -> None:
    taken(db)

    instance = claim.take(
        db, TABLE, claim.instance_key("i-0123456789abcdef0"), now=NOW, until=LATER
    )

    assert isinstance(instance, Taken)
