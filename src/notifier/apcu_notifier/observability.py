"""Logger, Metrics and the tracing decorator, shared by the handler.

Powertools' Tracer imports the X-Ray SDK and patches botocore when it is built, even when it
then finds tracing disabled. It is built only where it will trace: inside Lambda, with the
stack's Tracing parameter Active (which sets POWERTOOLS_TRACE_DISABLED to false). Elsewhere
the X-Ray SDK is never imported, and the cold start is that much shorter (docs/deploy.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics
from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "apcu-notifier"
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "ApcuFleetFlush"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

Handler = TypeVar("Handler", bound=Callable[..., Any])


def tracing_enabled() -> bool:
    """True where Powertools' Tracer would record: the same rules, read without building it."""
    disabled = resolve_truthy_env_var_choice(
        env=os.environ.get("POWERTOOLS_TRACE_DISABLED", "false")
    )
    # Outside Lambda, and under `sam local`, there is no X-Ray daemon to send to.
    in_lambda = bool(os.environ.get("LAMBDA_TASK_ROOT")) and not os.environ.get("AWS_SAM_LOCAL")
    return in_lambda and not disabled


def trace_handler(handler: Handler) -> Handler:
    if not tracing_enabled():
        return handler
    from aws_lambda_powertools.tracing import Tracer

    # Only botocore is patched. By default the Tracer patches requests too, and X-Ray would
    # record every Slack post's URL, the webhook secret, in each trace.
    tracer = Tracer(service=SERVICE, patch_modules=("botocore",))
    return cast(Handler, tracer.capture_lambda_handler(handler))
