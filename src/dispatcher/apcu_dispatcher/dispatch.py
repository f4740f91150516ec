"""From a validated request to an answer: claim the group, preflight, then SendCommand unless it
is a dry run."""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from apcu_clear import claim
from apcu_clear.claim import Taken
from apcu_dispatcher import claims
from apcu_dispatcher.brake import refuse_if_alarm_firing
from apcu_dispatcher.budget import Remaining, require_send_reserve, unlimited
from apcu_dispatcher.clients import Clients, is_throttling, was_rejected
from apcu_dispatcher.command import build_send_command
from apcu_dispatcher.config import Config
from apcu_dispatcher.errors import throttled
from apcu_dispatcher.guard import refuse_if_group_busy
from apcu_dispatcher.preflight import Plan, plan_flush
from apcu_dispatcher.responses import Answer, accepted, dry_run, not_armed_warning
from apcu_dispatcher.validation import FlushRequest
from apcu_dispatcher.watchdog import NotArmed, arm, expiry

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_ssm.type_defs import SendCommandRequestTypeDef

# Attempts at SendCommand when AWS rejected it unrun (throttled, or never connected), as many
# as botocore's standard mode makes for the other calls.
SEND_ATTEMPTS = 3


def dispatch(
    request: FlushRequest, config: Config, clients: Clients, remaining: Remaining = unlimited
) -> tuple[Answer, str | None]:
    """The answer and, when a command was sent, its id.

    Throttling that outlasts botocore's retries is a 503 the caller can retry: the throttled
    call was rejected, so nothing was sent. Any other AWS error is raised.
    """
    key = claim.group_key(request.group)
    what = f"group {request.group}"
    if request.dry_run:
        # A dry run takes no claim, but predicts the answer a real request would get.
        claims.refuse_if_held(key, what, config, clients.dynamodb)
        refuse_if_group_busy(request.group, config, clients.ssm)
        alarm = refuse_if_alarm_firing(config.stop_alarm_name, clients.cloudwatch)
        plan = _plan(request, clients)
        return dry_run(plan, dict(build_send_command(plan, request, config)), alarm), None
    taken = claims.take_or_refuse(key, what, config, clients.dynamodb)
    try:
        refuse_if_group_busy(request.group, config, clients.ssm)
        alarm = refuse_if_alarm_firing(config.stop_alarm_name, clients.cloudwatch)
        plan = _plan(request, clients)
        params = build_send_command(plan, request, config)
        try:
            command_id, missed = send_and_arm(request, params, config, clients, taken, remaining)
        except ClientError as error:
            if is_throttling(error):
                raise throttled(error.operation_name, "sending the command") from error
            raise
    except SendOutcomeUnknown:
        # SendCommand may have run: the claim stays until that command must have ended, so
        # that no retry clears the fleet twice.
        raise
    except BaseException:
        # Refused or failed before SendCommand ran: the group is free for the next request.
        claims.give_back(taken, config, clients.dynamodb)
        raise
    extra = [not_armed_warning(missed)] if missed else []
    answer = accepted(
        command_id, plan, request.prefix, config.region, extra, action=request.action, alarm=alarm
    )
    return answer, command_id


def _plan(request: FlushRequest, clients: Clients) -> Plan:
    try:
        return plan_flush(request.group, clients.autoscaling, clients.ssm)
    except ClientError as error:
        if is_throttling(error):
            raise throttled(
                error.operation_name, "reading the group and its managed instances"
            ) from error
        raise


def send_and_arm(
    request: FlushRequest,
    params: SendCommandRequestTypeDef,
    config: Config,
    clients: Clients,
    taken: Taken,
    remaining: Remaining = unlimited,
    *,
    retry_of: str = "",
) -> tuple[str, NotArmed | None]:
    """Send the command under the claim `taken`, then name it on the claim, write its record
    (a retry's names the clear's first command) and arm its watchdog.

    A 5xx or a lost answer raises SendOutcomeUnknown: AWS may have run the command, so it is
    never sent again. Throttling and other AWS errors are raised as they came (nothing ran).
    """
    try:
        command_id, requested, expires = send_command(clients.ssm_send, params, remaining=remaining)
    except ClientError as error:
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if not is_throttling(error) and status >= 500:
            raise SendOutcomeUnknown(request.group, params["Comment"], error) from error
        raise
    except (ReadTimeoutError, ConnectionClosedError) as error:
        raise SendOutcomeUnknown(request.group, params["Comment"], error) from error
    # The command runs from here on: name_holder() and arm() never raise, so neither a
    # caller's retry nor Lambda's can clear the fleet twice.
    until = expires or expiry(requested, config)
    claims.name_holder(taken, command_id, until, config, clients.dynamodb)
    missed = arm(
        command_id,
        request,
        requested,
        config,
        dynamodb=clients.dynamodb,
        scheduler=clients.scheduler,
        clear_claim=taken.key,
        retry_of=retry_of,
    )
    return command_id, missed


def send_command(
    client: SSMClient,
    params: SendCommandRequestTypeDef,
    sleep: Callable[[float], None] | None = None,
    remaining: Remaining = unlimited,
) -> tuple[str, dt.datetime, dt.datetime | None]:
    """Send the command once; try again only when AWS rejected the attempt without running it.

    Returns the command id, when SSM says it was requested (its expiry counts from there) and
    SSM's expiry of it (`ExpiresAfter`, "calculated based on the total timeout"), if it said.
    Each attempt starts only while it can still be recorded and answered (budget.py); before
    it, every earlier attempt was rejected unrun, so refusing then sends nothing.
    """
    for attempt in range(1, SEND_ATTEMPTS + 1):
        require_send_reserve(remaining)
        try:
            command = client.send_command(**params)["Command"]
            requested = command.get("RequestedDateTime") or dt.datetime.now(dt.UTC)
            return command["CommandId"], requested, command.get("ExpiresAfter")
        except (ClientError, ConnectTimeoutError, EndpointConnectionError) as error:
            if attempt == SEND_ATTEMPTS or not was_rejected(error):
                raise
            # Full jitter, as botocore's standard mode backs off: 0..2^attempt seconds.
            # time.sleep is looked up per call, so a patched clock (tests) is honoured.
            (sleep or time.sleep)(random.uniform(0, 2**attempt))  # noqa: S311 (jitter, not a secret)
    raise AssertionError("unreachable: the last attempt returns or raises")


class SendOutcomeUnknown(Exception):
    """SendCommand failed after AWS may have accepted it; it is not retried (no idempotency token)."""

    def __init__(self, group: str, comment: str, cause: Exception) -> None:
        super().__init__(
            f"SendCommand for group {group} failed after AWS may have accepted it "
            f"({type(cause).__name__}); look for comment {comment!r} in the Run Command "
            "history before sending again"
        )
