"""A clear converges: the first command plus the retries the notifier sends on its own to the
InService instances an attempt left stale, up to RETRY_MISSED rounds, judged and posted once.

What to retry, how to build the resend and how the clear's progress is kept on its first
command's item live here, so that both functions read one definition:

    clearState (S: retrying | judged)   clearRound (N): the round being sent or run
    clearRoundToken (S): the invocation that started the round (a retried start is its own)
    clearPending (SS): the round's commands not judged yet; absent once all are
    clearAttempts (L of M): per judged attempt, commandId, round and the outcomes of the
        instances it left stale (instance id -> what SSM said), at most MAX_ATTEMPT_OUTCOMES
    clearOffline (L of S): stale instances not retried because their SSM agent was not Online
    clearAlarmSince (S): when an automatic retry began to wait for the stop alarm
    clearVerdict (M, once judged): the clear's verdict (apcu_clear.item.RecordedVerdict)

Every step is one conditional write, so a notification SNS delivers twice (or a Lambda retry
of an invocation that died) never starts a round twice nor judges the clear twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from apcu_clear.item import RecordedVerdict, iso, parse_iso

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_ssm.type_defs import SendCommandRequestTypeDef

_CONDITION_FAILED = "ConditionalCheckFailedException"
RETRYING = "retrying"
JUDGED = "judged"
# SendCommand's InstanceIds and DescribeInstanceInformation's InstanceIds filter both take at
# most 50 ids (botocore SSM model).
MAX_IDS_PER_CALL = 50
# The outcomes kept per attempt: an instance id and SSM's words are some 45 bytes, so four
# attempts of 1,000 stay near 180 KB, under DynamoDB's 400 KB item.
MAX_ATTEMPT_OUTCOMES = 1000
MAX_ROUNDS = 3
# What an attempt said of an instance it never reached (missing from its invocations).
NOT_REACHED = "not reached"
# What is worth another attempt: the agent never picked it up, or the run failed or timed out.
# "Access Denied" or a Success whose OPcache reset is unconfirmed would say the same again.
RETRYABLE_OUTCOMES = frozenset(
    {
        "Failed",
        "TimedOut",
        "Timed Out",
        "Cancelled",
        "Delivery Timed Out",
        "DeliveryTimedOut",
        "Execution Timed Out",
        "ExecutionTimedOut",
        "Undeliverable",
        NOT_REACHED,
    }
)
ONLINE = "Online"


@dataclass(frozen=True)
class Attempt:
    command_id: str
    round: int
    # The instances it left stale, each with what SSM said of it.
    outcomes: Mapping[str, str]
    # For a retry: the instances it was sent to (those not in `outcomes` cleared).
    sent: tuple[str, ...] = ()

    def to_attribute(self) -> Any:
        kept = dict(sorted(self.outcomes.items())[:MAX_ATTEMPT_OUTCOMES])
        return {
            "M": {
                "commandId": {"S": self.command_id},
                "round": {"N": str(self.round)},
                "outcomes": {"M": {i: {"S": o} for i, o in kept.items()}},
                "sent": {"L": [{"S": i} for i in self.sent[:MAX_ATTEMPT_OUTCOMES]]},
            }
        }

    @classmethod
    def from_attribute(cls, value: Mapping[str, Any]) -> Attempt:
        fields = value["M"]
        return cls(
            command_id=fields["commandId"]["S"],
            round=int(fields["round"]["N"]),
            outcomes={i: o["S"] for i, o in fields.get("outcomes", {}).get("M", {}).items()},
            sent=tuple(v["S"] for v in fields.get("sent", {}).get("L", [])),
        )


@dataclass(frozen=True)
class ClearProgress:
    """The clear as its first command's item keeps it."""

    state: str = ""
    round: int = 0
    pending: frozenset[str] = frozenset()
    attempts: tuple[Attempt, ...] = ()
    offline: tuple[str, ...] = ()
    verdict: RecordedVerdict | None = None

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> ClearProgress:
        verdict = item.get("clearVerdict")
        return cls(
            state=item.get("clearState", {}).get("S", ""),
            round=int(item.get("clearRound", {}).get("N", "0")),
            pending=frozenset(item.get("clearPending", {}).get("SS", [])),
            attempts=tuple(
                Attempt.from_attribute(a) for a in item.get("clearAttempts", {}).get("L", [])
            ),
            offline=tuple(v["S"] for v in item.get("clearOffline", {}).get("L", [])),
            verdict=RecordedVerdict.from_attribute(verdict) if verdict else None,
        )

    @property
    def retrying(self) -> bool:
        return self.state == RETRYING


