"""From a validated request to an answer: preflight, then SendCommand unless it is a dry run."""

from __future__ import annotations

from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError

from apcu_dispatcher.clients import Clients, is_throttling
from apcu_dispatcher.command import build_send_command
from apcu_dispatcher.config import Config
from apcu_dispatcher.errors import Refusal
from apcu_dispatcher.preflight import plan_flush
from apcu_dispatcher.responses import Answer, accepted, dry_run
from apcu_dispatcher.validation import FlushRequest


def dispatch(request: FlushRequest, config: Config, clients: Clients) -> tuple[Answer, str | None]:
    """The answer and, when a command was sent, its id.

    Throttling that outlasts botocore's retries is a 503 the caller can retry: the throttled
    call was rejected, so nothing was sent. Any other AWS error is raised.
    """
    try:
        plan = plan_flush(request.group, clients.autoscaling, clients.ssm)
    except ClientError as error:
        if is_throttling(error):
            raise _throttled(error, "reading the group and its managed instances") from error
        raise
    params = build_send_command(plan, request, config)
    if request.dry_run:
        return dry_run(plan, dict(params)), None
    try:
        command_id = clients.ssm.send_command(**params)["Command"]["CommandId"]
    except ClientError as error:
        if is_throttling(error):
            raise _throttled(error, "sending the command") from error
        if error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) >= 500:
            raise SendOutcomeUnknown(request.group, params["Comment"], error) from error
        raise
    except (ReadTimeoutError, ConnectionClosedError) as error:
        raise SendOutcomeUnknown(request.group, params["Comment"], error) from error
    return accepted(command_id, plan, request.prefix, config.region), command_id


class SendOutcomeUnknown(Exception):
    """SendCommand failed after AWS may have accepted it; it is not retried (no idempotency token)."""

    def __init__(self, group: str, comment: str, cause: Exception) -> None:
        super().__init__(
            f"SendCommand for group {group} failed after AWS may have accepted it "
            f"({type(cause).__name__}); look for comment {comment!r} in the Run Command "
            "history before sending again"
        )


def _throttled(error: ClientError, doing: str) -> Refusal:
    return Refusal(
        503,
        f"AWS throttled {error.operation_name} while {doing}; nothing was sent, try again in a minute",
        rule="aws-throttled",
    )
