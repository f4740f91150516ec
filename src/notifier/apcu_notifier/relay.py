"""The relay (docs/design.md, "The relay"): SSM's notification of a command's final status,
brought by SNS, handed to the clear that waits for it, started by name if it is not running."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from aws_durable_execution_sdk_python import DurableContext
from botocore.exceptions import ClientError

from apcu_clear import record
from apcu_clear.aws import error_code
from apcu_clear.observability import count, logger
from apcu_notifier.durable import step
from apcu_notifier.notification import UnreadableNotification, clear_start, parse_notifications
from apcu_notifier.runtime import Runtime

# The callback was completed already, or timed out: its clear has gone on (botocore's Lambda
# model: "has either expired or ... has already been closed").
CLOSED = "CallbackTimeoutException"
# The name was used with another payload; the one payload every starter sends makes this a
# clear started by someone else, not a conflict.
STARTED = "DurableExecutionAlreadyStartedException"


def relay(
    ctx: DurableContext, rt: Runtime, event: dict[str, Any], function_arn: str
) -> dict[str, Any]:
    outcomes: list[dict[str, Any]] = []
    for index, notification in enumerate(parse_notifications(event), start=1):
        if isinstance(notification, UnreadableNotification):
            # Imported for this alert alone: the relay's cold start stays without Slack's code.
            from apcu_notifier import posting
            from apcu_notifier.verdict import unreadable

            reason = notification.reason
            logger.error("unreadable notification; posting an alert", extra={"reason": reason})
            alert = unreadable(reason, notification.excerpt)
            posting.alone(ctx, rt, alert, f"post the unreadable notification ({index})")
            outcomes.append({"verdict": alert.kind.value})
            continue
        command_id, status = notification.command_id, notification.status
        if not notification.is_final:
            outcomes.append({"commandId": command_id, "skipped": status})
            continue
        hand = partial(_hand, rt, command_id, status, function_arn)
        step(ctx, f"hand {command_id} {status} to its clear", hand, type(None))
        outcomes.append({"commandId": command_id, "relayed": status})
    return {"records": len(outcomes), "outcomes": outcomes}


def _hand(rt: Runtime, command_id: str, status: str, function_arn: str) -> None:
    try:
        # This function's alias, as invoked: the clear is an execution of it, named by its id.
        rt.lambda_.invoke(
            FunctionName=function_arn,
            InvocationType="Event",
            DurableExecutionName=command_id,
            Payload=json.dumps(clear_start(command_id)).encode(),
        )
    except ClientError as error:
        if error_code(error) != STARTED:
            raise
    # A clear that has not recorded its callback yet reads the noted status when it does.
    callback_id = record.note_notification(rt.dynamodb, rt.table, command_id, status, rt.now())
    if not callback_id:
        return
    try:
        rt.lambda_.send_durable_execution_callback_success(
            CallbackId=callback_id, Result=json.dumps({"status": status}).encode()
        )
    except ClientError as error:
        if error_code(error) != CLOSED:
            raise
        count("CallbackAlreadyClosed")
