"""One clear per target at a time: a claim item in the commands table, taken by a conditional
write before SendCommand and ended when the clear's verdict is in.

    commandId (S, key)  "claim#group#<name>" or "claim#instance#<id>"
    token (S)           the taker's, so that only it gives the claim back or names its command
    requestedAt (S)     when it was taken (ISO 8601 UTC)
    until (N)           epoch seconds: the clear's last possible end; past it the claim is free
    holder (S)          the command id, once SendCommand answered
    ttl (N)             the table's TTL attribute: the item leaves the table after `until`

ListCommands is eventually consistent, so a check-then-send guard lets two requests that
arrive together both send; DynamoDB evaluates a condition and applies the write atomically.
A claim whose `until` has passed is taken over by the same write, so a dispatcher that died
between claiming and sending never locks its target for longer than one command lifetime.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from apcu_clear.item import iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_CONDITION_FAILED = "ConditionalCheckFailedException"
PREFIX = "claim#"
# How long past `until` the item stays in the table (TTL deletes it within days anyway).
_TTL_AFTER = dt.timedelta(days=1)


def group_key(group: str) -> str:
    return f"{PREFIX}group#{group}"


def instance_key(instance_id: str) -> str:
    return f"{PREFIX}instance#{instance_id}"


@dataclass(frozen=True)
class Taken:
    key: str
    token: str


@dataclass(frozen=True)
class Held:
    """Someone else's unexpired claim: the command it sent, or "" while it is still sending."""

    key: str
    holder: str
    requested_at: str | None
    until: int


def take(
    client: DynamoDBClient, table: str, key: str, *, now: dt.datetime, until: dt.datetime
) -> Taken | Held:
    """Claim `key` until `until`, unless an unexpired claim holds it (then who holds it)."""
    token = uuid.uuid4().hex
    try:
        client.put_item(
            TableName=table,
            Item={
                "commandId": {"S": key},
                "token": {"S": token},
                "requestedAt": {"S": iso(now)},
                "until": {"N": str(_epoch(until))},
                "ttl": {"N": str(_epoch(until + _TTL_AFTER))},
            },
            # One write: DynamoDB checks that the key is free (or its claim expired) and
            # writes in one step, so of two takers at the same moment exactly one succeeds.
            ConditionExpression="attribute_not_exists(#key) OR #until < :now",
            ExpressionAttributeNames={"#key": "commandId", "#until": "until"},
            ExpressionAttributeValues={":now": {"N": str(_epoch(now))}},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        if _code(error) != _CONDITION_FAILED:
            raise
        old = _item_of(error)
        if _s(old, "token") == token:
            # botocore retried a write that had landed (its answer was lost): the claim is ours.
            return Taken(key, token)
        return Held(
            key=key,
            holder=_s(old, "holder"),
            requested_at=_s(old, "requestedAt") or None,
            until=int(old.get("until", {}).get("N", "0")),
        )
    return Taken(key, token)


def held(client: DynamoDBClient, table: str, key: str, *, now: dt.datetime) -> Held | None:
    """The unexpired claim on `key`, read without taking it (a dry run), or None."""
    item = client.get_item(TableName=table, Key=_key(key), ConsistentRead=True).get("Item", {})
    until = int(item.get("until", {}).get("N", "0")) if item else 0
    if not item or until < _epoch(now):
        return None
    return Held(key, _s(item, "holder"), _s(item, "requestedAt") or None, until)


def name_holder(
    client: DynamoDBClient, table: str, claim: Taken, command_id: str, *, until: dt.datetime
) -> bool:
    """Write the command that holds the claim and the clear's real end (SSM's expiry plus a
    margin); False when the claim was taken over meanwhile (it had expired)."""
    try:
        client.update_item(
            TableName=table,
            Key=_key(claim.key),
            UpdateExpression="SET #holder = :holder, #until = :until, #ttl = :ttl",
            ConditionExpression="#token = :token",
            ExpressionAttributeNames={
                "#holder": "holder",
                "#until": "until",
                "#ttl": "ttl",
                "#token": "token",
            },
            ExpressionAttributeValues={
                ":holder": {"S": command_id},
                ":until": {"N": str(_epoch(until))},
                ":ttl": {"N": str(_epoch(until + _TTL_AFTER))},
                ":token": {"S": claim.token},
            },
        )
    except ClientError as error:
        if _code(error) == _CONDITION_FAILED:
            return False
        raise
    return True


def give_back(client: DynamoDBClient, table: str, claim: Taken) -> bool:
    """Delete the claim nothing was sent under; False when it is no longer ours."""
    return _delete(client, table, claim.key, "#token = :mine", {"#token": "token"}, claim.token)


def end(client: DynamoDBClient, table: str, key: str, command_id: str) -> bool:
    """End the claim held by `command_id` (its clear is over); False when another command holds
    it, or nobody: a late notification of an old command never frees a newer clear's claim."""
    return _delete(client, table, key, "#holder = :mine", {"#holder": "holder"}, command_id)


def _delete(
    client: DynamoDBClient,
    table: str,
    key: str,
    condition: str,
    names: dict[str, str],
    value: str,
) -> bool:
    try:
        client.delete_item(
            TableName=table,
            Key=_key(key),
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={":mine": {"S": value}},
        )
    except ClientError as error:
        if _code(error) == _CONDITION_FAILED:
            return False
        raise
    return True


def _epoch(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def _key(key: str) -> dict[str, Any]:
    return {"commandId": {"S": key}}


def _s(item: dict[str, Any], name: str) -> str:
    value = item.get(name, {}).get("S", "")
    return value if isinstance(value, str) else ""


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _item_of(error: ClientError) -> dict[str, Any]:
    item = error.response.get("Item")
    return item if isinstance(item, dict) else {}


def hand_over(
    client: DynamoDBClient,
    table: str,
    key: str,
    holder: str,
    successor: str,
    *,
    until: dt.datetime,
) -> bool:
    """The clear goes on with another command (an automatic retry): it holds the claim now,
    until its own end. False when `holder` no longer holds it (ended, or taken over)."""
    try:
        client.update_item(
            TableName=table,
            Key=_key(key),
            UpdateExpression="SET #holder = :next, #until = :until, #ttl = :ttl",
            ConditionExpression="#holder = :holder",
            ExpressionAttributeNames={"#holder": "holder", "#until": "until", "#ttl": "ttl"},
            ExpressionAttributeValues={
                ":next": {"S": successor},
                ":holder": {"S": holder},
                ":until": {"N": str(_epoch(until))},
                ":ttl": {"N": str(_epoch(until + _TTL_AFTER))},
            },
        )
    except ClientError as error:
        if _code(error) == _CONDITION_FAILED:
            return False
        raise
    return True
