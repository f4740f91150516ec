"""The Lambda edge: route GET /flush/{commandId} to the status reader,
POST /flush/{commandId}/retry to the retry and POST /slack/actions to the Slack app's button;
tell a POST /flush request from a console event,
validate, dispatch, answer.

Anyone allowed lambda:InvokeFunction can also shape a direct event like an API one; the
requester written into the command's Comment is then what they wrote, while CloudTrail still
records who invoked the function.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice

from apcu_dispatcher.budget import Remaining, unlimited
from apcu_dispatcher.clients import Clients, build_clients
from apcu_dispatcher.config import Config
from apcu_dispatcher.dispatch import dispatch
from apcu_dispatcher.errors import Refusal
from apcu_dispatcher.lifecycle import handle_lifecycle, is_lifecycle_event
from apcu_dispatcher.responses import Answer, refused
from apcu_dispatcher.retry import RETRY_ROUTE, retry
from apcu_dispatcher.status import STATUS_ROUTE, command_id_of, read_status
from apcu_dispatcher.validation import decode_body, validate_request
from apcu_dispatcher.warm_pool import handle_warm_pool, is_eventbridge_event

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from apcu_dispatcher.slack_client import SlackApp

SERVICE = "apcu-dispatcher"
# The Slack app's button (apcu_dispatcher/slack_actions.py, imported on its first request only,
# so that webhook mode's cold start does not load it).
SLACK_ACTIONS_ROUTE = "POST /slack/actions"
CONSOLE_REQUESTER = "console"

logger = Logger(service=SERVICE)
metrics = Metrics(service=SERVICE)
config = Config.from_env()


def _tracing_on() -> bool:
    # Tracer() imports the X-Ray SDK and patches botocore even when it then finds tracing
    # disabled; build it only where it will trace: inside Lambda (not `sam local`), with the
    # stack's Tracing parameter Active, which sets POWERTOOLS_TRACE_DISABLED to false.
    disabled = resolve_truthy_env_var_choice(
        env=os.environ.get("POWERTOOLS_TRACE_DISABLED", "false")
    )
    in_lambda = bool(os.environ.get("LAMBDA_TASK_ROOT")) and not os.environ.get("AWS_SAM_LOCAL")
    return in_lambda and not disabled


def _identity(function: Callable[..., Any]) -> Callable[..., Any]:
    return function


if _tracing_on():
    from aws_lambda_powertools import Tracer

    # Only botocore is patched: the AWS calls are what a trace should show.
    _trace: Callable[[Callable[..., Any]], Callable[..., Any]] = Tracer(
        service=SERVICE, patch_modules=("botocore",)
    ).capture_lambda_handler
else:
    _trace = _identity


@dataclass(frozen=True)
class Handled:
    response: dict[str, Any]
    # Accepted, DryRun, StatusRead, RetryAccepted, Rejected, Throttled, LifecycleContinued,
    # AlreadyCleared, or a Slack request's (slack_actions.SlackAnswer): the metric counted
    outcome: str
    # Further metrics to count, each once (WatchdogNotArmed).
    also_count: tuple[str, ...] = ()


@cache
def clients() -> Clients:
    """Built on the first request and kept for the container's life."""
    return build_clients(config.region, stop_alarm=config.stop_alarm_name is not None)


@cache
def slack_reader(settings: Config) -> Callable[[], SlackApp]:
    """What reads the Slack app's secret (at most once per quarter of an hour) and gives its
    verifier and Web API client. Imported and built on the first Slack request in app mode
    only: webhook mode never loads slack_sdk nor reads the secret."""
    from apcu_dispatcher.slack_client import slack_app_reader

    return slack_app_reader(settings.slack, settings.region)


def handle(
    event: object,
    settings: Config,
    aws: Clients,
    remaining: Remaining = unlimited,
    slack: Callable[[], SlackApp] | None = None,
) -> Handled:
    if (
        is_api_event(event)
        and isinstance(event, dict)
        and event.get("routeKey") == SLACK_ACTIONS_ROUTE
    ):
        from apcu_dispatcher.slack_actions import handle_slack_request

        # Before anything that reads the request: Slack's signature is checked first.
        slack_answer = handle_slack_request(
            event, settings, aws, slack or (lambda: slack_reader(settings)()), remaining
        )
        return Handled(slack_answer.for_api(), slack_answer.outcome)
    if is_api_event(event) and isinstance(event, dict) and event.get("routeKey") == STATUS_ROUTE:
        return handle_status(event, settings, aws)
    if is_api_event(event) and isinstance(event, dict) and event.get("routeKey") == RETRY_ROUTE:
        return handle_retry(event, settings, aws, remaining)
    if is_lifecycle_event(event):
        assert isinstance(event, dict)
        answer, outcome = handle_lifecycle(event, settings, aws, remaining)
        return Handled(answer.for_invoke(), outcome)
    if is_eventbridge_event(event):
        assert isinstance(event, dict)
        answer, outcome = handle_warm_pool(event, settings, aws, remaining)
        return Handled(answer.for_invoke(), outcome)
    api = is_api_event(event)
    requester = CONSOLE_REQUESTER
    try:
        if api:
            assert isinstance(event, dict)
            requester = api_requester(event)
            payload = decode_body(event.get("body"), is_base64=event.get("isBase64Encoded") is True)
        else:
            payload = event
        request = validate_request(
            payload, allowed_groups=settings.allowed_groups, requester=requester
        )
        if not api:
            request = replace(request, origin="console")
        answer, command_id = dispatch(request, settings, aws, remaining)
    except Refusal as refusal:
        logger.info(
            "request refused",
            extra={
                "status": refusal.status,
                "field": refusal.field,
                "rule": refusal.rule,
                "requester": requester,
            },
        )
        outcome = "Throttled" if refusal.status == 503 else "Rejected"
        return Handled(_shaped(refused(refusal), api=api), outcome)
    logger.info(
        "dry run planned" if request.dry_run else "clear sent",
        extra={
            "group": request.group,
            "action": request.action,
            "prefix": request.prefix,
            "requester": requester,
            "command_id": command_id,
        },
    )
    return Handled(
        _shaped(answer, api=api),
        "DryRun" if request.dry_run else "Accepted",
        _report_unarmed(answer, command_id),
    )


