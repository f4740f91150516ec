"""Post a verdict to Slack, once per command when the command record is there to say so."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from apcu_notifier import slack
from apcu_notifier.idempotency import ClaimResult, VerdictInProgress
from apcu_notifier.observability import logger, metrics
from apcu_notifier.render import render
from apcu_notifier.secret import clear_cached_secret, webhook_url
from apcu_notifier.verdict import Verdict

if TYPE_CHECKING:
    from apcu_notifier.runtime import Runtime

# A webhook that Slack says is gone may have been replaced in the secret: read it again.
_STALE_WEBHOOK_STATUSES = frozenset({403, 404, 410})
# Commands the stack sends on its own when an instance leaves a warm pool: only their alerts
# are worth a message; every verdict is still recorded.
QUIET_ORIGINS = frozenset({"warm-pool"})

Decide = Callable[[], Verdict]


def once(
    rt: Runtime, key: str, remaining: Callable[[], float], decide: Decide, *, via: str
) -> dict[str, Any]:
    """Decide and post the verdict for `key` (a command id) unless one was posted already."""
    if rt.ledger is None:
        return deliver(decide(), rt, remaining)
    claim = rt.ledger.claim(key, remaining)
    if claim.result is ClaimResult.JUDGED:
        logger.info("duplicate delivery; the command's verdict was already posted")
        metrics.add_metric(name="NotificationDuplicate", unit=MetricUnit.Count, value=1)
        return {"command_id": key, "duplicate": True}
    if claim.result is ClaimResult.BUSY:
        raise VerdictInProgress(key)
    try:
        verdict = decide()
        origin = claim.record.origin if claim.record is not None else ""
        quiet = origin in QUIET_ORIGINS and not verdict.is_alert
        outcome = deliver(verdict, rt, remaining, post=not quiet)
    except BaseException:
        # Not posted: give the claim back so that Lambda's retry posts.
        try:
            rt.ledger.release(key, claim.token)
        except Exception:
            logger.exception("could not release the claim; it expires with this invocation")
        raise
    if not rt.ledger.record(key, claim.token, verdict, via=via):
        logger.error(
            "verdict posted, but its claim had expired and was taken by another invocation"
        )
        metrics.add_metric(name="VerdictClaimLost", unit=MetricUnit.Count, value=1)
    return outcome


def deliver(
    verdict: Verdict, rt: Runtime, remaining: Callable[[], float], *, post: bool = True
) -> dict[str, Any]:
    if not post:
        logger.info("verdict recorded, not posted: a warm-pool clear is posted only when it alerts")
        metrics.add_metric(name=verdict.kind.metric_name, unit=MetricUnit.Count, value=1)
        return {"command_id": verdict.command_id, "verdict": verdict.kind.value, "posted": False}
    payload = render(
        verdict,
        language=rt.config.language,
        mention=rt.config.alert_mention,
        region=rt.config.region,
        warm_pool_exit_clears=rt.config.warm_pool_exit_clears,
    )
    url = webhook_url(rt.secrets, rt.config.slack_webhook_secret_arn)
    try:
        attempts = slack.post(
            payload, url=url, session=rt.http, remaining=remaining, sleep=rt.sleep
        )
    except slack.SlackRejected as error:
        if error.status in _STALE_WEBHOOK_STATUSES:
            clear_cached_secret(rt.secrets)
        raise
    metrics.add_metric(name=verdict.kind.metric_name, unit=MetricUnit.Count, value=1)
    logger.info(
        "verdict posted",
        extra={
            "verdict": verdict.kind.value,
            "alert": verdict.is_alert,
            "expected": verdict.expected,
            "targeted": verdict.targeted,
            "succeeded": verdict.succeeded,
            "missing": len(verdict.missing_instances),
            "problems": len(verdict.problems),
            "attempts": attempts,
            "notification_missing": verdict.notification_missing,
        },
    )
    return {"command_id": verdict.command_id, "verdict": verdict.kind.value, "posted": True}
