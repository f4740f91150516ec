"""One clear per group at a time: a claim item in the commands table, taken by a conditional
write before anything is sent, and given up by the clear when it ends.

    commandId (key)  "claim#group#<name>" or "claim#instance#<id>"
    token            the taker's: only it may give the claim back or name its clear
    holder           the clear that holds it (its id), once known
    requestedAt      when it was taken;  until: epoch seconds, past which the claim is free
    ttl              the table's TTL: the item leaves a day after `until`

ListCommands is eventually consistent, so a check-then-send guard lets two requests that arrive
together both send; DynamoDB checks a condition and writes in one step, so of two takers
exactly one wins. A claim past its `until` is taken over by the same write: a clear whose
execution died never locks its group for longer than that.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError

from apcu_clear.aws import error_code, may_have_run
from apcu_clear.record import KEY, iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_CONDITION_FAILED = "ConditionalCheckFailedException"
_TTL_AFTER = dt.timedelta(days=1)
# Writes whose answer was lost are made again this many times in all.
_ATTEMPTS = 3
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


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
    """Someone else's unexpired claim: the clear that holds it ("" while it is still sending)."""

    key: str
    holder: str
    requested_at: str
    until: int


def take(
    db: DynamoDBClient, table: str, key: str, *, now: dt.datetime, until: dt.datetime
) -> Taken | Held:
    """Claim `key` until `until`, unless an unexpired claim holds it (then who holds it).

    The write carries a token of the taker's own: a write whose answer was lost (a 5xx, a
    timeout) is made again, and if the first had landed, the claim it finds is ours."""
    token = uuid.uuid4().hex
    item = {
        KEY: key,
        "token": token,
        "requestedAt": iso(now),
        "until": _epoch(until),
        "ttl": _epoch(until + _TTL_AFTER),
    }
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            db.put_item(
                TableName=table,
                Item={name: _serializer.serialize(value) for name, value in item.items()},
                # One write: DynamoDB checks that the key is free (or its claim expired) and
                # writes in one step, so of two takers at the same moment exactly one wins.
                ConditionExpression="attribute_not_exists(#key) OR #until < :now",
                ExpressionAttributeNames={"#key": KEY, "#until": "until"},
                ExpressionAttributeValues={":now": _serializer.serialize(_epoch(now))},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if error_code(error) != _CONDITION_FAILED:
                if attempt < _ATTEMPTS and may_have_run(error):
                    continue
                raise
            answer: Any = error.response
            old = _plain(answer.get("Item") or {})
            if old.get("token") == token:
                return Taken(key, token)
            return Held(
                key,
                str(old.get("holder", "")),
                str(old.get("requestedAt", "")),
                int(old.get("until", 0)),
            )
        except (ReadTimeoutError, ConnectionClosedError):
            if attempt < _ATTEMPTS:
                continue
            raise
        return Taken(key, token)
    raise AssertionError("unreachable: the last attempt returns or raises")


def held(db: DynamoDBClient, table: str, key: str, *, now: dt.datetime) -> Held | None:
    """The unexpired claim on `key`, read without taking it (a dry run), or None."""
    item = _plain(
        db.get_item(TableName=table, Key=_key(key), ConsistentRead=True).get("Item") or {}
    )
    if not item or int(item.get("until", 0)) < _epoch(now):
        return None
    return Held(
        key, str(item.get("holder", "")), str(item.get("requestedAt", "")), int(item["until"])
    )


def name_holder(
    db: DynamoDBClient, table: str, taken: Taken, clear_id: str, *, until: dt.datetime
) -> bool:
    """Name the clear that holds the claim, until the clear's real end; False when the claim
    was taken over meanwhile (it had expired)."""
    return _update(
        db, table, taken.key, {"holder": clear_id, **_until(until)}, "token", taken.token
    )


def extend(db: DynamoDBClient, table: str, key: str, clear_id: str, *, until: dt.datetime) -> bool:
    """Keep the claim the clear holds until `until` (before it sends a retry); False when it
    no longer holds it."""
    return _update(db, table, key, _until(until), "holder", clear_id)


def give_back(db: DynamoDBClient, table: str, taken: Taken) -> bool:
    """Delete a claim nothing was sent under; False when it is no longer ours."""
    return _delete(db, table, taken.key, "token", taken.token)


def release(db: DynamoDBClient, table: str, key: str, clear_id: str) -> bool:
    """End the claim `clear_id` holds; False when another clear holds it, or nobody."""
    return _delete(db, table, key, "holder", clear_id)


def _until(until: dt.datetime) -> dict[str, int]:
    return {"until": _epoch(until), "ttl": _epoch(until + _TTL_AFTER)}


def _update(
    db: DynamoDBClient, table: str, key: str, values: Mapping[str, Any], owner: str, mine: str
) -> bool:
    """SET `values` only while the item's `owner` attribute is `mine`."""
    names = {f"#a{i}": name for i, name in enumerate(values)}
    serialized = {f":v{i}": _serializer.serialize(v) for i, v in enumerate(values.values())}
    try:
        db.update_item(
            TableName=table,
            Key=_key(key),
            UpdateExpression="SET " + ", ".join(f"{n} = :v{i}" for i, n in enumerate(names)),
            ConditionExpression="#owner = :mine",
            ExpressionAttributeNames={**names, "#owner": owner},
            ExpressionAttributeValues={**serialized, ":mine": _serializer.serialize(mine)},
        )
    except ClientError as error:
        if error_code(error) == _CONDITION_FAILED:
            return False
        raise
    return True


def _delete(db: DynamoDBClient, table: str, key: str, owner: str, mine: str) -> bool:
    """Delete the item only while its `owner` attribute is `mine`."""
    try:
        db.delete_item(
            TableName=table,
            Key=_key(key),
            ConditionExpression="#owner = :mine",
            ExpressionAttributeNames={"#owner": owner},
            ExpressionAttributeValues={":mine": _serializer.serialize(mine)},
        )
    except ClientError as error:
        if error_code(error) == _CONDITION_FAILED:
            return False
        raise
    return True


def _epoch(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def _key(key: str) -> Any:
    return {KEY: _serializer.serialize(key)}


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}
