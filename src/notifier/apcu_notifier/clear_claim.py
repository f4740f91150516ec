"""End the claim a clear holds on its target (apcu_clear.claim) once the clear is over: when
SSM says the command ended, and again when its verdict is recorded.

Ending is conditional on the claim naming this very command, so a late notification of an old
command never frees the claim of a newer clear. It never raises: the verdict matters more, and
a claim not ended expires on its own at the command's expiry plus a margin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.metrics import MetricUnit

from apcu_notifier.observability import logger, metrics

if TYPE_CHECKING:
    from apcu_clear.item import CommandRecord
    from apcu_notifier.idempotency import Ledger


def end_clear_claim(
    ledger: Ledger, command_id: str, record: CommandRecord | None, *, read_again: bool
) -> bool:
    """True once there is nothing left to end (ended now, held by another command, or no claim
    at all); False when ending failed or must wait, so that a later step tries again.

    `record`: the command's record as the verdict's claim found it. None when the dispatcher's
    write had not landed yet (SNS can be faster); then, with `read_again`, it is read again.
    """
    try:
        if record is None:
            if not read_again:
                return False
            record = ledger.read(command_id)
        if record is None or not record.clear_claim:
            return True  # sent outside the stack, or before clears were claimed
        ended = ledger.end_clear(record.clear_claim, command_id)
    except Exception as error:
        logger.warning(
            "could not end the clear's claim; it expires on its own",
            extra={"error_type": type(error).__name__},
        )
        metrics.add_metric(name="ClaimReleaseFailed", unit=MetricUnit.Count, value=1)
        return False
    if ended:
        logger.info("clear's claim ended", extra={"claim": record.clear_claim})
    return True
