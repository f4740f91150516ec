"""The command the fleet runs, and how it is sent. The script is fixed in the stack's document
(template.yaml, FlushDocument): a request only chooses the action and the prefix."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from apcu_clear.aws import error_code, may_have_run
from apcu_clear.record import iso

if TYPE_CHECKING:
    from botocore.paginate import PageIterator
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_ssm.type_defs import ListCommandsResultTypeDef, SendCommandRequestTypeDef

GROUP_TAG = "tag:aws:autoscaling:groupName"
# SendCommand's limits (docs/facts.md, SSM Run Command).
MAX_COMMENT = 100
MAX_INSTANCE_IDS = 50
# The final statuses SSM notifies.
FINAL_STATUSES = ("Success", "TimedOut", "Cancelled", "Failed")
# A lookup reads at most this many commands (ten of ListCommands' pages of 50).
LOOKUP_COMMANDS = 500
# The actions the document's `action` parameter allows, and the caches each touches.
CACHES = {"clear-apcu": ("apcu",), "reset-opcache": ("opcache",), "clear-all": ("apcu", "opcache")}
DEFAULT_ACTION = "clear-apcu"


@dataclass(frozen=True)
class CommandSettings:
    document_name: str
    delivery_timeout_seconds: int
    # The document's own timeoutSeconds: SSM ends a command after both.
    execution_timeout_seconds: int
    max_concurrency: str
    stop_alarm_name: str = ""

    @property
    def lifetime(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.delivery_timeout_seconds + self.execution_timeout_seconds)


@dataclass(frozen=True)
class Notify:
    topic_arn: str
    role_arn: str


@dataclass(frozen=True)
class Sent:
    command_id: str
    requested_at: dt.datetime
    expires_at: dt.datetime


class OutcomeUnknown(Exception):
    """SendCommand may have run but is not listed (yet): not to be sent again blindly."""

    def __init__(self, comment: str, cause: BaseException) -> None:
        why = f"SendCommand failed after AWS may have accepted it ({type(cause).__name__}); look for the comment {comment!r} in the Run Command history before sending again"
        super().__init__(why)
        self.comment = comment


def build(
    settings: CommandSettings,
    *,
    action: str,
    prefix: str,
    comment: str,
    group: str = "",
    instance_ids: Sequence[str] = (),
    notify: Notify | None = None,
) -> SendCommandRequestTypeDef:
    """A clear of a group (its tag: instances that join count too), or of named instances."""
    params: SendCommandRequestTypeDef = {
        "DocumentName": settings.document_name,
        "Parameters": {"action": [action], "prefix": [prefix]},
        # A delivery timeout: an agent that has not picked the command up by then ends it
        # DeliveryTimedOut, so a verdict comes within minutes.
        "TimeoutSeconds": settings.delivery_timeout_seconds,
        # Every cache cleared at once sends every miss to the database at once.
        "MaxConcurrency": settings.max_concurrency,
        # Every server should try even when some fail; the verdict judges the outcome.
        "MaxErrors": "100%",
        "Comment": comment[:MAX_COMMENT],
    }
    if group:
        params["Targets"] = [{"Key": GROUP_TAG, "Values": [group]}]
    else:
        if not 0 < len(instance_ids) <= MAX_INSTANCE_IDS:
            raise ValueError(f"a command names 1 to {MAX_INSTANCE_IDS} instances")
        params["InstanceIds"] = list(instance_ids)
    if notify is not None:
        events: list[Any] = list(FINAL_STATUSES)
        params["NotificationConfig"] = {
            "NotificationArn": notify.topic_arn,
            "NotificationEvents": events,
            "NotificationType": "Command",
        }
        params["ServiceRoleArn"] = notify.role_arn
    if settings.stop_alarm_name:
        # The brake: while this alarm is in ALARM, SSM starts no pending invocation; when SSM
        # cannot read it, the command stops instead of running without its brake.
        params["AlarmConfiguration"] = {
            "Alarms": [{"Name": settings.stop_alarm_name}],
            "IgnorePollAlarmFailure": False,
        }
    return params


def send(
    ssm_send: SSMClient, ssm: SSMClient, params: SendCommandRequestTypeDef, *, since: dt.datetime
) -> Sent:
    """Send once; one that may have run is looked for, never sent again (OutcomeUnknown)."""
    try:
        command = ssm_send.send_command(**params)["Command"]
    except Exception as error:
        if not may_have_run(error):
            raise
        found = find_sent(ssm, params, since=since)
        if found is None:
            raise OutcomeUnknown(params.get("Comment", ""), error) from error
        return found
    return _sent(command)


def find_sent(
    ssm: SSMClient, params: SendCommandRequestTypeDef, *, since: dt.datetime
) -> Sent | None:
    """The command these parameters sent since `since`, if SSM lists it (yet: ListCommands is
    eventually consistent, so callers look again after a pause)."""
    listed = listed_since(ssm, params["DocumentName"], since).search("Commands[]")
    return next((_sent(command) for command in listed if _same(command, params)), None)


def listed_since(
    ssm: SSMClient, document_name: str, since: dt.datetime
) -> PageIterator[ListCommandsResultTypeDef]:
    """The document's commands invoked since `since`, at most LOOKUP_COMMANDS of them."""
    filters: Any = [
        {"key": "DocumentName", "value": document_name},
        {"key": "InvokedAfter", "value": iso(since)},
    ]
    return ssm.get_paginator("list_commands").paginate(
        Filters=filters, PaginationConfig={"PageSize": 50, "MaxItems": LOOKUP_COMMANDS}
    )


