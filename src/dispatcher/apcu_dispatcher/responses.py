"""The answers: one shape for the API (HTTP API payload 2.0) and for a direct invoke.

The API gets `body` as a JSON string, as API Gateway requires; a console or direct invoke gets
the same dict with `body` as an object, readable in the console.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from apcu_clear.alarm import AlarmState
from apcu_dispatcher.command import console_url
from apcu_dispatcher.errors import Refusal
from apcu_dispatcher.preflight import Plan, PlanWarning
from apcu_dispatcher.watchdog import NotArmed

_HEADERS = {"content-type": "application/json"}


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]

    def for_api(self) -> dict[str, Any]:
        return {
            "statusCode": self.status,
            "headers": dict(_HEADERS),
            "body": json.dumps(self.body, ensure_ascii=False),
        }

    def for_invoke(self) -> dict[str, Any]:
        return {"statusCode": self.status, "headers": dict(_HEADERS), "body": self.body}


def accepted(
    command_id: str,
    plan: Plan,
    prefix: str | None,
    region: str,
    extra_warnings: list[dict[str, Any]] | None = None,
    *,
    action: str,
    alarm: AlarmState | None = None,
) -> Answer:
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
        "warnings": [warning_body(w) for w in plan.warnings] + (extra_warnings or []),
        "consoleUrl": console_url(region, command_id),
    }
    if alarm is not None:
        body["stopAlarm"] = alarm.to_json()
    return Answer(202, body)


def dry_run(
    plan: Plan, would_send: Mapping[str, object], alarm: AlarmState | None = None
) -> Answer:
    body: dict[str, Any] = {"dryRun": True, "plan": plan_body(plan), "wouldSend": dict(would_send)}
    if alarm is not None:
        # The brake the command would carry, and whether it would hold the clear now.
        body["stopAlarm"] = alarm.to_json()
    return Answer(200, body)


def refused(refusal: Refusal) -> Answer:
    error: dict[str, Any] = {"status": refusal.status}
    if refusal.field is not None:
        error["field"] = refusal.field
    if refusal.rule is not None:
        error["rule"] = refusal.rule
    error["message"] = refusal.message
    error.update(refusal.details)
    return Answer(refusal.status, {"error": error})


def plan_body(plan: Plan) -> dict[str, Any]:
    return {
        "group": plan.group,
        "desiredCapacity": plan.desired_capacity,
        "inService": list(plan.in_service),
        "pending": plan.pending,
        "terminating": plan.terminating,
        "managedOnline": plan.managed_online,
        "warnings": [warning_body(w) for w in plan.warnings],
    }


def warning_body(warning: PlanWarning) -> dict[str, Any]:
    body: dict[str, Any] = {"reason": warning.reason, "message": warning.message}
    if warning.instance_id is not None:
        body["instanceId"] = warning.instance_id
    return body


def not_armed_warning(missed: NotArmed) -> dict[str, Any]:
    return {
        "reason": "watchdog-not-armed",
        "message": (
            f"the command was sent, but its {missed.steps} could not be written "
            f"({missed.errors}): if SSM's notification is lost, no verdict will follow. "
            "Do not send it again; watch Slack or the Run Command console."
        ),
    }
