"""The notifier's entry point, a durable function: a clear's start, or SSM's notifications, which
the relay hands to the clear that waits for each (docs/design.md, "The relay"). Another event fails
(to the dead-letter queue); an unreadable SNS record is posted as an alert: no retry would help."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import Any

from aws_durable_execution_sdk_python import DurableContext, durable_execution
from botocore.exceptions import ClientError

from apcu_clear import record
from apcu_clear.aws import error_code
from apcu_clear.command import FINAL_STATUSES
from apcu_clear.observability import count, logger, metrics, trace_handler
from apcu_notifier.config import Config, Runtime
from apcu_notifier.durable import step

# The callback was completed already, or timed out: its clear has gone on (botocore's Lambda
# model: "has either expired or ... has already been closed").
CLOSED = "CallbackTimeoutException"
# The name was used with another payload; the one payload every starter sends makes this a
# clear started by someone else, not a conflict.
STARTED = "DurableExecutionAlreadyStartedException"
# CommandStatus and the invocation-only Delayed (docs/facts.md, botocore ssm model).
STATUSES = frozenset({*FINAL_STATUSES, "Pending", "InProgress", "Delayed", "Cancelling"})
# CommandId is a UUID (the ssm model: 36 characters); anything else would fail ListCommands.
_COMMAND_ID = re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")
EXCERPT_CHARS = 500


class InvalidEvent(ValueError):
    """The event is neither SSM's notifications nor the start of a clear."""


# Why a record could not be read; the value is the English text used in logs.
class UnreadableReason(StrEnum):
    NO_ENVELOPE = "the record has no SNS envelope"
    NO_MESSAGE = "the SNS record has no Message text"
    NOT_JSON = "the Message is not JSON"
    NOT_OBJECT = "the Message is not a JSON object"
    NO_COMMAND_ID = "the Message has no commandId"
    BAD_COMMAND_ID = "the commandId is not a Run Command id"
    UNKNOWN_STATUS = "the Message has an unknown status"


@dataclass(frozen=True)
class CommandNotification:
    command_id: str
    status: str
    # Type Invocation (docs/facts.md): one instance's status, of no use to the verdict.
    invocation: bool = False

    @property
    def is_final(self) -> bool:
        return not self.invocation and self.status in FINAL_STATUSES


@dataclass(frozen=True)
class UnreadableNotification:
    reason: UnreadableReason
    excerpt: str


Notice = CommandNotification | UnreadableNotification
_runtime = Runtime(Config.from_env())


def use_runtime(runtime: Runtime) -> None:
    """Replace the container's runtime: a test's own configuration, or a fresh read of it."""
    global _runtime
    _runtime = runtime


@logger.inject_lambda_context(clear_state=True)
@trace_handler
@metrics.log_metrics
@durable_execution
def lambda_handler(event: Any, context: DurableContext) -> dict[str, Any]:
    context.set_logger(logger)
    if isinstance(event, dict) and set(event) == {"commandId"}:
        clear_id = parse_clear_start(event)
        logger.set_correlation_id(clear_id)
        # Imported at a clear's start: the relay needs none of the clear's machinery (make bench).
        from apcu_notifier import clear

        return clear.run(context, _runtime, clear_id)
    if isinstance(event, dict) and "Records" in event:
        lambda_context = context.lambda_context
        function_arn = str(lambda_context.invoked_function_arn if lambda_context else "")
        return relay(context, _runtime, event, function_arn)
    raise InvalidEvent(
        "the notifier takes SSM's notifications (SNS) or a clear's start, {\"commandId\": ...}"
    )