def _same(command: Mapping[str, Any], params: Mapping[str, Any]) -> bool:
    return (
        command.get("Comment") == params.get("Comment")
        and command.get("Parameters") == params.get("Parameters")
        and sorted(command.get("InstanceIds") or []) == sorted(params.get("InstanceIds") or [])
        and [dict(t) for t in command.get("Targets") or []] == list(params.get("Targets") or [])
    )


def _sent(command: Mapping[str, Any]) -> Sent:
    return Sent(command["CommandId"], command["RequestedDateTime"], command["ExpiresAfter"])


_ASSUMED_ROLE = re.compile(
    r"^arn:aws[a-z-]*:sts::\d{12}:assumed-role/(?P<role>[^/]+)/(?P<session>.+)$"
)
_IAM_USER = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:user/(?:.*/)?(?P<user>[^/]+)$")


def requester_names(requester: str) -> list[str]:
    """Ways to name the caller in a Comment, the most complete first (an SSO role ARN fills it)."""
    if match := _ASSUMED_ROLE.match(requester):
        return [f"{match['role']}/{match['session']}", match["session"]]
    if match := _IAM_USER.match(requester):
        return [match["user"]]
    if requester.endswith(":root"):
        return ["root"]
    return [requester]


def command_comment(requester: str, comment: str) -> str:
    """ "<who>: <comment>" within SSM's 100 characters; the comment is never cut."""
    names = requester_names(requester)
    for name in names:
        text = f"{name}: {comment}" if comment else name
        if len(text) <= MAX_COMMENT:
            return text
    if not comment:
        return names[-1][:MAX_COMMENT]
    room = max(MAX_COMMENT - len(comment) - 2, 1)
    return f"{names[-1][:room]}: {comment}"[:MAX_COMMENT]


def console_url(region: str, command_id: str) -> str:
    return f"https://{region}.console.aws.amazon.com/systems-manager/run-command/{command_id}?region={region}"


@dataclass(frozen=True)
class Live:
    status: str
    details: str
    targeted: int
    completed: int
    errors: int

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES

    def to_json(self) -> dict[str, Any]:
        values = asdict(self)
        return {"status": values.pop("status"), "statusDetails": values.pop("details"), **values}


GONE = Live("Unknown", "SSM no longer knows this command", 0, 0, 0)


def live(ssm: SSMClient, command_id: str) -> Live:
    """One ListCommands call; GONE for a command SSM does not know (any more)."""
    try:
        commands = ssm.list_commands(CommandId=command_id).get("Commands", [])
    except ClientError as error:
        if error_code(error) != "InvalidCommandId":
            raise
        return GONE
    if not commands:
        return GONE
    found = commands[0]
    status, details = found.get("Status", ""), found.get("StatusDetails", "")
    counts = found.get("TargetCount", 0), found.get("CompletedCount", 0), found.get("ErrorCount", 0)
    return Live(status, details, *counts)
