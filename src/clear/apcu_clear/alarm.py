"""The stop alarm: one CloudWatch alarm, metric or composite, that brakes every command.

Every command the stack sends carries it in SendCommand's AlarmConfiguration. While the alarm
is in ALARM, SSM runs none of the command's pending invocations, and the command's
TriggeredAlarms says so (botocore's SSM model). Before sending, the caller reads the alarm
itself, so that a clear is never started into a database that is already suffering.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_ssm.type_defs import AlarmConfigurationTypeDef

ALARM = "ALARM"
# CloudWatch's StateReason may run to 1,023 characters; an answer quotes its start.
REASON_CHARS = 300
# DescribeAlarms returns only metric alarms unless told otherwise (CloudWatch API reference),
# and a composite alarm is how several alarms become the one SSM accepts.
ALARM_TYPES: list[Any] = ["CompositeAlarm", "MetricAlarm"]


class AlarmNotFound(LookupError):
    """The stop alarm named in the stack's settings does not exist."""

    def __init__(self, name: str) -> None:
        super().__init__(f"CloudWatch has no alarm named {name!r}")
        self.name = name


@dataclass(frozen=True)
class AlarmState:
    name: str
    # OK, ALARM or INSUFFICIENT_DATA. SSM holds a command only in ALARM.
    state: str
    reason: str
    since: dt.datetime | None

    @property
    def firing(self) -> bool:
        return self.state == ALARM

    def to_json(self) -> dict[str, Any]:
        since = self.since
        return {
            "name": self.name,
            "state": self.state,
            "reason": self.reason[:REASON_CHARS],
            "since": since.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if since else None,
        }


def alarm_configuration(name: str) -> AlarmConfigurationTypeDef:
    """SendCommand's AlarmConfiguration for the stop alarm.

    IgnorePollAlarmFailure false: when SSM cannot read the alarm, the command stops instead of
    running without its brake.
    """
    return {"Alarms": [{"Name": name}], "IgnorePollAlarmFailure": False}


def read_alarm(cloudwatch: CloudWatchClient, name: str) -> AlarmState:
    """The alarm's state now; AlarmNotFound when CloudWatch has no alarm of that name."""
    answer = cloudwatch.describe_alarms(AlarmNames=[name], AlarmTypes=ALARM_TYPES)
    found: list[Any] = [*answer.get("CompositeAlarms", []), *answer.get("MetricAlarms", [])]
    if not found:
        raise AlarmNotFound(name)
    alarm = found[0]
    return AlarmState(
        name=name,
        state=alarm.get("StateValue", "INSUFFICIENT_DATA"),
        reason=alarm.get("StateReason", ""),
        since=alarm.get("StateUpdatedTimestamp"),
    )
