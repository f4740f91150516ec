"""A second look, after the claim (apcu_dispatcher.claims): a command of the project's document
still running for the same target, but holding no claim, refuses the next one with 409.

The claim is what makes one clear per target atomic; ListCommands is eventually consistent and
cannot. This check stays for the commands the claim does not know: those sent before clears
were claimed (for one command lifetime after an upgrade) and those sent with the stack's
document outside the dispatcher (the Run Command console, the CLI). It runs while the claim is
held, so a refusal here gives the claim back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from apcu_dispatcher.clients import is_throttling
from apcu_dispatcher.command import GROUP_TAG, console_url
from apcu_dispatcher.config import Config
from apcu_dispatcher.errors import Refusal, throttled

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_ssm.type_defs import CommandFilterTypeDef, CommandTypeDef

# ListCommands pages hold at most 50 commands (botocore SSM model). Only commands of one
# document requested within one command lifetime are listed, so one page is the rule; past
# this bound the answer is "cannot tell", and nothing is sent.
PAGE_SIZE = 50
MAX_PAGES = 10
# Statuses of a command that has not ended (CommandStatus in botocore's SSM model). Cancelling
# counts: its invocations may still be running.
RUNNING_STATUSES = frozenset({"Pending", "InProgress", "Cancelling"})
RULE = "clear-in-progress"


def refuse_if_group_busy(group: str, config: Config, ssm: SSMClient) -> None:
    """409 when a command of the document is still running on the group's tag target.

    A command sent to single instances (a warm-pool exit) does not hold the group: it clears
    one new server, not the fleet.
    """
    _refuse_if_any(lambda command: targets_group(command, group), f"group {group}", config, ssm)


def refuse_if_instance_busy(instance_id: str, config: Config, ssm: SSMClient) -> None:
    """409 when a command of the document sent to this very instance is still running.

    EventBridge may deliver an event more than once; the second delivery finds the first
    clear running. A running clear of the whole group does not count: its tag target was
    resolved when it was sent, so an instance that left the warm pool later may not be in it.
    """
    _refuse_if_any(
        lambda command: list(command.get("InstanceIds", [])) == [instance_id],
        f"instance {instance_id}",
        config,
        ssm,
    )


def targets_group(command: Mapping[str, Any], group: str) -> bool:
    return any(
        target.get("Key") == GROUP_TAG and group in target.get("Values", [])
        for target in command.get("Targets", [])
    )


def running_commands(
    config: Config, ssm: SSMClient, now: dt.datetime | None = None
) -> Iterator[CommandTypeDef]:
    """Commands of the project's document requested within one command lifetime and not ended."""
    since = (now or dt.datetime.now(dt.UTC)) - config.command_lifetime
    filters: list[CommandFilterTypeDef] = [
        {"key": "DocumentName", "value": config.document_name},
        # The timestamp form CommandFilter's documentation gives (2024-07-07T00:00:00Z).
        {"key": "InvokedAfter", "value": since.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")},
        # No ExecutionStage filter: which statuses "Executing" covers (Pending? Cancelling?) is
        # not documented, so every command of the window is listed and its status read here.
    ]
    token: str | None = None
    for _ in range(MAX_PAGES):
        page = (
            ssm.list_commands(Filters=filters, MaxResults=PAGE_SIZE, NextToken=token)
            if token
            else ssm.list_commands(Filters=filters, MaxResults=PAGE_SIZE)
        )
        yield from (c for c in page.get("Commands", []) if c.get("Status") in RUNNING_STATUSES)
        token = page.get("NextToken")
        if not token:
            return
    raise Refusal(
        503,
        f"more than {MAX_PAGES * PAGE_SIZE} commands of {config.document_name} are running; "
        "cannot tell whether one is clearing this target, so nothing was sent",
        rule="too-many-running",
    )


def _refuse_if_any(
    holds: Callable[[CommandTypeDef], bool], what: str, config: Config, ssm: SSMClient
) -> None:
    try:
        running = next((c for c in running_commands(config, ssm) if holds(c)), None)
    except ClientError as error:
        if is_throttling(error):
            raise throttled(error.operation_name, "looking for a clear already running") from error
        raise
    if running is None:
        return
    command_id = running.get("CommandId", "")
    requested = running.get("RequestedDateTime")
    requested_at = _iso(requested) if isinstance(requested, dt.datetime) else None
    raise Refusal(
        409,
        f"a clear of {what} is still running (command {command_id}, requested "
        f"{requested_at or 'at an unknown time'}); wait for its verdict, nothing was sent",
        rule=RULE,
        details={
            "runningCommand": {
                "commandId": command_id,
                "requestedAt": requested_at,
                "consoleUrl": console_url(config.region, command_id),
            }
        },
    )


def _iso(moment: dt.datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
