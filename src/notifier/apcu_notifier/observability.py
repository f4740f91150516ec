"""Logger, Metrics and the tracing decorator, shared by the handler.

Powertools' Tracer imports aws_xray_sdk (about 0.3 s) when it is built, even with tracing
disabled, so it is built only when tracing is on: a notifier runs cold most of the time.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "apcu-notifier"
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "ApcuFleetFlush"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

Handler = TypeVar("Handler", bound=Callable[..., Any])


def tracing_enabled() -> bool:
    return os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() not in (
        "1",
        "true",
        "yes",
        "on",
    )


def trace_handler(handler: Handler) -> Handler:
    if not tracing_enabled():
        return handler
    from aws_lambda_powertools.tracing import Tracer

    # Only botocore is patched. By default the Tracer patches requests too, and X-Ray would
    # record every Slack post's URL, the webhook secret, in each trace.
    tracer = Tracer(service=SERVICE, patch_modules=("botocore",))
    return cast(Handler, tracer.capture_lambda_handler(handler))