def relay(
    ctx: DurableContext, rt: Runtime, event: dict[str, Any], function_arn: str
) -> dict[str, Any]:
    outcomes: list[dict[str, Any]] = []
    for index, notice in enumerate(parse_notifications(event), start=1):
        if isinstance(notice, UnreadableNotification):
            # Imported for this alert alone: posting brings render, messages and slack_sdk.
            from apcu_notifier import posting
            from apcu_notifier.verdict import Verdict, VerdictKind

            reason = {"reason": notice.reason}
            logger.error("unreadable notification; posting an alert", extra=reason)
            alert = Verdict(VerdictKind.UNREADABLE, reason=notice.reason, excerpt=notice.excerpt)
            posting.alert(ctx, rt, f"post the unreadable notification ({index})", alert, None)
            outcomes.append({"verdict": alert.kind.value})
            continue
        command_id, status = notice.command_id, notice.status
        if not notice.is_final:
            outcomes.append({"commandId": command_id, "skipped": status})
            continue
        hand = partial(_hand, rt, command_id, status, function_arn)
        step(ctx, f"hand {command_id} {status} to its clear", hand, type(None))
        outcomes.append({"commandId": command_id, "relayed": status})
    return {"records": len(outcomes), "outcomes": outcomes}


def _hand(rt: Runtime, command_id: str, status: str, function_arn: str) -> None:
    try:
        # This function's alias, as invoked: the clear is an execution of it, named by its id.
        start = json.dumps({"commandId": command_id}).encode()
        rt.lambda_.invoke(
            FunctionName=function_arn,
            InvocationType="Event",
            DurableExecutionName=command_id,
            Payload=start,
        )
    except ClientError as error:
        if error_code(error) != STARTED:
            raise
    callback_id = record.note_notification(rt.dynamodb, rt.table, command_id, status, rt.now())
    if not callback_id:
        return
    try:
        result = json.dumps({"status": status}).encode()
        rt.lambda_.send_durable_execution_callback_success(CallbackId=callback_id, Result=result)
    except ClientError as error:
        if error_code(error) != CLOSED:
            raise
        count("CallbackAlreadyClosed")


def parse_clear_start(event: dict[str, Any]) -> str:
    clear_id = event.get("commandId")
    if not isinstance(clear_id, str) or not _COMMAND_ID.fullmatch(clear_id):
        raise InvalidEvent(
            f"a clear's start names its id as commandId, a UUID; got {_excerpt(clear_id)!r}"
        )
    return clear_id


def parse_notifications(event: dict[str, Any]) -> list[Notice]:
    """Every record of an SNS event, in order, typed or marked unreadable. Plain dicts: Powertools'
    SNSEvent loads every event class of its package (about 12 ms of each cold start, make bench)."""
    records = event.get("Records")
    if not isinstance(records, list) or not records:
        raise InvalidEvent("the event has no Records: it is not an SNS notification")
    return [_parse_record(record) for record in records]


def _parse_record(record: object) -> Notice:
    if not isinstance(record, dict) or not isinstance(record.get("Sns"), dict):
        return UnreadableNotification(UnreadableReason.NO_ENVELOPE, _excerpt(record))
    raw = record["Sns"].get("Message")
    if not isinstance(raw, str):
        return UnreadableNotification(UnreadableReason.NO_MESSAGE, _excerpt(record["Sns"]))
    try:
        message: Any = json.loads(raw)
    except (ValueError, RecursionError):
        return UnreadableNotification(UnreadableReason.NOT_JSON, _excerpt(raw))
    if not isinstance(message, dict):
        return UnreadableNotification(UnreadableReason.NOT_OBJECT, _excerpt(raw))
    command_id, status = message.get("commandId"), message.get("status")
    if not isinstance(command_id, str) or not command_id:
        reason = UnreadableReason.NO_COMMAND_ID
    elif not _COMMAND_ID.fullmatch(command_id):
        reason = UnreadableReason.BAD_COMMAND_ID
    elif "instanceId" in message:
        status = status if isinstance(status, str) else ""
        return CommandNotification(command_id, status, invocation=True)
    elif isinstance(status, str) and status in STATUSES:
        return CommandNotification(command_id, status)
    else:
        reason = UnreadableReason.UNKNOWN_STATUS
    return UnreadableNotification(reason, _excerpt(raw))


def _excerpt(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=repr)
    return text[:EXCERPT_CHARS]
