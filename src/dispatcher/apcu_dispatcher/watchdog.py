"""After SendCommand: the command's record and its watchdog, one EventBridge Scheduler schedule
that invokes the notifier once the command must have ended, so that a lost SSM notification
cannot mean silence.

SSM ends a command by its expiry: the last instance must pick it up within the delivery
timeout (SendCommand TimeoutSeconds), then runs at most the document's execution timeout
(aws:runShellScript timeoutSeconds). The schedule fires a minute after that.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from apcu_clear import schedule, store
from apcu_clear.item import CommandRecord, iso, parse_iso
from apcu_clear.schedule import ScheduleSettings
from apcu_dispatcher.config import Config
from apcu_dispatcher.validation import FlushRequest

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_scheduler import EventBridgeSchedulerClient
    from mypy_boto3_scheduler.type_defs import CreateScheduleInputTypeDef

GRACE = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class NotArmed:
    """What could not be written; the command runs anyway and SNS can still bring its verdict."""

    failures: tuple[tuple[str, str], ...]  # (what: "record" | "schedule", error)

    @property
    def steps(self) -> str:
        return " and ".join(what for what, _ in self.failures)

    @property
    def errors(self) -> str:
        return "; ".join(f"{what}: {error}" for what, error in self.failures)


def expiry(requested: dt.datetime, config: Config) -> dt.datetime:
    return requested + config.command_lifetime


def build_record(
    command_id: str,
    request: FlushRequest,
    requested: dt.datetime,
    config: Config,
    clear_claim: str = "",
    *,
    retry_of: str = "",
) -> CommandRecord:
    return CommandRecord(
        command_id=command_id,
        group=request.group,
        prefix=request.prefix or "",
        action=request.action,
        requester=request.requester,
        comment=request.comment or "",
        origin=request.origin,
        requested_at=iso(requested),
        expires_at=iso(expiry(requested, config)),
        lifecycle=request.hold,
        clear_claim=clear_claim,
        retry_of=retry_of,
    )


def build_schedule(record: CommandRecord, config: Config) -> CreateScheduleInputTypeDef:
    settings = config.watchdog
    return schedule.build_schedule(
        record.command_id,
        parse_iso(record.expires_at) + GRACE,
        ScheduleSettings(
            group=settings.group,
            role_arn=settings.role_arn,
            target_arn=settings.target_arn,
            dead_letter_arn=settings.dead_letter_arn,
        ),
        description=f"Judge Run Command {record.command_id} if SSM's notification is lost",
    )


def arm(
    command_id: str,
    request: FlushRequest,
    requested: dt.datetime,
    config: Config,
    *,
    dynamodb: DynamoDBClient,
    scheduler: EventBridgeSchedulerClient,
    clear_claim: str = "",
    retry_of: str = "",
) -> NotArmed | None:
    """Write the record and the schedule; say what failed instead of raising.

    Each is tried even when the other failed: a schedule without a record still brings a
    verdict (the notifier judges a command it has no record of), and a record without a
    schedule still lets a caller read the verdict SNS brings. `clear_claim` names the claim the
    notifier ends with the verdict.
    """
    record = build_record(command_id, request, requested, config, clear_claim, retry_of=retry_of)
    failures: list[tuple[str, str]] = []
    # Any error, not only AWS's: the command already runs, and a raised error would tell the
    # caller to send it again.
    try:
        # Safe to repeat, and safe after the notifier's own write: it fills missing fields only.
        store.put_sent(dynamodb, config.watchdog.commands_table, record)
    except Exception as error:
        failures.append(("record", _describe(error)))
    try:
        scheduler.create_schedule(**build_schedule(record, config))
    except Exception as error:
        # A retried CreateSchedule that had already succeeded answers ConflictException.
        if _code(error) != "ConflictException":
            failures.append(("schedule", _describe(error)))
    return NotArmed(tuple(failures)) if failures else None


def _code(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def _describe(error: Exception) -> str:
    code = _code(error)
    return f"{type(error).__name__}: {code}" if code else type(error).__name__
