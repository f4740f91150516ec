"""The dispatcher's edge: Powertools' resolver routes HTTP; a console test event, a launch event and
Slack's work handed on go to the same handlers, whose exception handlers answer every refusal."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from botocore.exceptions import BotoCoreError, ClientError

from apcu_clear.command import OutcomeUnknown
from apcu_clear.observability import count, logger, metrics, trace_handler
from apcu_dispatcher import launches, recorded, refusals, slack
from apcu_dispatcher.config import Config
from apcu_dispatcher.runtime import Runtime
from apcu_dispatcher.sending import clear_group
from apcu_dispatcher.validation import FlushRequest, decode_body, validate_request

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

STATUS: dict[type[refusals.Refusal], int] = {
    refusals.InvalidRequest: 400,
    refusals.Unauthenticated: 401,
    refusals.Forbidden: 403,
    refusals.NotFound: 404,
    refusals.Conflict: 409,
    refusals.Unavailable: 503,
}
JSON = content_types.APPLICATION_JSON

app = APIGatewayHttpResolver()
runtime = Runtime(Config.from_env())


def use_runtime(rt: Runtime) -> None:
    """Replace the container's runtime (a test's own configuration)."""
    global runtime
    runtime = rt


@app.post("/flush")
def post_flush() -> Response[dict[str, Any]]:
    requester = requester_of()
    event = app.current_event
    payload = decode_body(event.body, is_base64=event.is_base64_encoded is True)
    allowed = runtime.config.shared.allowed_groups
    return _cleared(validate_request(payload, allowed_groups=allowed, requester=requester))


@app.get("/flush/<command_id>")
def get_flush(command_id: str) -> Response[dict[str, Any]]:
    requester_of()
    return _answer(200, recorded.status(command_id, runtime), "StatusRead")


@app.post("/flush/<command_id>/retry")
def post_retry(command_id: str) -> Response[dict[str, Any]]:
    started = recorded.retry(command_id, requester_of(), runtime)
    retried = len(started["retried"])
    extra = {"retry_of": command_id, "command_id": started["commandId"], "retried": retried}
    logger.info("retry started", extra=extra)
    return _answer(202, started, "RetryAccepted")


@app.post("/slack/actions")
def post_slack() -> Response[dict[str, Any] | str]:
    event = app.current_event
    try:
        body = event.decoded_body
    except ValueError:
        body = None
    signed = slack.signed_request(body, event.headers)
    outcome, answer = slack.answer(signed, runtime, app.lambda_context.invoked_function_arn)
    count(outcome)
    return Response(200, JSON, answer or "")


@app.exception_handler([refusals.Refusal, OutcomeUnknown, ClientError, BotoCoreError])  # type: ignore[untyped-decorator]
def refused(error: Exception) -> Response[dict[str, Any]]:
    refusal = refusals.as_refusal(error)
    if refusal is None:
        raise error
    code = next(code for kind, code in STATUS.items() if isinstance(refusal, kind))
    logged = {"status": code, "rule": refusal.rule, "field": refusal.field}
    logger.info("request refused", extra=logged)
    count("Throttled" if code == 503 else "Rejected")
    field = {} if refusal.field is None else {"field": refusal.field}
    error_body = {"status": code, **field, "rule": refusal.rule, "message": refusal.message}
    return Response(code, JSON, {"error": error_body | refusal.details})


def requester_of() -> str:
    """The IAM identity API Gateway verified; a request without one is refused."""
    iam = app.current_event.request_context.authorizer.iam
    for value in (iam.user_arn, iam.caller_id, iam.account_id):
        if isinstance(value, str) and value.strip():
            return "".join(c for c in value if c.isprintable())[:256]
    why = "the API must be called with IAM (SigV4) authorisation; no IAM identity in the request"
    raise refusals.Forbidden(why, rule="iam-auth")


def _cleared(request: FlushRequest) -> Response[dict[str, Any]]:
    body = clear_group(request, runtime)
    if request.dry_run:
        return _answer(200, body, "DryRun")
    logged = {"command_id": body["commandId"], **dataclasses.asdict(request)}
    logger.info("clear sent", extra=logged)
    return _answer(202, body, "Accepted")


def _answer(code: int, body: dict[str, Any], outcome: str) -> Response[dict[str, Any]]:
    count(outcome)
    return Response(code, JSON, body)


def direct(event: Any) -> dict[str, Any]:
    """An event that is not an HTTP request, answered by the same handlers."""
    try:
        if isinstance(event, dict) and slack.WORK in event:
            outcome = slack.work(event, runtime)
            answer = _answer(200, {"outcome": outcome}, outcome)
        elif launches.is_launch_event(event):
            body, outcome = launches.handle_launch(event, runtime)
            answer = _answer(202 if outcome == launches.ACCEPTED else 200, body, outcome)
        else:
            allowed = runtime.config.shared.allowed_groups
            request = validate_request(event, allowed_groups=allowed, requester="console")
            answer = _cleared(dataclasses.replace(request, origin="console"))
    except Exception as error:
        handler = app.exception_handler_manager.lookup_exception_handler(type(error))
        if handler is None:
            raise
        answer = handler(error)
        if answer.status_code == 503 and launches.is_launch_event(event):
            raise  # Lambda retries an asynchronous event
    headers = {"content-type": JSON}
    return {"statusCode": answer.status_code, "headers": headers, "body": answer.body}


@trace_handler
@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    # Anyone allowed lambda:InvokeFunction can shape an API event too: its requester is then what
    # they wrote, while CloudTrail still records who invoked the function.
    if isinstance(event, dict) and {"routeKey", "requestContext"} <= event.keys():
        return app.resolve(event, context)
    return direct(event)
