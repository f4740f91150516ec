"""The dispatcher's edge: one Lambda for four HTTP routes and three other kinds of event.

    POST /flush                      clear a group (or plan it: dryRun), IAM-signed
    GET  /flush/{commandId}          a clear's state and verdict, IAM-signed
    POST /flush/{commandId}/retry    clear again what a verdict left stale, IAM-signed
    POST /slack/actions              the Slack app's button and slash command, Slack-signed
    a console test event             read as the body of POST /flush
    an EventBridge launch event      an instance leaving a warm pool (apcu_dispatcher.launches)
    Slack's work, handed on          the asynchronous half of POST /slack/actions

Routes are Powertools' APIGatewayHttpResolver's; a refusal is raised by the logic and mapped to
its HTTP answer here, once (STATUS). Anyone allowed lambda:InvokeFunction can also shape a
direct event like an API one; the requester written into a command's Comment is then what they
wrote, while CloudTrail still records who invoked the function.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from botocore.exceptions import BotoCoreError, ClientError

from apcu_clear.command import OutcomeUnknown
from apcu_clear.errors import (
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    Refusal,
    Unauthenticated,
    Unavailable,
)
from apcu_clear.observability import count, logger, metrics, trace_handler
from apcu_dispatcher import answers, launches, retry, slack, slack_work, status
from apcu_dispatcher.config import Config
from apcu_dispatcher.failures import as_refusal
from apcu_dispatcher.runtime import Runtime
from apcu_dispatcher.sending import Started, clear_group
from apcu_dispatcher.validation import decode_body, validate_request

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

STATUS: dict[type[Refusal], int] = {
    InvalidRequest: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    Unavailable: 503,
}
CONSOLE_REQUESTER = "console"

app = APIGatewayHttpResolver()
runtime = Runtime(Config.from_env())


def use_runtime(rt: Runtime) -> None:
    """Replace the container's runtime (a test's own configuration)."""
    global runtime
    runtime = rt


@app.post("/flush")
def post_flush() -> Response[dict[str, Any]]:
    event = app.current_event
    requester = requester_of(event.raw_event)
    payload = decode_body(
        event.raw_event.get("body"), is_base64=event.raw_event.get("isBase64Encoded") is True
    )
    request = validate_request(
        payload, allowed_groups=runtime.config.shared.allowed_groups, requester=requester
    )
    return _answered(*_clear(request))


@app.get("/flush/<command_id>")
def get_flush(command_id: str) -> Response[dict[str, Any]]:
    requester_of(app.current_event.raw_event)
    body = status.read_status(status.clear_id_of(command_id), runtime)
    return _answered(200, body, "StatusRead")


@app.post("/flush/<command_id>/retry")
def post_retry(command_id: str) -> Response[dict[str, Any]]:
    requester = requester_of(app.current_event.raw_event)
    started = retry.retry(status.clear_id_of(command_id), requester, runtime)
    logger.info(
        "retry started",
        extra={
            "retry_of": command_id,
            "command_id": started.clear_id,
            "retried": len(started.body["retried"]),
        },
    )
    return _answered(202, started.body, "RetryAccepted")


@app.post("/slack/actions")
def post_slack() -> Response[dict[str, Any] | str]:
    event = app.current_event
    try:
        body = event.decoded_body
    except (ValueError, UnicodeDecodeError):
        body = None
    signed = slack.signed_request(body, dict(event.headers or {}))
    answered = slack.answer(signed, runtime, app.lambda_context.invoked_function_arn)
    count(answered.outcome)
    return Response(
        status_code=200, content_type=content_types.APPLICATION_JSON, body=answered.body or ""
    )


@app.exception_handler(Refusal)  # type: ignore[untyped-decorator]
def _refusal(refusal: Refusal) -> Response[dict[str, Any]]:
    return _answer_refusal(refusal)


def _answer_refusal(refusal: Refusal) -> Response[dict[str, Any]]:
    code = status_of(refusal)
    _log_refusal(refusal, code)
    return Response(
        status_code=code,
        content_type=content_types.APPLICATION_JSON,
        body=answers.refused(refusal, code),
    )


@app.exception_handler(OutcomeUnknown)  # type: ignore[untyped-decorator]
@app.exception_handler(ClientError)  # type: ignore[untyped-decorator]
@app.exception_handler(BotoCoreError)  # type: ignore[untyped-decorator]
def _aws(error: Exception) -> Response[dict[str, Any]]:
    refusal = as_refusal(error)
    if refusal is None:
        raise error
    return _answer_refusal(refusal)


def status_of(refusal: Refusal) -> int:
    return next(code for kind, code in STATUS.items() if isinstance(refusal, kind))


def requester_of(event: dict[str, Any]) -> str:
    """The IAM identity API Gateway verified; a request without one is refused."""
    authorizer = (event.get("requestContext") or {}).get("authorizer")
    iam = authorizer.get("iam") if isinstance(authorizer, dict) else None
    if isinstance(iam, dict):
        for key in ("userArn", "callerId", "accountId"):
            value = iam.get(key)
            if isinstance(value, str) and value.strip():
                return "".join(c for c in value if c.isprintable())[:256]
    raise Forbidden(
        "the API must be called with IAM (SigV4) authorisation; no IAM identity in the request",
        rule="iam-auth",
    )


def _clear(request: Any) -> tuple[int, dict[str, Any], str]:
    done = clear_group(request, runtime)
    if isinstance(done, Started):
        logger.info(
            "clear sent",
            extra={
                "group": request.group,
                "action": request.action,
                "command_id": done.command_id,
                "requester": request.requester,
            },
        )
        return 202, done.body, "Accepted"
    return 200, done, "DryRun"


def _answered(code: int, body: dict[str, Any], outcome: str) -> Response[dict[str, Any]]:
    count(outcome)
    for warning in body.get("warnings", []):
        if warning.get("reason") == "clear-not-started":
            count("ClearNotStarted")
    return Response(status_code=code, content_type=content_types.APPLICATION_JSON, body=body)


def _log_refusal(refusal: Refusal, code: int) -> None:
    logger.info(
        "request refused", extra={"status": code, "rule": refusal.rule, "field": refusal.field}
    )
    count("Throttled" if code == 503 else "Rejected")


def direct(event: Any, rt: Runtime) -> dict[str, Any]:
    """An event that is not an HTTP request: the answer as a console shows it (body an object)."""
    try:
        if isinstance(event, dict) and slack.WORK in event:
            outcome = slack_work.work(event, rt)
            count(outcome)
            return {"statusCode": 200, "body": {"outcome": outcome}}
        if launches.is_launch_event(event):
            body, outcome = launches.handle_launch(event, rt)
            code = 202 if outcome == launches.ACCEPTED else 200
            count(outcome)
            return {
                "statusCode": code,
                "headers": {"content-type": "application/json"},
                "body": body,
            }
        request = dataclasses.replace(
            validate_request(
                event, allowed_groups=rt.config.shared.allowed_groups, requester=CONSOLE_REQUESTER
            ),
            origin="console",
        )
        code, body, outcome = _clear(request)
        count(outcome)
    except Exception as error:
        refusal = error if isinstance(error, Refusal) else as_refusal(error)
        if refusal is None:
            raise
        code, body = status_of(refusal), answers.refused(refusal, status_of(refusal))
        _log_refusal(refusal, code)
        if code == 503 and launches.is_launch_event(event):
            raise  # Lambda retries an asynchronous event
    return {"statusCode": code, "headers": {"content-type": "application/json"}, "body": body}


@trace_handler
@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    if (
        isinstance(event, dict)
        and isinstance(event.get("requestContext"), dict)
        and "routeKey" in event
    ):
        return app.resolve(event, context)
    return direct(event, runtime)
