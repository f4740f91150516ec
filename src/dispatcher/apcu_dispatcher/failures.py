"""AWS failures a caller can answer by sending the same request again, as the refusals they
are: the API answers them (apcu_dispatcher.api), Slack's asynchronous work tells the presser
(apcu_dispatcher.slack)."""

from __future__ import annotations

from apcu_clear.aws import is_throttling, is_transient
from apcu_clear.command import OutcomeUnknown
from apcu_clear.errors import AWS_THROTTLED, AWS_UNAVAILABLE, Refusal, Unavailable


def as_refusal(error: Exception) -> Refusal | None:
    """A SendCommand that may have run keeps the group claimed until it must have ended;
    before SendCommand, nothing was sent. Any other error (None) is a fault of the function's."""
    if isinstance(error, OutcomeUnknown):
        return Unavailable(
            f"{error}; the group stays claimed until that command must have ended",
            rule="send-outcome-unknown",
        )
    operation = getattr(error, "operation_name", "") or "an AWS call"
    if is_throttling(error):
        return Unavailable(
            f"AWS throttled {operation}; nothing was sent, try again in a minute",
            rule=AWS_THROTTLED,
        )
    if is_transient(error):
        return Unavailable(
            f"AWS did not answer {operation} ({type(error).__name__}); nothing was sent, try again in a minute",
            rule=AWS_UNAVAILABLE,
        )
    return None