def retryable(outcomes: Mapping[str, str]) -> tuple[str, ...]:
    """The stale instances another attempt may clear, sorted."""
    return tuple(sorted(i for i, outcome in outcomes.items() if outcome in RETRYABLE_OUTCOMES))


def agents_online(ssm: SSMClient, instance_ids: Sequence[str]) -> frozenset[str]:
    """The instances whose SSM agent pings Online now (DescribeInstanceInformation, 50 ids per
    call); an instance without a registered agent is not among them."""
    online: set[str] = set()
    for start in range(0, len(instance_ids), MAX_IDS_PER_CALL):
        batch = list(instance_ids[start : start + MAX_IDS_PER_CALL])
        pages = ssm.get_paginator("describe_instance_information").paginate(
            Filters=[{"Key": "InstanceIds", "Values": batch}]
        )
        for page in pages:
            online.update(
                row["InstanceId"]
                for row in page.get("InstanceInformationList", [])
                if row.get("PingStatus") == ONLINE and "InstanceId" in row
            )
    return frozenset(online)


def resend(live: Mapping[str, Any], instance_ids: Sequence[str]) -> list[SendCommandRequestTypeDef]:
    """The same command again (document, parameters, timeout, concurrency, errors, notification,
    role and stop alarm, as ListCommands lists the live one), to these instances, 50 a command."""
    base: dict[str, Any] = {
        "DocumentName": live["DocumentName"],
        "Parameters": dict(live.get("Parameters", {})),
        "Comment": str(live.get("Comment", ""))[:100],
    }
    for member in ("TimeoutSeconds", "MaxConcurrency", "MaxErrors"):
        if live.get(member):
            base[member] = live[member]
    notification = live.get("NotificationConfig") or {}
    if notification.get("NotificationArn"):
        base["NotificationConfig"] = dict(notification)
    if live.get("ServiceRole"):
        base["ServiceRoleArn"] = live["ServiceRole"]
    alarm = live.get("AlarmConfiguration") or {}
    if alarm.get("Alarms"):
        base["AlarmConfiguration"] = {
            "Alarms": [{"Name": a["Name"]} for a in alarm["Alarms"]],
            "IgnorePollAlarmFailure": bool(alarm.get("IgnorePollAlarmFailure", False)),
        }
    ids = list(instance_ids)
    commands: list[SendCommandRequestTypeDef] = []
    for start in range(0, len(ids), MAX_IDS_PER_CALL):
        params: Any = {**base, "InstanceIds": ids[start : start + MAX_IDS_PER_CALL]}
        commands.append(params)
    return commands


def read(client: DynamoDBClient, table: str, first_id: str) -> ClearProgress:
    answer = client.get_item(TableName=table, Key=_key(first_id), ConsistentRead=True)
    return ClearProgress.from_item(answer.get("Item", {}))


