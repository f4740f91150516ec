"""GET /flush/{commandId}: what became of a command this stack sent, from its record, and from
SSM's live status while no verdict is recorded yet."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from apcu_clear import converge, store
from apcu_clear.converge import ClearProgress
from apcu_clear.item import JUDGED, CommandRecord
from apcu_dispatcher.clients import Clients, is_throttling
from apcu_dispatcher.command import console_url
from apcu_dispatcher.config import Config
from apcu_dispatcher.errors import Refusal, throttled
from apcu_dispatcher.responses import Answer

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

STATUS_ROUTE = "GET /flush/{commandId}"
MAX_SHOWN_RETRIES = 10
# SSM command ids are UUIDs: the ssm model fixes CommandId at 36 characters.
_COMMAND_ID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


def command_id_of(event: dict[str, Any]) -> str:
    parameters = event.get("pathParameters")
    value = parameters.get("commandId") if isinstance(parameters, dict) else None
    if not isinstance(value, str) or not _COMMAND_ID.fullmatch(value):
        raise Refusal(
            400,
            "commandId must be a Run Command id: a UUID such as "
            "5f0c4a1e-8d3b-4c2a-9e7f-1b6d2a9c3e48",
            field="commandId",
            rule="pattern",
        )
    return value


def read_status(command_id: str, config: Config, clients: Clients) -> Answer:
    try:
        record = store.read(clients.dynamodb, config.watchdog.commands_table, command_id)
    except ClientError as error:
        if is_throttling(error):
            raise throttled(
                error.operation_name, "reading the command", "try again shortly"
            ) from error
        raise
    if record is None:
        raise Refusal(
            404,
            f"no clear {command_id} was sent by this stack (or its record has expired)",
            field="commandId",
            rule="unknown-command",
        )
    body = _common(record, config.region)
    live = command_id
    if record.state == JUDGED and record.verdict is not None:
        # A clear's first command: its own verdict may be only its first attempt's, while the
        # notifier's automatic retry runs (apcu_clear.converge).
        progress = _progress(record, config, clients)
        if progress.attempts:
            body["attempts"] = [
                {"commandId": a.command_id, "round": a.round, "stale": len(a.outcomes)}
                for a in progress.attempts[-MAX_SHOWN_RETRIES:]
            ]
        if not progress.retrying:
            body["state"] = "judged"
            verdict = progress.verdict or record.verdict
            body["verdict"] = verdict.to_json()
            return Answer(200, body)
        live = record.retries[-1] if record.retries else command_id
        body["attempt"] = {
            "commandId": live,
            "round": progress.round,
            "consoleUrl": console_url(config.region, live),
        }
    body["state"] = "running"
    try:
        body["ssm"] = live_status(live, clients.ssm)
    except ClientError as error:
        if is_throttling(error):
            raise throttled(
                error.operation_name, "reading the command", "try again shortly"
            ) from error
        raise
    return Answer(200, body)


def _progress(record: CommandRecord, config: Config, clients: Clients) -> ClearProgress:
    if record.retry_of:
        return ClearProgress()
    try:
        return converge.read(clients.dynamodb, config.watchdog.commands_table, record.command_id)
    except ClientError as error:
        if is_throttling(error):
            raise throttled(
                error.operation_name, "reading the clear", "try again shortly"
            ) from error
        raise


def live_status(command_id: str, ssm: SSMClient) -> dict[str, Any]:
    """One ListCommands call: SSM's own view of the command while it runs."""
    try:
        commands = ssm.list_commands(CommandId=command_id).get("Commands", [])
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "InvalidCommandId":
            raise
        commands = []
    if not commands:
        return {
            "status": "Unknown",
            "statusDetails": "SSM no longer knows this command",
            "targeted": 0,
            "completed": 0,
            "errors": 0,
        }
    command = commands[0]
    return {
        "status": command.get("Status", ""),
        "statusDetails": command.get("StatusDetails", ""),
        "targeted": command.get("TargetCount", 0),
        "completed": command.get("CompletedCount", 0),
        "errors": command.get("ErrorCount", 0),
    }


def _common(record: CommandRecord, region: str) -> dict[str, Any]:
    return {
        "commandId": record.command_id,
        "group": record.group,
        "action": record.action,
        "prefix": record.prefix,
        "requestedAt": record.requested_at,
        "expiresAt": record.expires_at,
        "consoleUrl": console_url(region, record.command_id),
        # A retry names its clear; a clear its latest retries (the list only grows, so the
        # answer shows the last few and how many there are).
        **({"retryOf": record.retry_of} if record.retry_of else {}),
        **(
            {
                "retries": {
                    "count": len(record.retries),
                    "latest": list(record.retries[-MAX_SHOWN_RETRIES:]),
                }
            }
            if record.retries
            else {}
        ),
    }
