"""After a held warm-pool clear's verdict: complete the launch lifecycle action, so the
instance enters service (CONTINUE) or is replaced (ABANDON, when WarmPoolUncleared says so and
the clear did not pass).

Best effort once the verdict is recorded: an action that can no longer be completed (its
HeartbeatTimeout ran out, or it was completed already) is logged and counted, and Auto Scaling
then applies the hook's DefaultResult, CONTINUE as docs/deploy.md sets it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError

from apcu_clear.item import CommandRecord
from apcu_clear.lifecycle import ABANDON, CONTINUE, complete, mark_cleared_before_service
from apcu_notifier.observability import logger, metrics
from apcu_notifier.verdict import Verdict

if TYPE_CHECKING:
    from apcu_notifier.runtime import Runtime

Result = Literal["CONTINUE", "ABANDON"]


def result_for(verdict: Verdict, uncleared: str) -> Result:
    """CONTINUE for a clear that passed; for one that did not, what WarmPoolUncleared says."""
    return ABANDON if verdict.is_alert and uncleared == "abandon" else CONTINUE


def complete_held(rt: Runtime, record: CommandRecord, verdict: Verdict, result: Result) -> bool:
    """Complete the action the record holds; True when Auto Scaling took it."""
    hold = record.lifecycle
    assert hold is not None
    where = {"instance_id": hold.instance_id, "hook": hold.hook_name, "result": result}
    try:
        complete(rt.autoscaling, record.group, hold, result)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code != "ValidationError":
            logger.exception("could not complete the lifecycle action", extra=where)
            metrics.add_metric(name="LifecycleNotCompleted", unit=MetricUnit.Count, value=1)
            return False
        logger.warning(
            "lifecycle action no longer held: its heartbeat timed out or it was completed "
            "already; Auto Scaling applies the hook's DefaultResult",
            extra=where,
        )
        metrics.add_metric(name="LifecycleNotHeld", unit=MetricUnit.Count, value=1)
        return False
    logger.info("lifecycle action completed", extra=where)
    metrics.add_metric(name="LifecycleCompleted", unit=MetricUnit.Count, value=1)
    if not verdict.is_alert and rt.ledger is not None:
        # Its "Launch Successful" event, once it is InService, then has nothing to clear.
        try:
            mark_cleared_before_service(
                rt.ledger.client, rt.ledger.table, hold.instance_id, record.command_id
            )
        except Exception:
            logger.warning(
                "could not mark the instance cleared; it may be cleared again", exc_info=True
            )
    return True
