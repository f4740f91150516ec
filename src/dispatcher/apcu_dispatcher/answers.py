"""The bodies the dispatcher answers with, the same for the API, a console event and Slack."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apcu_clear.alarm import AlarmState
from apcu_clear.command import console_url
from apcu_clear.errors import Refusal
from apcu_dispatcher.preflight import Plan, PlanWarning


def accepted(
    command_id: str,
    plan: Plan,
    *,
    action: str,
    prefix: str | None,
    region: str,
    alarm: AlarmState | None,
    warnings: list[dict[str, Any]],
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "commandId": command_id,
        "group": plan.group,
        "action": action,
        "prefix": prefix,
        "expect": {
            "desiredCapacity": plan.desired_capacity,
            "inService": len(plan.in_service),
            "managedOnline": plan.managed_online,
        },
        "warnings": [warning(w) for w in plan.warnings] + warnings,
        "consoleUrl": console_url(region, command_id),
    }
    if alarm is not None:
        body["stopAlarm"] = alarm.to_json()
    return body


def dry_run(
    plan: Plan, would_send: Mapping[str, object], alarm: AlarmState | None
) -> dict[str, Any]:
    body: dict[str, Any] = {"dryRun": True, "plan": plan_body(plan), "wouldSend": dict(would_send)}
    if alarm is not None:
        # The brake the command would carry, and whether it would hold the clear now.
        body["stopAlarm"] = alarm.to_json()
    return body


def plan_body(plan: Plan) -> dict[str, Any]:
    return {
        "group": plan.group,
        "desiredCapacity": plan.desired_capacity,
        "inService": list(plan.in_service),
        "pending": plan.pending,
        "terminating": plan.terminating,
        "managedOnline": plan.managed_online,
        "warnings": [warning(w) for w in plan.warnings],
    }


def warning(w: PlanWarning) -> dict[str, Any]:
    body: dict[str, Any] = {"reason": w.reason, "message": w.message}
    if w.instance_id is not None:
        body["instanceId"] = w.instance_id
    return body


def not_started() -> dict[str, Any]:
    """The command was sent, but its clear's execution could not be started now."""
    return {
        "reason": "clear-not-started",
        "message": (
            "the command was sent, but its clear could not be started now; SSM's notification "
            "will start it. Do not send it again."
        ),
    }


def not_recorded() -> dict[str, Any]:
    """The command was sent, but the clear could not be recorded."""
    return {
        "reason": "clear-not-recorded",
        "message": (
            "the command was sent, but the clear could not be recorded: its verdict will be "
            "posted, but not retried, and GET /flush/{commandId} will not know it. Do not send "
            "it again."
        ),
    }


def refused(refusal: Refusal, status: int) -> dict[str, Any]:
    error: dict[str, Any] = {"status": status}
    if refusal.field is not None:
        error["field"] = refusal.field
    error["rule"] = refusal.rule
    error["message"] = refusal.message
    error.update(refusal.details)
    return {"error": error}
