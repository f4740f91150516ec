"""The SendCommand the dispatcher makes: the project's document, a tag target (or, for a retry,
the instances it re-sends to), validated values.

There is no `commands` parameter and no AWS-RunShellScript: the script is fixed in the SSM
document (template.yaml), and the request can only choose its action and its prefix, both
checked again by the document's allowedPattern.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from apcu_clear.alarm import alarm_configuration
from apcu_dispatcher.config import Config
from apcu_dispatcher.preflight import Plan
from apcu_dispatcher.validation import FlushRequest

if TYPE_CHECKING:
    from mypy_boto3_ssm.literals import NotificationEventType
    from mypy_boto3_ssm.type_defs import SendCommandRequestTypeDef

GROUP_TAG = "tag:aws:autoscaling:groupName"
# SendCommand's Comment member is at most 100 characters (botocore SSM model).
MAX_COMMAND_COMMENT = 100
# Every final status, so the notifier always gets a verdict to make; in webhook mode
# InProgress is noise.
FINAL_STATUSES: tuple[NotificationEventType, ...] = ("Success", "TimedOut", "Cancelled", "Failed")
# In Slack app mode the notifier posts a clear's message when it starts, on SSM's InProgress
# notification, and updates it in place at the verdict.
APP_MODE_STATUSES: tuple[NotificationEventType, ...] = ("InProgress", *FINAL_STATUSES)
# SendCommand's InstanceIds member holds at most 50 ids (botocore SSM model).
MAX_INSTANCE_IDS = 50


def build_send_command(
    plan: Plan, request: FlushRequest, config: Config
) -> SendCommandRequestTypeDef:
    """A clear of the whole group: its tag is the target, so instances that join count too."""
    params = _send_command(request, config)
    params["Targets"] = [{"Key": GROUP_TAG, "Values": [plan.group]}]
    return params


def build_retry_command(
    instance_ids: Sequence[str], request: FlushRequest, config: Config
) -> SendCommandRequestTypeDef:
    """A retry: the same command, sent to exactly these instances (at most
    MAX_INSTANCE_IDS, SendCommand's limit)."""
    if not 0 < len(instance_ids) <= MAX_INSTANCE_IDS:
        raise ValueError(f"a command names 1 to {MAX_INSTANCE_IDS} instances")
    params = _send_command(request, config)
    params["InstanceIds"] = list(instance_ids)
    return params


def _send_command(request: FlushRequest, config: Config) -> SendCommandRequestTypeDef:
    """Everything but the target, the same for a clear and for its retries."""
    params: SendCommandRequestTypeDef = {
        "DocumentName": config.document_name,
        "Parameters": {"action": [request.action], "prefix": [request.prefix or ""]},
        # A delivery timeout: an instance whose agent has not picked the command up by then
        # ends DeliveryTimedOut, so the notifier can judge within minutes.
        "TimeoutSeconds": config.delivery_timeout_seconds,
        # Clearing every cache at once sends every cache miss to the database at once;
        # MAX_CONCURRENCY spreads the clears out (default half the group at a time).
        "MaxConcurrency": config.max_concurrency,
        # Every server should try even when some fail; the notifier judges the outcome.
        "MaxErrors": "100%",
        "Comment": command_comment(request.requester, request.comment),
        "NotificationConfig": {
            "NotificationArn": config.topic_arn,
            "NotificationEvents": list(notification_events(config)),
            "NotificationType": "Command",
        },
        "ServiceRoleArn": config.role_arn,
    }
    if config.stop_alarm_name:
        # The brake: while this alarm is in ALARM, SSM starts none of the pending invocations,
        # so the waves MaxConcurrency makes stop when the database suffers.
        params["AlarmConfiguration"] = alarm_configuration(config.stop_alarm_name)
    return params


def notification_events(config: Config) -> tuple[NotificationEventType, ...]:
    """The statuses SSM notifies: the final ones, and InProgress too in Slack app mode."""
    return APP_MODE_STATUSES if config.slack.is_app else FINAL_STATUSES


_ASSUMED_ROLE = re.compile(
    r"^arn:aws[a-z-]*:sts::\d{12}:assumed-role/(?P<role>[^/]+)/(?P<session>.+)$"
)
_IAM_USER = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:user/(?:.*/)?(?P<user>[^/]+)$")


def requester_names(requester: str) -> list[str]:
    """Ways to name the caller in the Comment, the most complete first.

    An SSO role ARN alone (arn:aws:sts::…:assumed-role/AWSReservedSSO_…/alice@example.com)
    can fill SSM's 100 characters; the full ARN is in the dispatcher's log and in CloudTrail.
    """
    if match := _ASSUMED_ROLE.match(requester):
        return [f"{match['role']}/{match['session']}", match["session"]]
    if match := _IAM_USER.match(requester):
        return [match["user"]]
    if requester.endswith(":root"):
        return ["root"]
    return [requester]


def command_comment(requester: str, comment: str | None) -> str:
    """ "<who>: <comment>" within SSM's 100 characters; the caller's comment is never cut."""
    names = requester_names(requester)
    for name in names:
        text = f"{name}: {comment}" if comment else name
        if len(text) <= MAX_COMMAND_COMMENT:
            return text
    if not comment:
        return names[-1][:MAX_COMMAND_COMMENT]
    # A comment is at most 80 characters (validation), so the name keeps at least 18.
    room = MAX_COMMAND_COMMENT - len(comment) - 2
    return f"{names[-1][:room]}: {comment}"


def console_url(region: str, command_id: str) -> str:
    return (
        f"https://{region}.console.aws.amazon.com/systems-manager/run-command/"
        f"{command_id}?region={region}"
    )
