"""The relay: SSM's notification of a command's final status, brought by SNS, handed to the clear
that waits for it.

For each record: start the clear by its name (the command's id) with the one payload every
starter sends, so that a clear already running, or finished, is not started again; note the
status on the clear's record; complete the callback the clear recorded there, if it has
recorded one yet (if not, it reads the noted status when it does). A callback already closed
means its clear has gone on: nothing to do. Non-final statuses and per-instance notifications do
nothing (the subscription's filter keeps most of them away). A record that cannot be read is
posted as an alert, never dropped in silence.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from aws_durable_execution_sdk_python import DurableContext
from botocore.exceptions import ClientError

from apcu_clear import record
from apcu_clear.aws import error_code
from apcu_clear.observability import count, logger
from apcu_notifier import posting
from apcu_notifier.durable import step
from apcu_notifier.notification import (
    ClearStart,
    CommandNotification,
    UnreadableNotification,
    parse_notifications,
)
from apcu_notifier.runtime import Runtime
from apcu_notifier.verdict import unreadable

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
            logger.error(
                "unreadable notification; posting an alert",
                extra={"reason": notification.reason.value},
            )
            alert = unreadable(notification.reason, notification.excerpt)
            posting.alone(ctx, rt, alert, f"post the unreadable notification ({index})")
            outcomes.append({"verdict": alert.kind.value})
        elif isinstance(notification, CommandNotification) and notification.is_final:
            command_id, status = notification.command_id, notification.status
            step(
                ctx,
                f"hand {command_id} {status} to its clear",
                partial(_hand, rt, command_id, status, function_arn),
                type(None),
            )
            outcomes.append({"commandId": command_id, "relayed": status})
        else:
            outcomes.append(
                {
                    "commandId": notification.command_id,
                    "skipped": getattr(notification, "status", ""),
                }
            )
    return {"records": len(outcomes), "outcomes": outcomes}


def start_clear(rt: Runtime, clear_id: str, function_arn: str) -> None:
    """Start the clear `clear_id` on this function (its alias, as invoked); idempotent by name."""
    try:
        rt.lambda_.invoke(
            FunctionName=function_arn,
            InvocationType="Event",
            DurableExecutionName=clear_id,
            Payload=json.dumps(ClearStart(clear_id).payload()).encode(),
        )
    except ClientError as error:
        if error_code(error) != STARTED:
            raise


def _hand(rt: Runtime, command_id: str, status: str, function_arn: str) -> None:
    start_clear(rt, command_id, function_arn)
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
