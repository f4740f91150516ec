"""The clear's record: one item per clear in the commands table, keyed by the clear's id (its first
command's id, or the id given a retry asked on demand); its attributes are named below."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from apcu_clear.aws import error_code

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
# The fields kept as text, and the attributes that hold them: a Clear's, a Stored's, a hold's.
_TEXT = {f: f for f in ("group", "action", "prefix", "requester", "comment", "origin")}
_TEXT |= {"requested_at": "requestedAt", "expires_at": "expiresAt", "claim_key": "claimKey"}
_STORED = {f: f for f in ("state", "notified", "failure")} | {"callback_id": "callbackId"}
_HOLD = {"hook_name": "hookName", "token": "token", "instance_id": "instanceId"}

# An item, or the values written to one.
Item = Mapping[str, Any]
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def iso(moment: dt.datetime) -> str:
    # "2026-11-29T05:22:03Z": UTC, to the second.
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class LifecycleHold:
    # A launch lifecycle action that keeps an instance in Pending:Wait until its clear ends.
    hook_name: str
    token: str
    instance_id: str


@dataclass(frozen=True)
class SlackMessage:
    # App mode: the message a clear lives in; `ts` is Slack's id of it within its channel.
    channel: str
    ts: str


@dataclass(frozen=True)
class Clear:
    """What the dispatcher records when it starts a clear."""

    clear_id: str
    group: str
    action: str
    prefix: str  # "" clears the whole cache
    requester: str
    comment: str
    origin: str  # api | console | slack | warm-pool | retry
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
        values: dict[str, Any] = {name: getattr(self, f) for f, name in _TEXT.items()}
        values["ttl"] = int((parse_iso(self.requested_at) + RETENTION).timestamp())
        if self.retry_of:
            values["retryOf"] = self.retry_of
            values["targets"] = list(self.targets[:MAX_TARGETS])
        if self.hold is not None:
            values["lifecycle"] = {name: getattr(self.hold, f) for f, name in _HOLD.items()}
        if self.message is not None:
            values["slackMessage"] = asdict(self.message)
        return values

    @classmethod
    def from_item(cls, clear_id: str, item: Item) -> Clear:
        hold, message = item.get("lifecycle"), item.get("slackMessage")
        return cls(
            clear_id,
            **{f: str(item.get(name, "")) for f, name in _TEXT.items()},
            retry_of=str(item.get("retryOf", "")),
            targets=tuple(item.get("targets", ())),
            hold=LifecycleHold(**{f: hold[name] for f, name in _HOLD.items()}) if hold else None,
            message=SlackMessage(**message) if message else None,
        )


@dataclass(frozen=True)
class Stored:
    """A clear as the table holds it: the dispatcher's record (or None), the clear's and relay's."""

    clear_id: str
    clear: Clear | None
    state: str  # running | judged | failed
    notified: str  # SSM's final status, noted by the relay
    callback_id: str  # the callback the clear waits on
    commands: tuple[str, ...]  # its rounds', in order
    verdict: dict[str, Any]
    judgement: dict[str, Any]
    failure: str
    message: SlackMessage | None

    @classmethod
    def from_item(cls, clear_id: str, item: Item) -> Stored:
        clear = Clear.from_item(clear_id, item)
        return cls(
            clear_id=clear_id,
            # The dispatcher writes requestedAt with the rest; the relay never does.
            clear=clear if item.get("requestedAt") else None,
            **{f: str(item.get(name, "")) for f, name in _STORED.items()},
            commands=tuple(item.get("commands", ())),
            verdict=dict(item.get("verdict") or {}),
            judgement=dict(item.get("judgement") or {}),
            message=clear.message,
        )


def create(db: DynamoDBClient, table: str, clear: Clear) -> None:
    """Write what the dispatcher knows, leaving what the relay and the clear wrote (its state)."""
    update(db, table, clear.clear_id, clear.attributes(), defaults={"state": RUNNING})


def read(db: DynamoDBClient, table: str, clear_id: str) -> Stored | None:
    item = read_item(db, table, clear_id)
    return Stored.from_item(clear_id, item) if item else None


