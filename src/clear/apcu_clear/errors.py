"""Refusals: a request that was not sent to the fleet, for a reason the caller can act on.

Each kind says what happened, not how a transport answers it; the dispatcher's edge maps each
kind to its HTTP status in one place (apcu_dispatcher.api). `rule` is the stable name a caller
or a test matches on, `field` the part of the request it is about, `details` further members
of the answer (the command that holds the group, the alarm's state).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class Refusal(Exception):
    """Nothing was sent; `message` says why and what to do."""

    def __init__(
        self,
        message: str,
        *,
        rule: str,
        field: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule
        self.field = field
        self.details = dict(details or {})


class InvalidRequest(Refusal):
    """The request breaks a rule of its shape or values."""


class Unauthenticated(Refusal):
    """The request does not prove who sent it (a Slack request without a valid signature)."""


class Forbidden(Refusal):
    """The caller, or the group, is not one this stack serves."""


class NotFound(Refusal):
    """What the request names does not exist (a group, a clear)."""


class Conflict(Refusal):
    """The request is valid but cannot run now: a clear holds the group, the stop alarm
    fires, nothing is left to retry."""


class Unavailable(Refusal):
    """AWS could not answer in time (throttled, or too many commands to look through); nothing
    was done and the same request may be sent again."""


CLEAR_IN_PROGRESS = "clear-in-progress"
NOTHING_TO_RETRY = "nothing-to-retry"
AWS_THROTTLED = "aws-throttled"
AWS_UNAVAILABLE = "aws-unavailable"
