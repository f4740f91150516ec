"""The notifier's entry point, a durable function: a clear's start (the execution is the clear),
or SSM's notifications, which the relay hands to the clear that waits for each (docs/design.md,
"The relay"). Configuration is read at init: a wrong variable fails it."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from aws_durable_execution_sdk_python import DurableContext, durable_execution
from botocore.exceptions import ClientError

from apcu_clear import record
from apcu_clear.aws import error_code
from apcu_clear.observability import count, logger, metrics, trace_handler
from apcu_notifier import notification
from apcu_notifier.config import Config, Runtime
from apcu_notifier.durable import step

# The callback was completed already, or timed out: its clear has gone on (botocore's Lambda
# model: "has either expired or ... has already been closed").
CLOSED = "CallbackTimeoutException"
# The name was used with another payload; the one payload every starter sends makes this a
# clear started by someone else, not a conflict.
STARTED = "DurableExecutionAlreadyStartedException"

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
    if notification.is_clear_start(event):
        clear_id = notification.parse_clear_start(event)
        logger.set_correlation_id(clear_id)
        # Imported at a clear's start: the relay needs none of the clear's machinery (make bench).
        from apcu_notifier import clear

        return clear.run(context, _runtime, clear_id)
    if isinstance(event, dict) and "Records" in event:
        lambda_context = context.lambda_context
        function_arn = str(lambda_context.invoked_function_arn if lambda_context else "")
        return relay(context, _runtime, event, function_arn)
    raise notification.InvalidEvent(
        "the notifier takes SSM's notifications (SNS) or a clear's start, {\"commandId\": ...}"
    )


def relay(
    ctx: DurableContext, rt: Runtime, event: dict[str, Any], function_arn: str
) -> dict[str, Any]:
    outcomes: list[dict[str, Any]] = []
    for index, notice in enumerate(notification.parse_notifications(event), start=1):
        if isinstance(notice, notification.UnreadableNotification):
            # Imported for this alert alone: posting brings render, messages and slack_sdk.
            from apcu_notifier import posting
            from apcu_notifier.verdict import unreadable

            reason = notice.reason
            logger.error("unreadable notification; posting an alert", extra={"reason": reason})
            alert = unreadable(reason, notice.excerpt)
            posting.alone(ctx, rt, alert, f"post the unreadable notification ({index})")
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
        start = json.dumps(notification.clear_start(command_id)).encode()
        rt.lambda_.invoke(
            FunctionName=function_arn,
            InvocationType="Event",
            DurableExecutionName=command_id,
            Payload=start,
        )
    except ClientError as error:
        if error_code(error) != STARTED:
            raise
    # A clear that has not recorded its callback yet reads the noted status when it does.
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
