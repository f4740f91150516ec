"""The watchdog schedule: one EventBridge Scheduler at() schedule that invokes the notifier for
one command. The dispatcher creates the first when it sends the command; the notifier creates
each follow-up while the command still runs. Both build it here, so its shape is one.

The schedule's Input is the event the notifier's handler accepts as it is:
{"source": WATCHDOG_SOURCE, "commandId": "...", "attempt": n}; the first has no attempt (0).
A follow-up the notifier arms because SNS said a final status before ListCommands did also
carries that status: {"notified": "Success", ...}.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_scheduler.type_defs import CreateScheduleInputTypeDef

WATCHDOG_SOURCE = "apcu-fleet-flush.watchdog"
SCHEDULE_PREFIX = "watchdog-"
# Scheduler invokes Lambda asynchronously; these retries cover a throttled or failed invoke
# (Lambda's own async retries then cover a notifier error). What still fails goes to the DLQ.
RETRY_MAX_AGE_SECONDS = 3600
RETRY_ATTEMPTS = 10

# Names and ARNs as botocore's scheduler, iam, lambda and sqs models constrain them.
SCHEDULE_GROUP_PATTERN = r"^[0-9a-zA-Z-_.]{1,64}$"
IAM_ROLE_ARN_PATTERN = r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$"
LAMBDA_ARN_PATTERN = (
    r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[a-zA-Z0-9-_]{1,64}(:[a-zA-Z0-9-_$]+)?$"
)
SQS_ARN_PATTERN = r"^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[a-zA-Z0-9_-]{1,80}$"


@dataclass(frozen=True)
class ScheduleSettings:
    """Where the schedule lives and what it invokes, with which role, and where the events
    Scheduler could not deliver go."""

    group: str
    role_arn: str
    target_arn: str
    dead_letter_arn: str


def schedule_name(
    command_id: str, attempt: int = 0, *, settling: bool = False, purpose: str = ""
) -> str:
    """watchdog-<id> for the first, watchdog-<id>-<n> for the n-th follow-up, and
    watchdog-<id>-settle-<n> for the n-th look at a command SNS said final too early: each its
    own name, so a follow-up never collides with the schedule that is firing (Scheduler
    deletes an at() schedule only after its run). At most 54 characters; Scheduler allows 64."""
    name = SCHEDULE_PREFIX + command_id
    if purpose:
        # watchdog-<id>-alarm-<n>: a clear's retry waiting for the stop alarm, n-th look.
        return f"{name}-{purpose}-{attempt}"
    if settling:
        return f"{name}-settle-{attempt}"
    return f"{name}-{attempt}" if attempt else name


def watchdog_event(command_id: str, attempt: int = 0, *, notified: str = "") -> dict[str, Any]:
    event: dict[str, Any] = {"source": WATCHDOG_SOURCE, "commandId": command_id}
    if attempt:
        event["attempt"] = attempt
    if notified:
        event["notified"] = notified
    return event


def build_schedule(
    command_id: str,
    fires: dt.datetime,
    settings: ScheduleSettings,
    *,
    attempt: int = 0,
    notified: str = "",
    description: str,
    purpose: str = "",
) -> CreateScheduleInputTypeDef:
    return {
        "Name": schedule_name(command_id, attempt, settling=bool(notified), purpose=purpose),
        "GroupName": settings.group,
        # at() takes no zone suffix; ScheduleExpressionTimezone says it is UTC.
        "ScheduleExpression": f"at({fires.astimezone(dt.UTC).strftime('%Y-%m-%dT%H:%M:%S')})",
        "ScheduleExpressionTimezone": "UTC",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "ActionAfterCompletion": "DELETE",
        "Description": description,
        "Target": {
            "Arn": settings.target_arn,
            "RoleArn": settings.role_arn,
            "Input": json.dumps(
                watchdog_event(command_id, attempt, notified=notified), separators=(",", ":")
            ),
            "RetryPolicy": {
                "MaximumEventAgeInSeconds": RETRY_MAX_AGE_SECONDS,
                "MaximumRetryAttempts": RETRY_ATTEMPTS,
            },
            "DeadLetterConfig": {"Arn": settings.dead_letter_arn},
        },
    }


def unqualified(function_arn: str) -> str:
    """The function's ARN without a version or alias: the form the scheduler role may invoke."""
    if not re.fullmatch(LAMBDA_ARN_PATTERN, function_arn):
        raise ValueError(f"not a Lambda function ARN: {function_arn!r}")
    return ":".join(function_arn.split(":")[:7])
