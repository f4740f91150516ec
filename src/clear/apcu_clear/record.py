"""The clear's record: one item in the commands table per clear, keyed by the clear's id (its
first command's id; for a retry asked on demand, the id the dispatcher gave it).

    commandId (key)  group  action  prefix ("" = whole cache)  requester  comment
    origin (api | console | slack | warm-pool | retry)  requestedAt  expiresAt  claimKey  ttl
    retryOf, targets      a retry asked on demand: the clear it repairs, the instances to re-send to
    lifecycle             a warm-pool clear under the launch hook: hookName, token, instanceId
    slackMessage          app mode: the message the clear lives in (channel, ts)
    callbackId            the clear's callback for its first command (written by the clear)
    notified              the final status SSM's notification brought (written by the relay)
    state                 running | judged | failed;  commands: those its rounds sent, in order
    verdict               once judged: what GET /flush/{commandId} answers
    judgement             once judged: the verdict as the notifier keeps it (a retry starts from it)

The clear and the relay meet on `callbackId` and `notified`: each writes its half and reads
the other's in the same UpdateItem, and DynamoDB applies the two one after the other, so
whichever comes second sees the first (record_callback, note_notification).

Items go through boto3's TypeSerializer and TypeDeserializer: str, int, bool, lists, maps.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEY = "commandId"
RUNNING = "running"
JUDGED = "judged"
FAILED = "failed"
# Items leave the table (TTL) this long after the request.
RETENTION = dt.timedelta(days=30)
# A retry re-sends to at most this many instances (some 22 bytes each, far below DynamoDB's
# 400 KB an item); a fleet that misses more at once needs a new clear, not a retry.
MAX_TARGETS = 1000

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def iso(moment: dt.datetime) -> str:
    """ "2026-11-29T05:22:03Z": UTC, to the second."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class LifecycleHold:
    """A launch lifecycle action that keeps an instance in Pending:Wait until its clear ends."""

    hook_name: str
    token: str
    instance_id: str

    def attribute(self) -> dict[str, str]:
        return {"hookName": self.hook_name, "token": self.token, "instanceId": self.instance_id}

    @classmethod
    def from_attribute(cls, value: Mapping[str, Any]) -> LifecycleHold:
        return cls(str(value["hookName"]), str(value["token"]), str(value["instanceId"]))


@dataclass(frozen=True)
class SlackMessage:
    """App mode: the message a clear lives in; `ts` is Slack's id of it within its channel."""

    channel: str
    ts: str


@dataclass(frozen=True)
class Clear:
    """What the dispatcher records when it starts a clear."""

    clear_id: str
    group: str
    action: str
    prefix: str
    requester: str
    comment: str
    origin: str
    requested_at: str
    # SSM's expiry of the first command; "" for a retry asked on demand (the clear sends it).
    expires_at: str = ""
    # The claim the clear holds and frees (apcu_clear.claim): its group's, or for a warm-pool
    # clear its instance's.
    claim_key: str = ""
    retry_of: str = ""
    targets: tuple[str, ...] = ()
    hold: LifecycleHold | None = None
    message: SlackMessage | None = None

    def attributes(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "group": self.group,
            "action": self.action,
            "prefix": self.prefix,
            "requester": self.requester,
            "comment": self.comment,
            "origin": self.origin,
            "requestedAt": self.requested_at,
            "expiresAt": self.expires_at,
            "claimKey": self.claim_key,
            "ttl": int((parse_iso(self.requested_at) + RETENTION).timestamp()),
        }
        if self.retry_of:
            values["retryOf"] = self.retry_of
            values["targets"] = list(self.targets[:MAX_TARGETS])
        if self.hold is not None:
            values["lifecycle"] = self.hold.attribute()
        if self.message is not None:
            values["slackMessage"] = asdict(self.message)
        return values

    @classmethod
    def from_item(cls, clear_id: str, item: Mapping[str, Any]) -> Clear:
        hold = item.get("lifecycle")
        message = item.get("slackMessage")
        return cls(
            clear_id=clear_id,
            group=str(item.get("group", "")),
            action=str(item.get("action", "")),
            prefix=str(item.get("prefix", "")),
            requester=str(item.get("requester", "")),
            comment=str(item.get("comment", "")),
            origin=str(item.get("origin", "")),
            requested_at=str(item.get("requestedAt", "")),
            expires_at=str(item.get("expiresAt", "")),
            claim_key=str(item.get("claimKey", "")),
            retry_of=str(item.get("retryOf", "")),
            targets=tuple(str(i) for i in item.get("targets", [])),
            hold=LifecycleHold.from_attribute(hold) if isinstance(hold, dict) else None,
            message=SlackMessage(**message) if isinstance(message, dict) else None,
        )


