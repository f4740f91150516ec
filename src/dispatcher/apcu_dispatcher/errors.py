"""Refusals: a request the dispatcher answers with an error status instead of a command."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class Refusal(Exception):
    """The request was not sent to the fleet, for a reason the caller can act on."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        field: str | None = None,
        rule: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.rule = rule
        # Further members of the error body, after the message (e.g. the running command).
        self.details = dict(details or {})


def throttled(
    operation: str, doing: str, then: str = "nothing was sent, try again in a minute"
) -> Refusal:
    """AWS throttled a call past botocore's retries: a 503 the caller may retry, since the
    throttled call did nothing."""
    return Refusal(503, f"AWS throttled {operation} while {doing}; {then}", rule="aws-throttled")
