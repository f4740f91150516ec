"""GET /flush/{commandId} as the interface contract states it, answered from SSM and a verdict
table, in front of the real dispatcher's POST /flush.

Stands in for the dispatcher's status route in these tests; the answers follow CONTRACTS C3:
200 running (with SSM's live counts) or judged (with the verdict), 404 for a command this
stack never sent, 400 for an id that is not an SSM command id.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from local.embedded_aws import EmbeddedAws

_COMMAND_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
Invoke = Callable[[dict[str, Any]], dict[str, Any]]


class StatusRoute:
    def __init__(self, aws: EmbeddedAws, post: Invoke) -> None:
        self._aws = aws
        self._post = post
        self.verdicts: dict[str, dict[str, Any]] = {}

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        if event["routeKey"] != "GET /flush/{commandId}":
            return self._post(event)
        command_id = event["pathParameters"]["commandId"]
        if not _COMMAND_ID.match(command_id):
            return _answer(400, _error(400, "commandId must be an SSM command id (a UUID)"))
        commands = [
            c
            for c in self._aws.client("ssm").list_commands()["Commands"]
            if c["CommandId"] == command_id
        ]
        if not commands:
            return _answer(404, _error(404, f"no command {command_id} was sent by this stack"))
        command = commands[0]
        body: dict[str, Any] = {
            "commandId": command_id,
            "group": command["Targets"][0]["Values"][0],
            "prefix": command["Parameters"]["prefix"][0],
            "requestedAt": command["RequestedDateTime"].strftime("%Y-%m-%dT%H:%M:%SZ"),
            "expiresAt": command["ExpiresAfter"].strftime("%Y-%m-%dT%H:%M:%SZ"),
            "consoleUrl": f"https://console.example/run-command/{command_id}",
        }
        if command_id in self.verdicts:
            body.update(state="judged", verdict=self.verdicts[command_id])
        else:
            body.update(
                state="running",
                ssm={
                    "status": command["Status"],
                    "statusDetails": command["StatusDetails"],
                    "targeted": command["TargetCount"],
                    "completed": command["CompletedCount"],
                    "errors": command["ErrorCount"],
                },
            )
        return _answer(200, body)


def _error(status: int, message: str) -> dict[str, Any]:
    return {"error": {"status": status, "message": message}}


def _answer(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "ok": True,
        "result": {
            "statusCode": status,
            "headers": {"content-type": "application/json"},
            "body": json.dumps(body),
        },
    }
