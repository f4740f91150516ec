"""Reads and conditional writes of the command record, each one DynamoDB call.

Exactly one verdict per command rests on `claim_verdict`: a conditional UpdateItem that
succeeds for one caller only while the item is still `sent` and nobody else holds an unexpired
claim. The winner posts, then `record_verdict` marks the item `judged`; a post that fails
calls `release_claim`, so the retry can claim again. A claim expires on its own (`until`), so
a caller that died mid-post cannot block the command for good.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from apcu_clear.item import (
    JUDGED,
    RETENTION,
    SENT,
    CommandRecord,
    RecordedVerdict,
    SlackMessage,
    iso,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_CONDITION_FAILED = "ConditionalCheckFailedException"
# BatchGetItem's limit of keys per call.
_BATCH_KEYS = 100
# DynamoDB refuses a name map that holds names an expression does not use.
_CLAIM_NAMES = {
    "#id": "commandId",
    "#state": "state",
    "#claim": "claim",
    "#until": "until",
    "#ttl": "ttl",
}


class ClaimResult(StrEnum):
    CLAIMED = "claimed"
    JUDGED = "judged"  # a verdict was already posted
    BUSY = "busy"  # another caller is posting it now


@dataclass(frozen=True)
class Claim:
    result: ClaimResult
    token: str = ""
    # The dispatcher's record when there is one (None for a command it never recorded).
    record: CommandRecord | None = None


def put_sent(client: DynamoDBClient, table: str, record: CommandRecord) -> None:
    """Write the dispatcher's fields of a command just sent, whatever came first.

    SNS can reach the notifier before this write lands, and its claim (or its verdict) then
    makes the item first. So this is an UpdateItem, not a conditional PutItem that would fail
    and lose the request's fields (GET /flush/{id} would answer 404 for a real command). Each
    field is set only where it is missing: what the notifier wrote (its claim, the state it
    moved on, a verdict) stays, and a second write of the same record changes nothing.
    """
    fields = {name: value for name, value in record.to_item().items() if name != "commandId"}
    names = {f"#f{i}": name for i, name in enumerate(fields)}
    values = {f":v{i}": value for i, value in enumerate(fields.values())}
    client.update_item(
        TableName=table,
        Key=_key(record.command_id),
        UpdateExpression="SET "
        + ", ".join(f"#f{i} = if_not_exists(#f{i}, :v{i})" for i in range(len(fields))),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=values,
    )


def read(client: DynamoDBClient, table: str, command_id: str) -> CommandRecord | None:
    """The dispatcher's record of the command, or None when it wrote none."""
    answer = client.get_item(TableName=table, Key=_key(command_id), ConsistentRead=True)
    item = answer.get("Item")
    return CommandRecord.from_item(item) if item else None


def read_many(
    client: DynamoDBClient, table: str, command_ids: Sequence[str]
) -> list[CommandRecord]:
    """The dispatcher's records of these commands (those it wrote), in consistent reads.

    BatchGetItem takes at most 100 keys per call and may leave some unprocessed under load:
    those are asked again, as its documentation says to."""
    found: list[CommandRecord] = []
    unique = list(dict.fromkeys(command_ids))
    for start in range(0, len(unique), _BATCH_KEYS):
        keys: list[Any] = [_key(i) for i in unique[start : start + _BATCH_KEYS]]
        while keys:
            answer = client.batch_get_item(
                RequestItems={table: {"Keys": keys, "ConsistentRead": True}}
            )
            for item in answer.get("Responses", {}).get(table, []):
                record = CommandRecord.from_item(item)
                if record is not None:
                    found.append(record)
            unprocessed: dict[str, Any] = dict(answer.get("UnprocessedKeys", {}))
            keys = list(unprocessed.get(table, {}).get("Keys", []))
    return found


def add_retries(client: DynamoDBClient, table: str, command_id: str, retries: list[str]) -> None:
    """Append retry commands to the list on the clear's first command (which must exist)."""
    client.update_item(
        TableName=table,
        Key=_key(command_id),
        UpdateExpression="SET #retries = list_append(if_not_exists(#retries, :none), :ids)",
        ConditionExpression="attribute_exists(#id)",
        ExpressionAttributeNames={"#retries": "retries", "#id": "commandId"},
        ExpressionAttributeValues={
            ":none": {"L": []},
            ":ids": {"L": [{"S": i} for i in retries]},
        },
    )


def is_judged(client: DynamoDBClient, table: str, command_id: str) -> bool:
    """True once a verdict was recorded for the command: one consistent read of its state."""
    answer = client.get_item(
        TableName=table,
        Key=_key(command_id),
        ConsistentRead=True,
        ProjectionExpression="#state",
        ExpressionAttributeNames={"#state": "state"},
    )
    return answer.get("Item", {}).get("state", {}).get("S") == JUDGED


