"""Don't start into a fire: a clear requested while the stop alarm is in ALARM is refused.

SSM would hold such a command anyway (its AlarmConfiguration), but then it would sit pending,
hold the group, and end in a "stopped" alert for a clear nobody should have started. A 409
says at once why nothing was sent and what to wait for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from apcu_clear.alarm import AlarmNotFound, AlarmState, read_alarm
from apcu_dispatcher.clients import is_throttling
from apcu_dispatcher.errors import Refusal, throttled

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient

FIRING = "alarm-firing"
NOT_FOUND = "alarm-not-found"


def refuse_if_alarm_firing(
    name: str | None, cloudwatch: CloudWatchClient | None
) -> AlarmState | None:
    """The stop alarm's state when there is one; 409 when it fires or does not exist."""
    if name is None:
        return None
    if cloudwatch is None:
        raise AssertionError("a stop alarm is set, but no CloudWatch client was built for it")
    try:
        state = read_alarm(cloudwatch, name)
    except AlarmNotFound as missing:
        # SSM could not read it either, and with IgnorePollAlarmFailure false the command
        # would stop before it ran: the stack's setting is wrong, not the request.
        raise Refusal(
            409,
            f"the stop alarm {name} does not exist in CloudWatch, so no clear can run under "
            "its brake; nothing was sent. Create the alarm, or fix the stack's StopAlarmName",
            rule=NOT_FOUND,
            details={"alarm": {"name": name}},
        ) from missing
    except ClientError as error:
        if is_throttling(error):
            raise throttled(error.operation_name, "reading the stop alarm") from error
        raise
    if state.firing:
        since = state.to_json()["since"] or "an unknown time"
        raise Refusal(
            409,
            f"the stop alarm {name} is in ALARM since {since} ({state.reason[:200] or 'no reason given'}); "
            "a clear now would send every cache miss to a database that is already suffering. "
            "Nothing was sent; clear again once the alarm is OK",
            rule=FIRING,
            details={"alarm": state.to_json()},
        )
    return state
