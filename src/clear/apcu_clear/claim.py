"""One clear per group (or instance) at a time: a claim item taken by a conditional write before
anything is sent (docs/design.md, One clear per group); free after `until`, deleted a day later."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from apcu_clear.aws import error_code, may_have_run
from apcu_clear.record import KEY, Item, iso, item_key, plain, read_item, serialized

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_CONDITION_FAILED = "ConditionalCheckFailedException"
_TTL_AFTER = dt.timedelta(days=1)
# Writes whose answer was lost are made again this many times in all.
_ATTEMPTS = 3


def group_key(group: str) -> str:
    return f"claim#group#{group}"


def instance_key(instance_id: str) -> str:
    return f"claim#instance#{instance_id}"


@dataclass(frozen=True)
class Taken:
    key: str
    token: str


@dataclass(frozen=True)
class Held:
    # Someone else's unexpired claim: the clear that holds it ("" while it is still sending).
    key: str
    holder: str
    requested_at: str
    until: int

    @classmethod
    def from_item(cls, key: str, item: Item) -> Held:
        return cls(key, item.get("holder", ""), item.get("requestedAt", ""), item.get("until", 0))


def take(
    db: DynamoDBClient, table: str, key: str, *, now: dt.datetime, until: dt.datetime
) -> Taken | Held:
    """Claim `key` until `until`, unless an unexpired claim holds it (then who holds it). A write
    whose answer was lost is made again; if the first had landed, its token says it is ours."""
    token = uuid.uuid4().hex
    item = {KEY: key, "token": token, "requestedAt": iso(now), **_until(until)}
    attempt = 1
    while True:
        try:
            db.put_item(
                TableName=table,
                Item=serialized(item),
                # Checked and written in one step: of two takers at once exactly one wins.
                ConditionExpression="attribute_not_exists(#key) OR #until < :now",
                ExpressionAttributeNames={"#key": KEY, "#until": "until"},
                ExpressionAttributeValues=serialized({":now": _epoch(now)}),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return Taken(key, token)
        except Exception as error:
            if error_code(error) == _CONDITION_FAILED:
                old = plain(getattr(error, "response", {}).get("Item") or {})
                return Taken(key, token) if old.get("token") == token else Held.from_item(key, old)
            if attempt == _ATTEMPTS or not may_have_run(error):
                raise
            attempt += 1


def held(db: DynamoDBClient, table: str, key: str, *, now: dt.datetime) -> Held | None:
    """The unexpired claim on `key`, read without taking it (a dry run), or None."""
    item = read_item(db, table, key)
    if not item or item.get("until", 0) < _epoch(now):
        return None
    return Held.from_item(key, item)


def name_holder(
    db: DynamoDBClient, table: str, taken: Taken, clear_id: str, *, until: dt.datetime
) -> bool:
    """Name the clear that holds the claim, until its real end; False when it was taken over."""
    values = {"holder": clear_id, **_until(until)}
    return _as_owner(db, table, taken.key, "token", taken.token, values)


def extend(db: DynamoDBClient, table: str, key: str, clear_id: str, *, until: dt.datetime) -> bool:
    """Keep the clear's claim until `until`; False when it no longer holds it."""
    return _as_owner(db, table, key, "holder", clear_id, _until(until))


def give_back(db: DynamoDBClient, table: str, taken: Taken) -> bool:
    """Delete a claim nothing was sent under; False when it is no longer ours."""
    return _as_owner(db, table, taken.key, "token", taken.token, None)


def release(db: DynamoDBClient, table: str, key: str, clear_id: str) -> bool:
    """End the claim `clear_id` holds; False when another clear holds it, or nobody."""
    return _as_owner(db, table, key, "holder", clear_id, None)


def _until(until: dt.datetime) -> dict[str, int]:
    return {"until": _epoch(until), "ttl": _epoch(until + _TTL_AFTER)}


def _as_owner(
    db: DynamoDBClient, table: str, key: str, owner: str, mine: str, values: Item | None
) -> bool:
    """SET `values` (delete the item when None) only while `owner` is `mine`; False if not."""
    pairs = list((values or {}).items())
    condition: dict[str, Any] = {
        "TableName": table,
        "Key": item_key(key),
        "ConditionExpression": "#owner = :mine",
        "ExpressionAttributeNames": {"#owner": owner}
        | {f"#a{i}": n for i, (n, _) in enumerate(pairs)},
        "ExpressionAttributeValues": serialized(
            {":mine": mine} | {f":v{i}": v for i, (_, v) in enumerate(pairs)}
        ),
    }
    try:
        if values is None:
            db.delete_item(**condition)
        else:
            sets = ", ".join(f"#a{i} = :v{i}" for i in range(len(pairs)))
            db.update_item(**condition, UpdateExpression=f"SET {sets}")
    except ClientError as error:
        if error_code(error) == _CONDITION_FAILED:
            return False
        raise
    return True


def _epoch(moment: dt.datetime) -> int:
    return int(moment.timestamp())
