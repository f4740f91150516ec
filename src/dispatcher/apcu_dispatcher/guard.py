"""What a clear is checked against before it is sent: its target's claim, a command of the
stack's document sent by hand, the stop alarm, and what the clear will reach."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from apcu_clear import alarm, claim, command, record
from apcu_clear.agents import NOT_REGISTERED, ONLINE, ping_statuses
from apcu_clear.observability import count, logger
from apcu_dispatcher.refusals import CLEAR_IN_PROGRESS, Conflict, NotFound, Unavailable
from apcu_dispatcher.runtime import Runtime

# The claim lasts to the clear's last possible end: its commands' lifetime and this margin.
MARGIN = dt.timedelta(minutes=5)
_RUNNING = frozenset({"Pending", "InProgress", "Cancelling"})


@contextmanager
def claimed(rt: Runtime, key: str, what: str) -> Iterator[claim.Taken]:
    """Hold `key`'s claim while what it guards runs; given back if that fails, unless a command
    may have been sent (OutcomeUnknown): then it stays until the command must have ended."""
    now = rt.now()
    until = now + rt.config.shared.commands.lifetime + MARGIN
    taken = claim.take(rt.dynamodb, rt.table, key, now=now, until=until)
    if isinstance(taken, claim.Held):
        raise in_progress(what, taken.holder, taken.requested_at, rt.region)
    try:
        yield taken
    except command.OutcomeUnknown:
        raise
    except Exception:
        try:
            claim.give_back(rt.dynamodb, rt.table, taken)
        except Exception:
            logged = {"claim": key}
            logger.exception("could not give the claim back; it expires on its own", extra=logged)
            count("ClaimReleaseFailed")
        raise


def in_progress(what: str, holder: str, requested_at: str | None, region: str) -> Conflict:
    """A clear holds the target: which ("" while it is still being sent), and where to watch it."""
    at = requested_at or "at an unknown time"
    running = f"command {holder}, requested {at}" if holder else f"claimed {at}, still being sent"
    why = f"a clear of {what} is still running ({running}); wait for its verdict, nothing was sent"
    url = command.console_url(region, holder) if holder else None
    watch = {"commandId": holder or None, "requestedAt": requested_at or None, "consoleUrl": url}
    return Conflict(why, rule=CLEAR_IN_PROGRESS, details={"runningCommand": watch})


def refuse_if_running(rt: Runtime, what: str, holds: Callable[[Mapping[str, Any]], bool]) -> None:
    """Refused while a command of the stack's document sent by hand runs on the target."""
    settings = rt.config.shared.commands
    pages = command.listed_since(rt.ssm, settings.document_name, rt.now() - settings.lifetime)
    for found in pages.search("Commands[]"):
        if found["Status"] in _RUNNING and holds(found):
            at = record.iso(found["RequestedDateTime"])
            raise in_progress(what, found["CommandId"], at, rt.region)
    if pages.resume_token:
        why = f"more than {command.LOOKUP_COMMANDS} commands of {settings.document_name} are running; cannot tell whether one is clearing this target, so nothing was sent"
        raise Unavailable(why, rule="too-many-running")


def targets_group(found: Mapping[str, Any], group: str) -> bool:
    return any(
        t.get("Key") == command.GROUP_TAG and group in t.get("Values", [])
        for t in found.get("Targets", [])
    )


def alarm_allows(rt: Runtime) -> alarm.AlarmState | None:
    """The stop alarm's state; refused when it fires, or does not exist (SSM would stop it too)."""
    name = rt.config.shared.commands.stop_alarm_name
    if not name:
        return None
    try:
        state = alarm.read_alarm(rt.cloudwatch, name)
    except alarm.AlarmNotFound:
        why = f"the stop alarm {name} does not exist in CloudWatch, so no clear can run under its brake; nothing was sent. Create the alarm, or fix the stack's StopAlarmName"
        raise Conflict(why, rule="alarm-not-found", details={"alarm": {"name": name}}) from None
    if state.firing:
        since = state.to_json()["since"] or "an unknown time"
        why = f"the stop alarm {name} is in ALARM since {since} ({state.reason[:200] or 'no reason given'}); a clear now would send every cache miss to a database that is already suffering. Nothing was sent; clear again once the alarm is OK"
        raise Conflict(why, rule="alarm-firing", details={"alarm": state.to_json()})
    return state


def plan_flush(group: str, rt: Runtime) -> dict[str, Any]:
    """What a clear of this group will reach, with warnings for what SSM cannot reach now."""
    groups = rt.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])
    if not groups["AutoScalingGroups"]:
        raise NotFound(f"Auto Scaling group {group} does not exist", field="group", rule="exists")
    found = groups["AutoScalingGroups"][0]
    states = [(i["InstanceId"], i["LifecycleState"]) for i in found.get("Instances", [])]
    in_service = tuple(sorted(i for i, state in states if state == "InService"))
    pending = sum(1 for _, state in states if state.startswith("Pending"))
    terminating = sum(1 for _, state in states if state.startswith("Terminating"))
    desired = found["DesiredCapacity"]
    if not in_service:
        why = f"Auto Scaling group {group} has no InService instance (desired {desired}, pending {pending}, terminating {terminating}); nothing to clear"
        raise Conflict(why, field="group", rule="in-service")
    ping = ping_statuses(rt.ssm, in_service)
    warnings = []
    # Pending instances count toward DesiredCapacity but are not InService yet (docs/facts.md);
    # one launched later starts with an empty cache anyway.
    if desired != len(in_service) or pending or terminating:
        scaling = f"desired {desired}, InService {len(in_service)}, pending {pending}, terminating {terminating}"
        warnings.append({"reason": "scaling", "message": f"the group is scaling: {scaling}"})
    for instance_id, status in ping.items():
        if status == ONLINE:
            continue
        if status == NOT_REGISTERED:
            reason = "not-managed"
            but = "not a managed node (no SSM agent registered); it will not be cleared"
        else:
            reason = "not-online"
            but = f"its SSM agent is {status}; its invocation will likely end DeliveryTimedOut"
        message = f"{instance_id} is InService but {but}"
        warnings.append({"reason": reason, "message": message, "instanceId": instance_id})
    return {
        "group": group,
        "desiredCapacity": desired,
        "inService": list(in_service),
        "pending": pending,
        "terminating": terminating,
        "managedOnline": sum(1 for i in in_service if ping.get(i) == ONLINE),
        "warnings": warnings,
    }
