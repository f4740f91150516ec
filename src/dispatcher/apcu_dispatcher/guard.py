"""A command of the stack's document still running on a target without the target's claim: one
sent outside the dispatcher (from the Run Command console), which no claim knows. A clear of that
target is refused (409) until it ends."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from apcu_clear import command, record
from apcu_clear.command import GROUP_TAG
from apcu_clear.errors import CLEAR_IN_PROGRESS, Conflict, Unavailable
from apcu_dispatcher.runtime import Runtime

# ListCommands: commands of the document requested within a command's lifetime, 50 a page.
_GUARD_PAGES = 10
_RUNNING = frozenset({"Pending", "InProgress", "Cancelling"})


def refuse_if_running(rt: Runtime, what: str, holds: Callable[[Mapping[str, Any]], bool]) -> None:
    """409 when a command of the stack's document still runs on the target without a claim:
    one sent outside the dispatcher (the Run Command console), which the claim cannot know.
    The claim, not this look, is what makes one clear per target atomic: ListCommands is
    eventually consistent."""
    settings = rt.config.shared.commands
    since = rt.now() - settings.lifetime
    filters: Any = [
        {"key": "DocumentName", "value": settings.document_name},
        {"key": "InvokedAfter", "value": record.iso(since)},
    ]
    token = ""
    for _ in range(_GUARD_PAGES):
        page = rt.ssm.list_commands(
            Filters=filters, MaxResults=50, **({"NextToken": token} if token else {})
        )
        for found in page.get("Commands", []):
            if found.get("Status") in _RUNNING and holds(found):
                raise _running(what, found, rt.region)
        token = page.get("NextToken", "")
        if not token:
            return
    raise Unavailable(
        f"more than {_GUARD_PAGES * 50} commands of {settings.document_name} are running; cannot tell "
        "whether one is clearing this target, so nothing was sent",
        rule="too-many-running",
    )


def _running(what: str, found: Mapping[str, Any], region: str) -> Conflict:
    command_id = str(found.get("CommandId", ""))
    requested = found.get("RequestedDateTime")
    at = (
        record.iso(requested if requested.tzinfo else requested.replace(tzinfo=dt.UTC))
        if isinstance(requested, dt.datetime)
        else None
    )
    return Conflict(
        f"a clear of {what} is still running (command {command_id}, requested {at or 'at an unknown time'}); "
        "wait for its verdict, nothing was sent",
        rule=CLEAR_IN_PROGRESS,
        details={
            "runningCommand": {
                "commandId": command_id,
                "requestedAt": at,
                "consoleUrl": command.console_url(region, command_id),
            }
        },
    )


def targets_group(found: Mapping[str, Any], group: str) -> bool:
    return any(
        t.get("Key") == GROUP_TAG and group in t.get("Values", []) for t in found.get("Targets", [])
    )
