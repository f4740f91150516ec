"""The notifier's entry point, a durable function: a clear's start (the execution is the clear)
or SSM's notifications (the relay). Configuration is read at init: a wrong variable fails it."""

from __future__ import annotations

from typing import Any

from aws_durable_execution_sdk_python import DurableContext, durable_execution

from apcu_clear.observability import logger, metrics, trace_handler
from apcu_notifier import relay
from apcu_notifier.config import Config
from apcu_notifier.notification import InvalidEvent, is_clear_start, parse_clear_start
from apcu_notifier.runtime import Runtime

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
    if is_clear_start(event):
        clear_id = parse_clear_start(event)
        logger.set_correlation_id(clear_id)
        # Imported at a clear's start: the relay needs none of the clear's machinery (make bench).
        from apcu_notifier import clear

        return clear.run(context, _runtime, clear_id)
    if isinstance(event, dict) and "Records" in event:
        lambda_context = context.lambda_context
        function_arn = str(lambda_context.invoked_function_arn if lambda_context else "")
        return relay.relay(context, _runtime, event, function_arn)
    raise InvalidEvent(
        "the notifier takes SSM's notifications (SNS) or a clear's start, {\"commandId\": ...}"
    )
