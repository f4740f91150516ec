"""Refusals: a request that was not sent to the fleet, for a reason the caller can act on. The
edge answers each kind with its HTTP status (apcu_dispatcher.api)."""

from __future__ import annotations

import dataclasses
from dataclasses import KW_ONLY, dataclass
from typing import Any

from apcu_clear.aws import is_throttling, is_transient
from apcu_clear.command import OutcomeUnknown

CLEAR_IN_PROGRESS = "clear-in-progress"
NOTHING_TO_RETRY = "nothing-to-retry"


@dataclass(eq=False)
class Refusal(Exception):
    """Nothing was sent; `message` says why and what to do, `rule` is the stable name a caller
    matches on, `field` the part of the request it is about, `details` more of the answer."""

    message: str
    _: KW_ONLY
    rule: str
    field: str | None = None
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)


class InvalidRequest(Refusal):
    """The request breaks a rule of its shape or values."""


class Unauthenticated(Refusal):
    """The request does not prove who sent it (a Slack request without a valid signature)."""


class Forbidden(Refusal):
    """The caller, or the group, is not one this stack serves."""


class NotFound(Refusal):
    """What the request names does not exist (a group, a clear)."""


class Conflict(Refusal):
    """Valid, but not now: a clear holds the group, the stop alarm fires, nothing to retry."""


class Unavailable(Refusal):
    """AWS could not answer in time; nothing was done and the same request may be sent again."""


def as_refusal(error: Exception) -> Refusal | None:
    """The refusal an error is (AWS failing in a way worth a retry is one); None for a fault."""
    if isinstance(error, Refusal):
        return error
    if isinstance(error, OutcomeUnknown):
        # The command may have run: the group stays claimed until it must have ended.
        why = f"{error}; the group stays claimed until that command must have ended"
        return Unavailable(why, rule="send-outcome-unknown")
    operation = getattr(error, "operation_name", "") or "an AWS call"
    if is_throttling(error):
        why = f"AWS throttled {operation}; nothing was sent, try again in a minute"
        return Unavailable(why, rule="aws-throttled")
    if is_transient(error):
        why = f"AWS did not answer {operation} ({type(error).__name__}); nothing was sent, try again in a minute"
        return Unavailable(why, rule="aws-unavailable")
    return None
