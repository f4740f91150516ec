"""The stop alarm, metric or composite, that brakes every command (apcu_clear.command). The
caller reads it before sending too: a clear never starts into a database already suffering."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from apcu_clear.record import iso

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

# CloudWatch's StateReason may run to 1,023 characters; an answer quotes its start.
REASON_CHARS = 300
# DescribeAlarms returns only metric alarms unless told otherwise (CloudWatch API reference).
ALARM_TYPES: list[Any] = ["CompositeAlarm", "MetricAlarm"]


class AlarmNotFound(LookupError):
    """CloudWatch has no alarm of that name."""


@dataclass(frozen=True)
class AlarmState:
    name: str
    # OK, ALARM or INSUFFICIENT_DATA. SSM holds a command only in ALARM.
    state: str
    reason: str
    since: dt.datetime | None

    @property
    def firing(self) -> bool:
        return self.state == "ALARM"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": self.state,
            "reason": self.reason[:REASON_CHARS],
            "since": iso(self.since) if self.since else None,
        }


def read_alarm(cloudwatch: CloudWatchClient, name: str) -> AlarmState:
    """The alarm's state now; AlarmNotFound when CloudWatch has no alarm of that name."""
    answer = cloudwatch.describe_alarms(AlarmNames=[name], AlarmTypes=ALARM_TYPES)
    found: list[Any] = [*answer.get("CompositeAlarms", []), *answer.get("MetricAlarms", [])]
    if not found:
        raise AlarmNotFound(f"CloudWatch has no alarm named {name!r}")
    alarm = found[0]
    state = alarm.get("StateValue", "INSUFFICIENT_DATA")
    return AlarmState(name, state, alarm.get("StateReason", ""), alarm.get("StateUpdatedTimestamp"))