def start_round(
    client: DynamoDBClient,
    table: str,
    first_id: str,
    number: int,
    token: str,
    attempt: Attempt | None,
) -> bool:
    """Take round `number` of the clear (the first command's own attempt recorded with round
    1); False when it was taken already (SNS twice: the other delivery sends it)."""
    attempts = [attempt.to_attribute()] if attempt is not None else []
    try:
        client.update_item(
            TableName=table,
            Key=_key(first_id),
            UpdateExpression=(
                "SET #state = :retrying, #round = :n, #token = :token, "
                "#attempts = list_append(if_not_exists(#attempts, :none), :attempts)"
            ),
            ConditionExpression=(
                "attribute_exists(#id) AND (attribute_not_exists(#round) OR #round < :n) "
                "AND (attribute_not_exists(#state) OR #state = :retrying)"
            ),
            ExpressionAttributeNames={
                "#id": "commandId",
                "#state": "clearState",
                "#round": "clearRound",
                "#token": "clearRoundToken",
                "#attempts": "clearAttempts",
            },
            ExpressionAttributeValues={
                ":retrying": {"S": RETRYING},
                ":n": {"N": str(number)},
                ":token": {"S": token},
                ":none": {"L": []},
                ":attempts": {"L": attempts},
            },
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        if _code(error) != _CONDITION_FAILED:
            raise
        old = _item_of(error)
        # botocore retried a start that had landed: the round is ours.
        mine = old.get("clearRoundToken", {}).get("S") == token
        return bool(mine and old.get("clearRound", {}).get("N") == str(number))
    return True


def undo_round(client: DynamoDBClient, table: str, first_id: str, number: int, token: str) -> None:
    """Nothing of round `number` was sent: give it back, so that Lambda's retry starts it."""
    try:
        client.update_item(
            TableName=table,
            Key=_key(first_id),
            UpdateExpression=(
                "SET #round = :previous REMOVE #token, #attempts[" + str(0) + "]"
                if number == 1
                else "SET #round = :previous REMOVE #token"
            ),
            ConditionExpression="#token = :token",
            ExpressionAttributeNames={
                "#round": "clearRound",
                "#token": "clearRoundToken",
                **({"#attempts": "clearAttempts"} if number == 1 else {}),
            },
            ExpressionAttributeValues={
                ":previous": {"N": str(number - 1)},
                ":token": {"S": token},
            },
        )
    except ClientError as error:
        if _code(error) != _CONDITION_FAILED:
            raise


def round_sent(
    client: DynamoDBClient,
    table: str,
    first_id: str,
    commands: Sequence[str],
    offline: Iterable[str],
) -> None:
    """The round's commands went out: the clear waits for each, and lists them as retries."""
    client.update_item(
        TableName=table,
        Key=_key(first_id),
        UpdateExpression=(
            "SET #retries = list_append(if_not_exists(#retries, :none), :ids), "
            "#offline = list_append(if_not_exists(#offline, :none), :offline) "
            "ADD #pending :pending"
        ),
        ExpressionAttributeNames={
            "#retries": "retries",
            "#pending": "clearPending",
            "#offline": "clearOffline",
        },
        ExpressionAttributeValues={
            ":none": {"L": []},
            ":ids": {"L": [{"S": i} for i in commands]},
            ":offline": {"L": [{"S": i} for i in offline]},
            ":pending": {"SS": list(commands)},
        },
    )


def attempt_done(client: DynamoDBClient, table: str, first_id: str, attempt: Attempt) -> bool:
    """Record a retry's outcome; True when it was the round's last command to end (the caller
    then goes on: another round, or the clear's verdict)."""
    names = {"#pending": "clearPending", "#attempts": "clearAttempts", "#state": "clearState"}
    try:
        answer = client.update_item(
            TableName=table,
            Key=_key(first_id),
            UpdateExpression=(
                "SET #attempts = list_append(if_not_exists(#attempts, :none), :attempt) "
                "DELETE #pending :me"
            ),
            ConditionExpression="#state = :retrying AND contains(#pending, :id)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={
                ":none": {"L": []},
                ":attempt": {"L": [attempt.to_attribute()]},
                ":me": {"SS": [attempt.command_id]},
                ":id": {"S": attempt.command_id},
                ":retrying": {"S": RETRYING},
            },
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        if _code(error) != _CONDITION_FAILED:
            raise
        old = ClearProgress.from_item(_item_of(error))
        # Recorded before (a retried invocation): go on if it was the last and nobody judged.
        recorded = any(a.command_id == attempt.command_id for a in old.attempts)
        return old.retrying and recorded and not old.pending
    return not answer.get("Attributes", {}).get("clearPending", {}).get("SS")


def judge_clear(
    client: DynamoDBClient, table: str, first_id: str, verdict: RecordedVerdict
) -> bool:
    """Keep the clear's verdict on its first command; False when it was kept already."""
    try:
        client.update_item(
            TableName=table,
            Key=_key(first_id),
            UpdateExpression="SET #state = :judged, #verdict = :verdict",
            ConditionExpression="attribute_exists(#id) AND NOT #state = :judged",
            ExpressionAttributeNames={
                "#id": "commandId",
                "#state": "clearState",
                "#verdict": "clearVerdict",
            },
            ExpressionAttributeValues={
                ":judged": {"S": JUDGED},
                ":verdict": verdict.to_attribute(),
            },
        )
    except ClientError as error:
        if _code(error) == _CONDITION_FAILED:
            return False
        raise
    return True


def _key(command_id: str) -> dict[str, Any]:
    return {"commandId": {"S": command_id}}


def waiting_since(
    client: DynamoDBClient, table: str, first_id: str, now: dt.datetime
) -> dt.datetime:
    """When the clear began to wait for the stop alarm (now, the first time it is asked)."""
    answer = client.update_item(
        TableName=table,
        Key=_key(first_id),
        UpdateExpression="SET #since = if_not_exists(#since, :now)",
        ExpressionAttributeNames={"#since": "clearAlarmSince"},
        ExpressionAttributeValues={":now": {"S": iso(now)}},
        ReturnValues="ALL_NEW",
    )
    return parse_iso(answer.get("Attributes", {}).get("clearAlarmSince", {}).get("S", iso(now)))


def _item_of(error: ClientError) -> dict[str, Any]:
    item = error.response.get("Item")
    return item if isinstance(item, dict) else {}


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
