"""GET /flush/{commandId}: a clear's state as its record keeps it, and SSM's live view while it
runs."""

from __future__ import annotations

import re
from typing import Any

from apcu_clear import command, record
from apcu_clear.errors import InvalidRequest, NotFound
from apcu_dispatcher.runtime import Runtime

# What a verdict's answer lists of the instances it left stale; `count` says how many in all.
MAX_LISTED = 100
MAX_SHOWN_COMMANDS = 10
# SSM command ids are UUIDs (the ssm model fixes CommandId at 36 characters); so are the ids of
# retries asked on demand.
_CLEAR_ID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


def clear_id_of(value: str) -> str:
    if not _CLEAR_ID.fullmatch(value):
        raise InvalidRequest(
            "commandId must be a Run Command id: a UUID such as 5f0c4a1e-8d3b-4c2a-9e7f-1b6d2a9c3e48",
            field="commandId",
            rule="pattern",
        )
    return value


def unknown(clear_id: str) -> NotFound:
    return NotFound(
        f"no clear {clear_id} was sent by this stack (or its record has expired)",
        field="commandId",
        rule="unknown-command",
    )


def read_status(clear_id: str, rt: Runtime) -> dict[str, Any]:
    stored = record.read(rt.dynamodb, rt.table, clear_id)
    if stored is None or stored.clear is None:
        raise unknown(clear_id)
    clear = stored.clear
    body: dict[str, Any] = {
        "commandId": clear_id,
        "group": clear.group,
        "action": clear.action,
        "prefix": clear.prefix,
        "requestedAt": clear.requested_at,
        "expiresAt": clear.expires_at,
        "consoleUrl": command.console_url(rt.region, (stored.commands or [clear_id])[-1]),
        **({"retryOf": clear.retry_of} if clear.retry_of else {}),
    }
    if stored.commands:
        body["commands"] = {
            "count": len(stored.commands),
            "latest": list(stored.commands[-MAX_SHOWN_COMMANDS:]),
        }
    if stored.state == record.JUDGED:
        stale = stored.verdict.get("stale") or {}
        listed = {
            "count": stale.get("count", 0),
            "instances": list(stale.get("instances", []))[:MAX_LISTED],
        }
        return {**body, "state": "judged", "verdict": {**stored.verdict, "stale": listed}}
    if stored.state == record.FAILED:
        return {**body, "state": "failed", "failure": stored.failure}
    # A retry asked on demand has no command of its own until its execution sends one.
    live = stored.commands[-1] if stored.commands else ("" if clear.retry_of else clear_id)
    body["state"] = "running"
    if live:
        body["ssm"] = {"commandId": live, **command.live(rt.ssm, live).to_json()}
    return body
