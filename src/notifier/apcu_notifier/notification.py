"""What the notifier is invoked with: SSM's notifications (an SNS event), or a clear's start. An
event that is neither fails (InvalidEvent, to the dead-letter queue); an SNS record that cannot be
read is posted as an alert, since retrying would not make it readable."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from apcu_clear.command import FINAL_STATUSES

# CommandStatus and the invocation-only Delayed (docs/facts.md, botocore ssm model).
STATUSES = frozenset({*FINAL_STATUSES, "Pending", "InProgress", "Delayed", "Cancelling"})
# CommandId is a UUID (the ssm model: 36 characters); anything else would fail ListCommands.
_COMMAND_ID = re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")
EXCERPT_CHARS = 500


class InvalidEvent(ValueError):
    """The event is neither SSM's notifications nor the start of a clear."""


# Why a record could not be read; the value is the English text used in logs.
class UnreadableReason(StrEnum):
    NO_ENVELOPE = "the record has no SNS envelope"
    NO_MESSAGE = "the SNS record has no Message text"
    NOT_JSON = "the Message is not JSON"
    NOT_OBJECT = "the Message is not a JSON object"
    NO_COMMAND_ID = "the Message has no commandId"
    BAD_COMMAND_ID = "the commandId is not a Run Command id"
    UNKNOWN_STATUS = "the Message has an unknown status"


@dataclass(frozen=True)
class CommandNotification:
    command_id: str
    status: str
    # Type Invocation (docs/facts.md): one instance's status, of no use to the verdict.
    invocation: bool = False

    @property
    def is_final(self) -> bool:
        return not self.invocation and self.status in FINAL_STATUSES


@dataclass(frozen=True)
class UnreadableNotification:
    reason: UnreadableReason
    excerpt: str


def clear_start(clear_id: str) -> dict[str, str]:
    """The one payload every starter sends: the execution's name (the id) makes it idempotent."""
    return {"commandId": clear_id}


def is_clear_start(event: object) -> bool:
    return isinstance(event, dict) and set(event) == {"commandId"}


def parse_clear_start(event: dict[str, Any]) -> str:
    clear_id = event.get("commandId")
    if not isinstance(clear_id, str) or not _COMMAND_ID.fullmatch(clear_id):
        raise InvalidEvent(
            f"a clear's start names its id as commandId, a UUID; got {_excerpt(clear_id)!r}"
        )
    return clear_id


def parse_notifications(
    event: dict[str, Any],
) -> list[CommandNotification | UnreadableNotification]:
    """Every record of an SNS event, in order, typed or marked unreadable. Plain dicts: Powertools'
    SNSEvent loads every event class of its package (about 12 ms of each cold start, make bench)."""
    records = event.get("Records")
    if not isinstance(records, list) or not records:
        raise InvalidEvent("the event has no Records: it is not an SNS notification")
    return [_parse_record(record) for record in records]


def _parse_record(record: object) -> CommandNotification | UnreadableNotification:
    if not isinstance(record, dict) or not isinstance(record.get("Sns"), dict):
        return UnreadableNotification(UnreadableReason.NO_ENVELOPE, _excerpt(record))
    raw = record["Sns"].get("Message")
    if not isinstance(raw, str):
        return UnreadableNotification(UnreadableReason.NO_MESSAGE, _excerpt(record["Sns"]))
    try:
        message: Any = json.loads(raw)
    except (ValueError, RecursionError):
        return UnreadableNotification(UnreadableReason.NOT_JSON, _excerpt(raw))
    if not isinstance(message, dict):
        return UnreadableNotification(UnreadableReason.NOT_OBJECT, _excerpt(raw))
    command_id, status = message.get("commandId"), message.get("status")
    if not isinstance(command_id, str) or not command_id:
        reason = UnreadableReason.NO_COMMAND_ID
    elif not _COMMAND_ID.fullmatch(command_id):
        reason = UnreadableReason.BAD_COMMAND_ID
    elif "instanceId" in message:
        status = status if isinstance(status, str) else ""
        return CommandNotification(command_id, status, invocation=True)
    elif isinstance(status, str) and status in STATUSES:
        return CommandNotification(command_id, status)
    else:
        reason = UnreadableReason.UNKNOWN_STATUS
    return UnreadableNotification(reason, _excerpt(raw))


def _excerpt(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=repr)
    return text[:EXCERPT_CHARS]
