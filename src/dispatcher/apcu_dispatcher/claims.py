"""The dispatcher's side of the claim (apcu_clear.claim): take it before SendCommand or refuse
with 409 naming the clear that holds it, give it back when nothing was sent, name the command
once SSM answered.

Only the holder sends, so of two requests at the same moment (API, console or a warm-pool
event, in any mix for one target) exactly one clear goes out.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError

from apcu_clear import claim
from apcu_clear.claim import Held, Taken
from apcu_dispatcher.clients import is_throttling
from apcu_dispatcher.command import console_url
from apcu_dispatcher.config import Config
from apcu_dispatcher.errors import Refusal, throttled

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# The claim lasts to the clear's last possible end: the command's expiry plus this margin, for
# clocks that differ and for SSM ending a command a little after its expiry.
MARGIN = dt.timedelta(minutes=5)
RULE = "clear-in-progress"

logger = Logger(service="apcu-dispatcher", child=True)
# Powertools shares one metric set among a namespace's Metrics: this adds to the handler's.
metrics = Metrics(service="apcu-dispatcher")


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def take_or_refuse(
    key: str, what: str, config: Config, dynamodb: DynamoDBClient, now: dt.datetime | None = None
) -> Taken:
    """The claim on `key`, held until a command sent now must have ended; or 409 naming the
    clear that holds it (503 when DynamoDB throttles: nothing was sent)."""
    moment = now or utc_now()
    try:
        result = claim.take(
            dynamodb,
            config.watchdog.commands_table,
            key,
            now=moment,
            until=moment + config.command_lifetime + MARGIN,
        )
    except ClientError as error:
        if is_throttling(error):
            raise throttled(error.operation_name, "claiming the clear") from error
        raise
    if isinstance(result, Held):
        raise in_progress(what, result, config.region)
    return result


def refuse_if_held(
    key: str, what: str, config: Config, dynamodb: DynamoDBClient, now: dt.datetime | None = None
) -> None:
    """409 while a clear holds `key`, without taking it: a dry run predicts the answer only."""
    try:
        holding = claim.held(dynamodb, config.watchdog.commands_table, key, now=now or utc_now())
    except ClientError as error:
        if is_throttling(error):
            raise throttled(error.operation_name, "looking for a clear in progress") from error
        raise
    if holding is not None:
        raise in_progress(what, holding, config.region)


def give_back(taken: Taken, config: Config, dynamodb: DynamoDBClient) -> None:
    """Free the target after a refusal or failure before SendCommand. Never raises: the answer
    the caller gets is the refusal, and a claim not given back expires on its own."""
    try:
        if not claim.give_back(dynamodb, config.watchdog.commands_table, taken):
            logger.warning("the claim to give back was no longer ours", extra={"claim": taken.key})
    except Exception:
        logger.exception(
            "could not give the claim back; the target stays claimed until it expires",
            extra={"claim": taken.key},
        )
        metrics.add_metric(name="ClaimReleaseFailed", unit=MetricUnit.Count, value=1)


def name_holder(
    taken: Taken, command_id: str, expires: dt.datetime, config: Config, dynamodb: DynamoDBClient
) -> None:
    """After SendCommand: the command holds the claim until SSM's expiry plus the margin. Never
    raises: the command runs, and the claim taken before sending covers as long already."""
    try:
        named = claim.name_holder(
            dynamodb, config.watchdog.commands_table, taken, command_id, until=expires + MARGIN
        )
    except Exception:
        logger.exception(
            "could not name the command on its claim; a refused request will not name it",
            extra={"claim": taken.key, "command_id": command_id},
        )
        return
    if not named:
        # Only when the claim outlived its `until` before SendCommand answered.
        logger.warning(
            "the claim was taken over before the command could be named on it",
            extra={"claim": taken.key, "command_id": command_id},
        )


def in_progress(what: str, holding: Held, region: str) -> Refusal:
    """The 409 a refused request gets: the clear in progress, and where to watch it."""
    command_id = holding.holder or None
    running = (
        f"command {command_id}, requested {holding.requested_at or 'at an unknown time'}"
        if command_id
        else f"claimed {holding.requested_at or 'at an unknown time'}, still being sent"
    )
    return Refusal(
        409,
        f"a clear of {what} is still running ({running}); wait for its verdict, nothing was sent",
        rule=RULE,
        details={
            "runningCommand": {
                "commandId": command_id,
                "requestedAt": holding.requested_at,
                "consoleUrl": console_url(region, command_id) if command_id else None,
            }
        },
    )