# The clear and the relay meet on `callbackId` and `notified` (docs/design.md, The relay).
def record_callback(
    db: DynamoDBClient, table: str, clear_id: str, callback_id: str, now: dt.datetime
) -> str:
    """The clear waits on `callback_id`; the final status a notification already brought, or ""."""
    item = update(db, table, clear_id, {"callbackId": callback_id}, defaults=_expiry(now))
    return str(item.get("notified", ""))


def note_notification(
    db: DynamoDBClient, table: str, command_id: str, status: str, now: dt.datetime
) -> str:
    """The relay's half: the command ended with `status`; the callback the clear waits on, or ""."""
    item = update(db, table, command_id, {"notified": status}, defaults=_expiry(now))
    return str(item.get("callbackId", ""))


def record_message(db: DynamoDBClient, table: str, clear_id: str, message: SlackMessage) -> None:
    update(db, table, clear_id, {"slackMessage": asdict(message)})


def record_commands(db: DynamoDBClient, table: str, clear_id: str, commands: Sequence[str]) -> None:
    """A round's commands after the earlier rounds'; a step run again records them once."""
    values = {":none": [], ":new": list(commands), ":first": commands[0]}
    try:
        db.update_item(
            TableName=table,
            Key=item_key(clear_id),
            UpdateExpression="SET #c = list_append(if_not_exists(#c, :none), :new)",
            ConditionExpression="attribute_not_exists(#c) OR NOT contains(#c, :first)",
            ExpressionAttributeNames={"#c": "commands"},
            ExpressionAttributeValues=serialized(values),
        )
    except ClientError as error:
        if error_code(error) != "ConditionalCheckFailedException":
            raise


def record_verdict(
    db: DynamoDBClient, table: str, clear_id: str, verdict: Item, judgement: Item
) -> None:
    """`verdict`: what the status route answers; `judgement`: what a retry on demand starts from."""
    values = {"state": JUDGED, "verdict": dict(verdict), "judgement": dict(judgement)}
    update(db, table, clear_id, values)


def record_failure(db: DynamoDBClient, table: str, clear_id: str, failure: str) -> None:
    """The clear's execution failed before its verdict: callers waiting on it stop waiting."""
    update(db, table, clear_id, {"state": FAILED, "failure": failure[:500]})


def _expiry(now: dt.datetime) -> dict[str, int]:
    # The relay's and the clear's halves can come before the dispatcher's record.
    return {"ttl": int((now + RETENTION).timestamp())}


# The table's items (records, claims, launch markers) through boto3's TypeSerializer.
def update(
    db: DynamoDBClient, table: str, key: str, values: Item, defaults: Item | None = None
) -> dict[str, Any]:
    """SET `values`, and `defaults` where the item has none yet; return the whole item."""
    pairs = [*values.items(), *(defaults or {}).items()]
    sets = [
        f"#a{i} = :v{i}" if i < len(values) else f"#a{i} = if_not_exists(#a{i}, :v{i})"
        for i in range(len(pairs))
    ]
    answer = db.update_item(
        TableName=table,
        Key=item_key(key),
        UpdateExpression="SET " + ", ".join(sets),
        ExpressionAttributeNames={f"#a{i}": name for i, (name, _) in enumerate(pairs)},
        ExpressionAttributeValues=serialized({f":v{i}": v for i, (_, v) in enumerate(pairs)}),
        ReturnValues="ALL_NEW",
    )
    return plain(answer.get("Attributes", {}))


def read_item(db: DynamoDBClient, table: str, key: str) -> dict[str, Any]:
    item = db.get_item(TableName=table, Key=item_key(key), ConsistentRead=True).get("Item", {})
    return plain(item)


def item_key(key: str) -> Any:
    return {KEY: _serializer.serialize(key)}


def serialized(values: Item) -> Any:
    return {name: _serializer.serialize(value) for name, value in values.items()}


def plain(item: Item) -> dict[str, Any]:
    # DynamoDB's numbers come back as Decimal, made int here.
    values = {name: _deserializer.deserialize(value) for name, value in item.items()}
    return dict(json.loads(json.dumps(values, default=int)))
