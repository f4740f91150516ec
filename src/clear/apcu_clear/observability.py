"""Logger, Metrics and the tracing decorator, one of each per function."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics, MetricUnit
from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "apcu-fleet-flush"
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "ApcuFleetFlush"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

Handler = TypeVar("Handler", bound=Callable[..., Any])


def count(name: str) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


def trace_handler(handler: Handler) -> Handler:
    # The Tracer imports the X-Ray SDK and patches botocore when it is built, even with tracing
    # disabled: it is built only inside Lambda with tracing on.
    setting = os.environ.get("POWERTOOLS_TRACE_DISABLED", "false")
    disabled = resolve_truthy_env_var_choice(env=setting)
    # Outside Lambda, and under `sam local`, there is no X-Ray daemon to send to.
    if disabled or not os.environ.get("LAMBDA_TASK_ROOT") or os.environ.get("AWS_SAM_LOCAL"):
        return handler
    from aws_lambda_powertools.tracing import Tracer

    # Only botocore: by default the Tracer patches HTTP clients too, and X-Ray would then record
    # every Slack URL the notifier posts to, the webhook secret among them.
    tracer = Tracer(service=SERVICE, patch_modules=("botocore",))
    return cast(Handler, tracer.capture_lambda_handler(handler))
