"""Post a verdict to Slack, once per command when the command record is there to say so.

After Slack took a message, the write that records it is what keeps it from being posted
again, so that write is retried within the invocation (`after_post`) for as long as a whole
worst-case attempt still fits in the time left (apcu_notifier.budget).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from apcu_notifier import budget, converge, slack
from apcu_notifier.after_post import QUIET_ORIGINS, after_post
from apcu_notifier.clear_claim import end_clear_claim
from apcu_notifier.idempotency import ClaimResult
from apcu_notifier.lifecycle import complete_held, result_for
from apcu_notifier.observability import logger, metrics
from apcu_notifier.render import render
from apcu_notifier.secret import clear_cached_secret, webhook_url
from apcu_notifier.verdict import Verdict

if TYPE_CHECKING:
    import requests

    from apcu_clear.item import CommandRecord
    from apcu_notifier.runtime import Runtime

# A webhook that Slack says is gone may have been replaced in the secret: read it again.
_STALE_WEBHOOK_STATUSES = frozenset({403, 404, 410})

Decide = Callable[[], Verdict]


def once(
    rt: Runtime,
    key: str,
    remaining: Callable[[], float],
    decide: Decide,
    *,
    via: str,
    ended: bool = False,
    function_arn: str = "",
) -> dict[str, Any]:
    """Decide and post the verdict for `key` (a command id) unless one was posted already.

    `ended`: SSM says the command ended (its final notification, or the live status), so the
    clear's claim on its target ends now, whatever becomes of the post; else it ends once the
    verdict is recorded. A clear that converges (apcu_notifier.converge) keeps its claim while
    a retry runs, and posts once, when its last attempt is judged.
    `function_arn`: the notifier's own, the target of a retry's watchdog.
    """
    if rt.ledger is None:
        return deliver(decide(), rt, remaining)
    claim = rt.ledger.claim(key, remaining)
    converging = bool(rt.config.document_name) and rt.config.retry_missed > 0
    # While another invocation judges the command it may hand the claim to a retry: only a
    # judged command (or one the notifier never retries) ends it now.
    claim_ended = (
        ended
        and (claim.result is ClaimResult.JUDGED or not converging)
        and end_clear_claim(rt.ledger, key, claim.record, read_again=False)
    )
    if claim.result is ClaimResult.JUDGED:
        logger.info("duplicate delivery; the command's verdict was already posted")
        metrics.add_metric(name="NotificationDuplicate", unit=MetricUnit.Count, value=1)
        return {"command_id": key, "duplicate": True}
    if claim.result is ClaimResult.BUSY:
        # A normal race (SNS twice, or SNS and the watchdog): the holder posts, and should it
        # die, its claim expires and Lambda's retry of its event or the watchdog posts.
        logger.info("another invocation is posting the command's verdict; leaving it to it")
        metrics.add_metric(name="VerdictInProgress", unit=MetricUnit.Count, value=1)
        return {"command_id": key, "in_progress": True}
    try:
        verdict = decide()
        record = claim.record
        plan = (
            converge.step(rt, key, record, verdict, remaining, function_arn)
            if record is not None
            else None
        )
        if plan is not None and not plan.final:
            # A retry of the clear runs (or another of its round does): nothing is posted.
            outcome = {"command_id": key, "verdict": verdict.kind.value, "posted": False}
            outcome.update(converge.summary(plan))
            if plan.wait:
                # The stop alarm fires: the attempt stays unjudged for the look to judge again.
                rt.ledger.release(key, claim.token)
                return outcome
            return _record_quietly(rt, key, claim.token, verdict, via, remaining, outcome)
        if ended and plan is None and converging and not claim_ended:
            claim_ended = end_clear_claim(rt.ledger, key, record, read_again=False)
        mine = verdict
        owner = record
        if plan is not None:
            verdict, owner = plan.verdict, plan.first
        held = None
        if owner is not None and owner.lifecycle is not None:
            held = result_for(verdict, rt.config.warm_pool_uncleared)
            # The message says what becomes of the held instance.
            verdict = replace(verdict, lifecycle_result=held)
        origin = owner.origin if owner is not None else ""
        quiet = origin in QUIET_ORIGINS and not verdict.is_alert
        outcome = deliver(verdict, rt, remaining, post=not quiet, clear=owner)
    except BaseException:
        # Not posted: give the claim back so that Lambda's retry posts.
        try:
            rt.ledger.release(key, claim.token)
        except Exception:
            logger.exception("could not release the claim; it expires with this invocation")
        raise
    ledger = rt.ledger
    # A clear's own verdict is kept on its first command; each attempt keeps its own. A clear
    # judged at its first command, with no retry, is that command's verdict: one write.
    single = plan is not None and plan.first.command_id == key
    own = mine if plan is not None and not single else verdict
    recorded = after_post(
        lambda: ledger.record(key, claim.token, own, via=via), rt, remaining, "the verdict"
    )
    if not recorded:
        logger.error(
            "verdict posted, but its claim had expired and was taken by another invocation"
        )
        metrics.add_metric(name="VerdictClaimLost", unit=MetricUnit.Count, value=1)
    if plan is not None:
        first = plan.first
        if not single:
            after_post(
                lambda: converge.judge_clear(rt, first, verdict, via), rt, remaining, "the clear"
            )
        converge.end_claim(rt, first, plan.holders)
    elif not claim_ended:
        end_clear_claim(ledger, key, claim.record, read_again=True)
    if owner is not None and held is not None:
        completed = complete_held(rt, owner, verdict, held)
        outcome["lifecycle"] = held if completed else "not-completed"
    return outcome


def _record_quietly(
    rt: Runtime,
    key: str,
    token: str,
    verdict: Verdict,
    via: str,
    remaining: Callable[[], float],
    outcome: dict[str, Any],
) -> dict[str, Any]:
    """Record an attempt's verdict that is not posted (its clear goes on): its watchdog and a
    second delivery find it judged, and post nothing."""
    assert rt.ledger is not None
    ledger = rt.ledger
    after_post(lambda: ledger.record(key, token, verdict, via=via), rt, remaining, "the attempt")
    return outcome


def deliver(
    verdict: Verdict,
    rt: Runtime,
    remaining: Callable[[], float],
    *,
    post: bool = True,
    clear: CommandRecord | None = None,
) -> dict[str, Any]:
    """`clear`: in app mode, the record of the command whose clear's message the verdict
    updates (None: the verdict is a message of its own)."""
    if not post:
        logger.info("verdict recorded, not posted: a warm-pool clear is posted only when it alerts")
        metrics.add_metric(name=verdict.kind.metric_name, unit=MetricUnit.Count, value=1)
        return {"command_id": verdict.command_id, "verdict": verdict.kind.value, "posted": False}
    if rt.slack_web is not None:
        # Imported here: webhook mode never loads slack_sdk.
        from apcu_notifier import app_flow

        placed = app_flow.deliver_verdict(verdict, rt, remaining, clear)
        metrics.add_metric(name=verdict.kind.metric_name, unit=MetricUnit.Count, value=1)
        logger.info(
            "verdict posted to the clear's message",
            extra={"verdict": verdict.kind.value, "alert": verdict.is_alert, **placed},
        )
        return {
            "command_id": verdict.command_id,
            "verdict": verdict.kind.value,
            "posted": True,
            **placed,
        }
    payload = render(
        verdict,
        language=rt.config.language,
        mention=rt.config.alert_mention,
        region=rt.config.region,
        warm_pool_exit_clears=rt.config.warm_pool_exit_clears,
    )
    url = webhook_url(rt.secrets, rt.config.slack_webhook_secret_arn)
    budget.require(remaining, budget.POST_RESERVE, "to post to Slack")
    try:
        delivery = slack.post(
            payload,
            url=url,
            session=_http(rt),
            remaining=remaining,
            policy=rt.slack_policy,
            sleep=rt.sleep,
        )
    except slack.SlackRejected as error:
        if error.status in _STALE_WEBHOOK_STATUSES:
            clear_cached_secret(rt.secrets)
        raise
    metrics.add_metric(name=verdict.kind.metric_name, unit=MetricUnit.Count, value=1)
    if not delivery.confirmed:
        # Sent whole, unanswered: counted as posted, so that no retry posts it twice.
        logger.warning(
            "delivery unconfirmed: Slack did not answer in time after the message was sent; "
            "it is probably posted and will not be posted again",
            extra={"verdict": verdict.kind.value, "attempts": delivery.attempts},
        )
        metrics.add_metric(name="SlackDeliveryUnconfirmed", unit=MetricUnit.Count, value=1)
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
            "attempts": delivery.attempts,
            "confirmed": delivery.confirmed,
            "notification_missing": verdict.notification_missing,
        },
    )
    outcome: dict[str, Any] = {
        "command_id": verdict.command_id,
        "verdict": verdict.kind.value,
        "posted": True,
    }
    if not delivery.confirmed:
        outcome["unconfirmed"] = True
    return outcome


def _http(rt: Runtime) -> requests.Session:
    if rt.http is None:
        raise RuntimeError("webhook mode without an HTTP session")
    return rt.http
