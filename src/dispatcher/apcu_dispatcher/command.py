"""The one SendCommand the dispatcher makes: the project's document, a tag target, validated values.

There is no `commands` parameter and no AWS-RunShellScript: the script is fixed in the SSM
document (template.yaml), and the request can only choose its prefix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from apcu_dispatcher.config import Config
from apcu_dispatcher.preflight import Plan
from apcu_dispatcher.validation import FlushRequest

if TYPE_CHECKING:
    from mypy_boto3_ssm.literals import NotificationEventType
    from mypy_boto3_ssm.type_defs import SendCommandRequestTypeDef

GROUP_TAG = "tag:aws:autoscaling:groupName"
# SendCommand's Comment member is at most 100 characters (botocore SSM model).
MAX_COMMAND_COMMENT = 100
# Every final status, so the notifier always gets a verdict to make; InProgress is noise.
FINAL_STATUSES: tuple[NotificationEventType, ...] = ("Success", "TimedOut", "Cancelled", "Failed")


def build_send_command(
    plan: Plan, request: FlushRequest, config: Config
) -> SendCommandRequestTypeDef:
    comment = f"{request.requester}: {request.comment}" if request.comment else request.requester
    return {
        "Targets": [{"Key": GROUP_TAG, "Values": [plan.group]}],
        "DocumentName": config.document_name,
        "Parameters": {"prefix": [request.prefix or ""]},
        # A delivery timeout: an instance whose agent has not picked the command up by then
        # ends DeliveryTimedOut, so the notifier can judge within minutes.
        "TimeoutSeconds": config.delivery_timeout_seconds,
        # Clearing every cache at once sends every cache miss to the database at once;
        # MAX_CONCURRENCY spreads the clears out (default half the group at a time).
        "MaxConcurrency": config.max_concurrency,
        # Every server should try even when some fail; the notifier judges the outcome.
        "MaxErrors": "100%",
        "Comment": comment[:MAX_COMMAND_COMMENT],
        "NotificationConfig": {
            "NotificationArn": config.topic_arn,
            "NotificationEvents": list(FINAL_STATUSES),
            "NotificationType": "Command",
        },
        "ServiceRoleArn": config.role_arn,
    }


def console_url(region: str, command_id: str) -> str:
    return (
        f"https://{region}.console.aws.amazon.com/systems-manager/run-command/"
        f"{command_id}?region={region}"
    )