@dataclass(frozen=True)
class Stored:
    """A clear as the table holds it: what the dispatcher recorded (None for a command sent
    outside it, or one it died before recording), and what the clear and the relay added."""

    clear_id: str
    clear: Clear | None
    state: str = ""
    notified: str = ""
    callback_id: str = ""
    commands: tuple[str, ...] = ()
    verdict: dict[str, Any] = field(default_factory=dict)
    judgement: dict[str, Any] = field(default_factory=dict)
    failure: str = ""
    message: SlackMessage | None = None

    @classmethod
    def from_item(cls, clear_id: str, item: Mapping[str, Any]) -> Stored:
        return cls(
            clear_id=clear_id,
            # The dispatcher writes requestedAt with the rest; the relay never does.
            clear=Clear.from_item(clear_id, item) if item.get("requestedAt") else None,
            state=str(item.get("state", "")),
            notified=str(item.get("notified", "")),
            callback_id=str(item.get("callbackId", "")),
            commands=tuple(str(c) for c in item.get("commands", [])),
            verdict=dict(item.get("verdict") or {}),
            judgement=dict(item.get("judgement") or {}),
            failure=str(item.get("failure", "")),
            message=Clear.from_item(clear_id, item).message,
        )


def create(db: DynamoDBClient, table: str, clear: Clear) -> None:
    """Write what the dispatcher knows, leaving alone what the relay may have written first.
    Written again (its first answer lost), it leaves the state the clear may have reached."""
    _set(db, table, clear.clear_id, clear.attributes(), defaults={"state": RUNNING})


def read(db: DynamoDBClient, table: str, clear_id: str) -> Stored | None:
    item = db.get_item(TableName=table, Key=_key(clear_id), ConsistentRead=True).get("Item")
    return Stored.from_item(clear_id, _plain(item)) if item else None


def record_callback(
    db: DynamoDBClient, table: str, clear_id: str, callback_id: str, now: dt.datetime
) -> str:
    """The clear waits on `callback_id`; returns the final status SSM's notification already
    brought ("" when none came yet, and the relay will complete the callback)."""
    item = _set(db, table, clear_id, {"callbackId": callback_id}, defaults=_expiry(now))
    return str(item.get("notified", ""))


def note_notification(
    db: DynamoDBClient, table: str, command_id: str, status: str, now: dt.datetime
) -> str:
    """The relay's half: SSM says the command ended with `status`; returns the callback the
    clear waits on ("" when the clear has not recorded one yet, and will see this status)."""
    item = _set(db, table, command_id, {"notified": status}, defaults=_expiry(now))
    return str(item.get("callbackId", ""))


def record_message(db: DynamoDBClient, table: str, clear_id: str, message: SlackMessage) -> None:
    _set(db, table, clear_id, {"slackMessage": asdict(message)})


def record_commands(db: DynamoDBClient, table: str, clear_id: str, commands: Sequence[str]) -> None:
    """A round's commands after the earlier rounds'; a step run again records its round once."""
    values = {":none": [], ":new": list(commands), ":first": commands[0]}
    try:
        db.update_item(
            TableName=table,
            Key=_key(clear_id),
            UpdateExpression="SET #c = list_append(if_not_exists(#c, :none), :new)",
            ConditionExpression="attribute_not_exists(#c) OR NOT contains(#c, :first)",
            ExpressionAttributeNames={"#c": "commands"},
            ExpressionAttributeValues=_values(values),
        )
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise


def record_verdict(
    db: DynamoDBClient,
    table: str,
    clear_id: str,
    verdict: Mapping[str, Any],
    judgement: Mapping[str, Any],
) -> None:
    """`verdict`: what the status route answers; `judgement`: what a retry on demand starts from."""
    values = {"state": JUDGED, "verdict": dict(verdict), "judgement": dict(judgement)}
    _set(db, table, clear_id, values)


def record_failure(db: DynamoDBClient, table: str, clear_id: str, failure: str) -> None:
    """The clear's execution failed before its verdict: callers waiting on it stop waiting."""
    _set(db, table, clear_id, {"state": FAILED, "failure": failure[:500]})


def _expiry(now: dt.datetime) -> dict[str, int]:
    # The relay's and the clear's halves can come before the dispatcher's record.
    return {"ttl": int((now + RETENTION).timestamp())}


def _set(
    db: DynamoDBClient,
    table: str,
    key: str,
    values: Mapping[str, Any],
    defaults: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """SET `values`, and `defaults` where the item has none yet; return the whole item."""
    pairs = [*values.items(), *(defaults or {}).items()]
    names = {f"#a{i}": name for i, (name, _) in enumerate(pairs)}
    bound = {f":v{i}": value for i, (_, value) in enumerate(pairs)}
    sets = [
        f"#a{i} = :v{i}" if i < len(values) else f"#a{i} = if_not_exists(#a{i}, :v{i})"
        for i in range(len(pairs))
    ]
    answer = db.update_item(
        TableName=table,
        Key=_key(key),
        UpdateExpression="SET " + ", ".join(sets),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=_values(bound),
        ReturnValues="ALL_NEW",
    )
    return _plain(answer.get("Attributes", {}))


def _key(key: str) -> Any:
    return {KEY: _serializer.serialize(key)}


def _values(values: Mapping[str, Any]) -> Any:
    return {name: _serializer.serialize(value) for name, value in values.items()}


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item as plain Python: DynamoDB's numbers come back as Decimal, made int here."""
    return {name: _ints(_deserializer.deserialize(value)) for name, value in item.items()}


def _ints(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _ints(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [_ints(v) for v in value]
    if isinstance(value, Decimal):
        return int(value)
    return value