def _report_unarmed(answer: Answer, command_id: str | None) -> tuple[str, ...]:
    for warning in answer.body.get("warnings", []):
        if warning.get("reason") == "watchdog-not-armed":
            logger.error(
                "command sent but its watchdog is not armed; only SSM's notification can bring "
                "its verdict",
                extra={"command_id": command_id, "detail": warning.get("message")},
            )
            return ("WatchdogNotArmed",)
    return ()


def handle_status(event: dict[str, Any], settings: Config, aws: Clients) -> Handled:
    """GET /flush/{commandId}: the command's record, and its verdict once there is one."""
    try:
        requester = api_requester(event)
        command_id = command_id_of(event)
        answer = read_status(command_id, settings, aws)
    except Refusal as refusal:
        logger.info(
            "status request refused",
            extra={"status": refusal.status, "rule": refusal.rule, "field": refusal.field},
        )
        outcome = "Throttled" if refusal.status == 503 else "Rejected"
        return Handled(refused(refusal).for_api(), outcome)
    logger.info(
        "status read",
        extra={"command_id": command_id, "state": answer.body["state"], "requester": requester},
    )
    return Handled(answer.for_api(), "StatusRead")


def handle_retry(
    event: dict[str, Any], settings: Config, aws: Clients, remaining: Remaining
) -> Handled:
    """POST /flush/{commandId}/retry: re-send a judged clear to what it left stale. The body,
    if any, is ignored: only the record decides what is sent."""
    try:
        requester = api_requester(event)
        command_id = command_id_of(event)
        answer = retry(command_id, requester, settings, aws, remaining)
    except Refusal as refusal:
        logger.info(
            "retry refused",
            extra={"status": refusal.status, "rule": refusal.rule, "field": refusal.field},
        )
        outcome = "Throttled" if refusal.status == 503 else "Rejected"
        return Handled(refused(refusal).for_api(), outcome)
    logger.info(
        "retry sent",
        extra={
            "command_id": command_id,
            "retry_ids": answer.body["commandIds"],
            "retried": len(answer.body["retried"]),
            "skipped": len(answer.body["skipped"]),
            "requester": requester,
        },
    )
    return Handled(answer.for_api(), "RetryAccepted", _report_unarmed(answer, command_id))


def is_api_event(event: object) -> bool:
    """An API Gateway HTTP API (payload 2.0) or Lambda Function URL request."""
    return (
        isinstance(event, dict)
        and isinstance(event.get("requestContext"), dict)
        and (event.get("version") == "2.0" or "rawPath" in event)
    )


def api_requester(event: dict[str, Any]) -> str:
    """The IAM identity API Gateway verified; a request without one is refused."""
    authorizer = event["requestContext"].get("authorizer")
    iam = authorizer.get("iam") if isinstance(authorizer, dict) else None
    if isinstance(iam, dict):
        for key in ("userArn", "callerId", "accountId"):
            value = iam.get(key)
            if isinstance(value, str) and value.strip():
                return "".join(c for c in value if c.isprintable())[:256]
    raise Refusal(
        403,
        "the API must be called with IAM (SigV4) authorisation; no IAM identity in the request",
        rule="iam-auth",
    )


def _shaped(answer: Answer, *, api: bool) -> dict[str, Any]:
    return answer.for_api() if api else answer.for_invoke()


@_trace
@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    # A direct invoke may send any JSON value, not only an object; `handle` refuses the rest.
    try:
        handled = handle(
            event, config, clients(), lambda: context.get_remaining_time_in_millis() / 1000
        )
    except Exception:
        logger.exception("request failed")
        metrics.add_metric(name="Failed", unit=MetricUnit.Count, value=1)
        raise
    metrics.add_metric(name=handled.outcome, unit=MetricUnit.Count, value=1)
    for name in handled.also_count:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    return handled.response
