"""What the notifier is invoked with: SSM's notifications (an SNS event), or the start of a
clear ({"commandId": ...}, from the dispatcher or the relay).

Bad input policy: an event that is neither raises `InvalidEvent` (there is nothing to describe;
the execution fails and its event lands in the dead-letter queue). Inside an SNS event, a
record that cannot be read (no ``Sns`` envelope, a Message that is not JSON, no usable
``commandId``, an unknown ``status``) becomes an `UnreadableNotification`: the relay logs it and
posts an "unreadable notification" alert with an escaped excerpt, so it is never dropped in
silence, and retrying would not make it readable.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

# CommandStatus and the invocation-only Delayed (docs/facts.md, botocore ssm model).
FINAL_STATUSES = frozenset({"Success", "Failed", "TimedOut", "Cancelled"})
NON_FINAL_STATUSES = frozenset({"Pending", "InProgress", "Delayed", "Cancelling"})

# The ssm model fixes CommandId at exactly 36 characters; SSM issues UUIDs. Anything else
# would fail client-side validation in ListCommands, so it is caught here with a clear reason.
_COMMAND_ID = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)

EXCERPT_CHARS = 500


class InvalidEvent(ValueError):
    """The event is neither SSM's notifications nor the start of a clear."""


class UnreadableReason(StrEnum):
    """Why a record could not be read; the value is the English text used in logs."""

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
    document_name: str
    event_time: str
    message_id: str

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


@dataclass(frozen=True)
class InvocationNotification:
    """One instance's status; the verdict needs the whole command, so these post nothing."""

    command_id: str
    instance_id: str
    status: str


@dataclass(frozen=True)
class UnreadableNotification:
    reason: UnreadableReason
    excerpt: str
    message_id: str


@dataclass(frozen=True)
class ClearStart:
    """Run the clear of this id: the one payload every starter sends, so that the execution's
    name (the same id) makes the start idempotent."""

    clear_id: str

    def payload(self) -> dict[str, str]:
        return {"commandId": self.clear_id}


Notification = CommandNotification | InvocationNotification | UnreadableNotification


def is_clear_start(event: object) -> bool:
    return isinstance(event, dict) and set(event) == {"commandId"}


def parse_clear_start(event: dict[str, Any]) -> ClearStart:
    clear_id = event.get("commandId")
    if not isinstance(clear_id, str) or not _COMMAND_ID.fullmatch(clear_id):
        raise InvalidEvent(
            f"a clear's start names its id as commandId, a UUID; got {_excerpt(clear_id)!r}"
        )
    return ClearStart(clear_id)


def parse_notifications(event: object) -> list[Notification]:
    """Every record of an SNS event, in order, each typed or marked unreadable."""
    if not isinstance(event, dict):
        raise InvalidEvent(f"expected an SNS event (a JSON object), got {type(event).__name__}")
    records = event.get("Records")
    if not isinstance(records, list) or not records:
        raise InvalidEvent("the event has no Records: it is not an SNS notification")
    # The records are read as the plain dicts they are. Powertools' SNSEvent would add nothing
    # here, and importing it loads every event class of its package (about 12 ms of each cold
    # start, make bench).
    return [_parse_record(record) for record in records]


def _parse_record(record: object) -> Notification:
    if not isinstance(record, dict) or not isinstance(record.get("Sns"), dict):
        return UnreadableNotification(UnreadableReason.NO_ENVELOPE, _excerpt(record), "")
    sns = record["Sns"]
    message_id = sns.get("MessageId")
    message_id = message_id if isinstance(message_id, str) else ""
    raw = sns.get("Message")
    if not isinstance(raw, str):
        return UnreadableNotification(UnreadableReason.NO_MESSAGE, _excerpt(sns), message_id)
    try:
        message: Any = json.loads(raw)
    except (ValueError, RecursionError):
        return UnreadableNotification(UnreadableReason.NOT_JSON, _excerpt(raw), message_id)
    if not isinstance(message, dict):
        return UnreadableNotification(UnreadableReason.NOT_OBJECT, _excerpt(raw), message_id)
    return _parse_message(message, raw, message_id)


def _parse_message(message: dict[str, Any], raw: str, message_id: str) -> Notification:
    command_id = message.get("commandId")
    if not isinstance(command_id, str) or not command_id:
        return UnreadableNotification(UnreadableReason.NO_COMMAND_ID, _excerpt(raw), message_id)
    if not _COMMAND_ID.fullmatch(command_id):
        return UnreadableNotification(UnreadableReason.BAD_COMMAND_ID, _excerpt(raw), message_id)
    status = message.get("status")
    if "instanceId" in message:
        # Type Invocation (docs/facts.md): one instance's view, ignored whatever its status.
        instance_id = message.get("instanceId")
        return InvocationNotification(
            command_id=command_id,
            instance_id=instance_id if isinstance(instance_id, str) else "",
            status=status if isinstance(status, str) else "",
        )
    if not isinstance(status, str) or status not in FINAL_STATUSES | NON_FINAL_STATUSES:
        return UnreadableNotification(UnreadableReason.UNKNOWN_STATUS, _excerpt(raw), message_id)
    document = message.get("documentName")
    event_time = message.get("eventTime")
    return CommandNotification(
        command_id=command_id,
        status=status,
        document_name=document if isinstance(document, str) else "",
        event_time=event_time if isinstance(event_time, str) else "",
        message_id=message_id,
    )


def _excerpt(value: object) -> str:
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, default=repr)
        except (ValueError, TypeError, RecursionError):
            text = repr(value)[: EXCERPT_CHARS * 2]
    return text[:EXCERPT_CHARS]