def claim_verdict(
    client: DynamoDBClient,
    table: str,
    command_id: str,
    *,
    now: dt.datetime,
    hold_seconds: float,
) -> Claim:
    """Take the right to post this command's verdict, or learn who has it.

    A command without a record (sent outside this stack, or whose record could not be
    written) gets a bare item here, so it too is posted once.
    """
    token = uuid.uuid4().hex
    until = int(now.timestamp() + max(hold_seconds, 1.0))
    try:
        answer = client.update_item(
            TableName=table,
            Key=_key(command_id),
            UpdateExpression=(
                "SET #claim = :claim, #state = if_not_exists(#state, :sent), "
                "#ttl = if_not_exists(#ttl, :ttl)"
            ),
            ConditionExpression=(
                "attribute_not_exists(#id) OR "
                "(#state = :sent AND (attribute_not_exists(#claim) OR #claim.#until < :now))"
            ),
            ExpressionAttributeNames=_CLAIM_NAMES,
            ExpressionAttributeValues={
                ":claim": {"M": {"token": {"S": token}, "until": {"N": str(until)}}},
                ":sent": {"S": SENT},
                ":now": {"N": str(int(now.timestamp()))},
                ":ttl": {"N": str(int((now + RETENTION).timestamp()))},
            },
            ReturnValues="ALL_OLD",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != _CONDITION_FAILED:
            raise
        old = _item_of(error)
        if old.get("claim", {}).get("M", {}).get("token", {}).get("S") == token:
            # botocore retried a claim that had landed (its answer was lost): it is ours.
            return Claim(ClaimResult.CLAIMED, token=token, record=CommandRecord.from_item(old))
        state = old.get("state", {}).get("S")
        result = ClaimResult.JUDGED if state == JUDGED or not old else ClaimResult.BUSY
        return Claim(result, record=CommandRecord.from_item(old))
    return Claim(
        ClaimResult.CLAIMED,
        token=token,
        record=CommandRecord.from_item(answer.get("Attributes", {})),
    )


def record_verdict(
    client: DynamoDBClient, table: str, command_id: str, token: str, verdict: RecordedVerdict
) -> bool:
    """Mark the command judged with the verdict just posted; False if the claim was lost.

    The claim's token stays on the item (judgedBy), so a retried write that had already
    landed finds its own token and succeeds again instead of reporting the claim lost."""
    return _conditional_update(
        client,
        TableName=table,
        Key=_key(command_id),
        UpdateExpression=(
            "SET #state = :judged, #verdict = :verdict, #judgedBy = :token REMOVE #claim"
        ),
        ConditionExpression="#claim.#token = :token OR #judgedBy = :token",
        ExpressionAttributeNames={
            "#state": "state",
            "#verdict": "verdict",
            "#claim": "claim",
            "#token": "token",
            "#judgedBy": "judgedBy",
        },
        ExpressionAttributeValues={
            ":judged": {"S": JUDGED},
            ":verdict": verdict.to_attribute(),
            ":token": {"S": token},
        },
    )


def release_claim(client: DynamoDBClient, table: str, command_id: str, token: str) -> None:
    """Give the claim back after a failed post, so that the retry posts."""
    _conditional_update(
        client,
        TableName=table,
        Key=_key(command_id),
        UpdateExpression="REMOVE #claim",
        ConditionExpression="#claim.#token = :token",
        ExpressionAttributeNames={"#claim": "claim", "#token": "token"},
        ExpressionAttributeValues={":token": {"S": token}},
    )


# The watchdog's two alerts that are not a verdict, each posted once per command.
STUCK_ALERT = "stuckAlertedAt"
NEVER_ENDED_ALERT = "neverEndedAlertedAt"


# While one is being posted: a lease {token, until}, like the verdict's claim, so that an
# invocation that dies mid-post (a Lambda timeout runs no except) cannot block it for good.
_ALERT_LEASES = {STUCK_ALERT: "stuckAlertClaim", NEVER_ENDED_ALERT: "neverEndedAlertClaim"}


def take_alert(
    client: DynamoDBClient,
    table: str,
    command_id: str,
    *,
    now: dt.datetime,
    hold_seconds: float,
    attribute: str = STUCK_ALERT,
) -> str:
    """Take the right to post a stuck (or never-ended) alert: a token, or "" when the alert
    was posted, another caller holds an unexpired lease, or the command is judged.

    A command without a record gets a bare `sent` item, so that its verdict can still be
    claimed when it ends.
    """
    token = uuid.uuid4().hex
    until = int(now.timestamp() + max(hold_seconds, 1.0))
    try:
        client.update_item(
            TableName=table,
            Key=_key(command_id),
            UpdateExpression=(
                "SET #lease = :lease, #state = if_not_exists(#state, :sent), "
                "#ttl = if_not_exists(#ttl, :ttl)"
            ),
            ConditionExpression=(
                "attribute_not_exists(#id) OR (#state = :sent AND attribute_not_exists(#posted) "
                "AND (attribute_not_exists(#lease) OR #lease.#until < :now))"
            ),
            ExpressionAttributeNames={
                "#id": "commandId",
                "#state": "state",
                "#posted": attribute,
                "#lease": _ALERT_LEASES[attribute],
                "#until": "until",
                "#ttl": "ttl",
            },
            ExpressionAttributeValues={
                ":lease": {"M": {"token": {"S": token}, "until": {"N": str(until)}}},
                ":sent": {"S": SENT},
                ":now": {"N": str(int(now.timestamp()))},
                ":ttl": {"N": str(int((now + RETENTION).timestamp()))},
            },
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != _CONDITION_FAILED:
            raise
        lease = _item_of(error).get(_ALERT_LEASES[attribute], {}).get("M", {})
        # botocore retried a write that had landed: the lease is ours.
        return token if lease.get("token", {}).get("S") == token else ""
    return token


def complete_alert(
    client: DynamoDBClient,
    table: str,
    command_id: str,
    token: str,
    now: dt.datetime,
    attribute: str = STUCK_ALERT,
) -> None:
    """Record the alert as posted, for good; a retried write that had landed changes nothing."""
    try:
        client.update_item(
            TableName=table,
            Key=_key(command_id),
            UpdateExpression="SET #posted = if_not_exists(#posted, :now) REMOVE #lease",
            ConditionExpression="#lease.#token = :token OR attribute_exists(#posted)",
            ExpressionAttributeNames={
                "#posted": attribute,
                "#lease": _ALERT_LEASES[attribute],
                "#token": "token",
            },
            ExpressionAttributeValues={":now": {"S": iso(now)}, ":token": {"S": token}},
        )
    except ClientError as error:
        # The lease expired and nobody posted: still say it was, as it was.
        if error.response.get("Error", {}).get("Code") != _CONDITION_FAILED:
            raise
        client.update_item(
            TableName=table,
            Key=_key(command_id),
            UpdateExpression="SET #posted = if_not_exists(#posted, :now)",
            ExpressionAttributeNames={"#posted": attribute},
            ExpressionAttributeValues={":now": {"S": iso(now)}},
        )


def release_alert(
    client: DynamoDBClient, table: str, command_id: str, token: str, attribute: str = STUCK_ALERT
) -> None:
    """Give the lease back after a failed post, so that the retry posts."""
    _conditional_update(
        client,
        TableName=table,
        Key=_key(command_id),
        UpdateExpression="REMOVE #lease",
        ConditionExpression="#lease.#token = :token",
        ExpressionAttributeNames={"#lease": _ALERT_LEASES[attribute], "#token": "token"},
        ExpressionAttributeValues={":token": {"S": token}},
    )


# Slack app mode: the clear's one message (slackMessage), posted by whoever takes this lease
# first: the start message at the first command's InProgress, or the verdict when no start
# message was posted. Held like the verdict's claim, so that a poster that dies mid-post
# cannot keep the clear from ever having its message.
SLACK_MESSAGE = "slackMessage"
SLACK_MESSAGE_LEASE = "slackMessageClaim"
# The thread replies posted under it (SS of keys, apcu_notifier.app_flow): each is posted once,
# even when Lambda retries a verdict whose update and first reply Slack already took.
SLACK_REPLIES = "slackReplies"


@dataclass(frozen=True)
class MessageClaim:
    """`token`: ours to post (then set_slack_message). `message`: the clear has its message.
    `missing`: the command has no item to keep a message on. None of them: another caller is
    posting it now, or (before the verdict) it is too late."""

    token: str = ""
    message: SlackMessage | None = None
    missing: bool = False
    # The thread replies already posted under `message`.
    replies: frozenset[str] = frozenset()


def take_slack_message(
    client: DynamoDBClient,
    table: str,
    command_id: str,
    *,
    now: dt.datetime,
    hold_seconds: float,
    before_verdict: bool,
) -> MessageClaim:
    """Take the right to post the clear's message on its first command's item.

    `before_verdict` (the start message): only while the command is `sent` and nobody holds
    its verdict's claim, so that an InProgress notification that arrives late, after or during
    the verdict, posts nothing. The verdict itself takes the lease whatever the state.
    """
    token = uuid.uuid4().hex
    until = int(now.timestamp() + max(hold_seconds, 1.0))
    condition = (
        "attribute_exists(#id) AND attribute_not_exists(#message) AND "
        "(attribute_not_exists(#lease) OR #lease.#until < :now)"
    )
    names = {
        "#id": "commandId",
        "#message": SLACK_MESSAGE,
        "#lease": SLACK_MESSAGE_LEASE,
        "#until": "until",
    }
    values: dict[str, Any] = {
        ":lease": {"M": {"token": {"S": token}, "until": {"N": str(until)}}},
        ":now": {"N": str(int(now.timestamp()))},
    }
    if before_verdict:
        condition += (
            " AND #state = :sent AND (attribute_not_exists(#claim) OR #claim.#until < :now)"
        )
        names.update({"#state": "state", "#claim": "claim"})
        values[":sent"] = {"S": SENT}
    try:
        client.update_item(
            TableName=table,
            Key=_key(command_id),
            UpdateExpression="SET #lease = :lease",
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != _CONDITION_FAILED:
            raise
        old = _item_of(error)
        if old.get(SLACK_MESSAGE_LEASE, {}).get("M", {}).get("token", {}).get("S") == token:
            # botocore retried a write that had landed: the lease is ours.
            return MessageClaim(token=token)
        message = old.get(SLACK_MESSAGE)
        return MessageClaim(
            message=SlackMessage.from_attribute(message) if message else None,
            missing=not old,
            replies=frozenset(old.get(SLACK_REPLIES, {}).get("SS", [])),
        )
    return MessageClaim(token=token)


def set_slack_message(
    client: DynamoDBClient, table: str, command_id: str, token: str, message: SlackMessage
) -> bool:
    """Keep the message just posted on the item, ending the lease; False if the lease was
    lost (it expired and another caller took it). A retried write that landed succeeds."""
    return _conditional_update(
        client,
        TableName=table,
        Key=_key(command_id),
        UpdateExpression="SET #message = :message REMOVE #lease",
        ConditionExpression="#lease.#token = :token OR #message = :message",
        ExpressionAttributeNames={
            "#message": SLACK_MESSAGE,
            "#lease": SLACK_MESSAGE_LEASE,
            "#token": "token",
        },
        ExpressionAttributeValues={
            ":message": message.to_attribute(),
            ":token": {"S": token},
        },
    )


def add_slack_reply(client: DynamoDBClient, table: str, command_id: str, key: str) -> None:
    """Remember a thread reply Slack took (ADD to a string set: idempotent, no condition)."""
    client.update_item(
        TableName=table,
        Key=_key(command_id),
        UpdateExpression="ADD #replies :key",
        ExpressionAttributeNames={"#replies": SLACK_REPLIES},
        ExpressionAttributeValues={":key": {"SS": [key]}},
    )


def replace_slack_message(
    client: DynamoDBClient, table: str, command_id: str, old: SlackMessage, new: SlackMessage
) -> bool:
    """Point the clear at a new message in place of one that is gone; False if another
    invocation replaced it first. A retried write that landed succeeds."""
    return _conditional_update(
        client,
        TableName=table,
        Key=_key(command_id),
        UpdateExpression="SET #message = :new",
        ConditionExpression="#message = :old OR #message = :new",
        ExpressionAttributeNames={"#message": SLACK_MESSAGE},
        ExpressionAttributeValues={":old": old.to_attribute(), ":new": new.to_attribute()},
    )


def release_slack_message(client: DynamoDBClient, table: str, command_id: str, token: str) -> None:
    """Give the lease back after a failed post, so that the retry (or the verdict) posts."""
    _conditional_update(
        client,
        TableName=table,
        Key=_key(command_id),
        UpdateExpression="REMOVE #lease",
        ConditionExpression="#lease.#token = :token",
        ExpressionAttributeNames={"#lease": SLACK_MESSAGE_LEASE, "#token": "token"},
        ExpressionAttributeValues={":token": {"S": token}},
    )


def _conditional_update(client: DynamoDBClient, **request: Any) -> bool:
    """UpdateItem under its ConditionExpression: True when written, False when the condition
    did not hold (another caller got there first, or the lease was lost)."""
    try:
        client.update_item(**request)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == _CONDITION_FAILED:
            return False
        raise
    return True


def _key(command_id: str) -> dict[str, Any]:
    return {"commandId": {"S": command_id}}


def _item_of(error: ClientError) -> dict[str, Any]:
    item = error.response.get("Item")
    return item if isinstance(item, dict) else {}
