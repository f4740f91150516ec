"""A clear, top to bottom (docs/design.md, "The clear, step by step"), every side effect a
checkpointed step. No `finally`: it would run at every suspension."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from aws_durable_execution_sdk_python import DurableContext, exceptions
from aws_durable_execution_sdk_python.config import Duration, StepConfig
from aws_durable_execution_sdk_python.retries import RetryDecision

from apcu_clear import claim, command, lifecycle, record
from apcu_clear.observability import count, logger
from apcu_clear.record import Clear, LifecycleHold
from apcu_notifier import attempts, rounds, watch
from apcu_notifier.config import Runtime
from apcu_notifier.durable import Codec, aws_retry, decode, encode, step
from apcu_notifier.verdict import Verdict, VerdictKind, answer, still_running

RECORD_LOOKS = 6
QUIET_ORIGINS = frozenset({"warm-pool"})


class RecordNotReady(Exception):
    """The dispatcher has not recorded the clear yet."""


@dataclass(frozen=True)
class Begun:
    # None for a command the dispatcher never recorded: no group to free, nothing retried.
    clear: Clear | None
    seconds_left: int
    # A retry asked on demand: the verdict of the clear it repairs.
    original: Verdict | None = None


def run(ctx: DurableContext, rt: Runtime, clear_id: str) -> dict[str, Any]:
    begun: Begun = ctx.step(
        lambda sc: _begin(rt, clear_id, last=sc.attempt >= RECORD_LOOKS),
        name="read the clear",
        config=StepConfig(retry_strategy=_record_retry, serdes=Codec(Begun)),
    )
    try:
        return _clear(ctx, rt, clear_id, begun)
    except Exception as error:
        # A step failed past its retries (docs/design.md, after step 10); the SDK's signals pass.
        sdk_signal = isinstance(error, exceptions.DurableExecutionsError)
        if sdk_signal and not isinstance(error, exceptions.DurableOperationError):
            raise
        give_up = partial(_give_up, rt, clear_id, begun.clear, f"{type(error).__name__}: {error}")
        step(ctx, "record the failure, free the group", give_up, type(None))
        raise


def _clear(ctx: DurableContext, rt: Runtime, clear_id: str, begun: Begun) -> dict[str, Any]:
    clear = begun.clear
    quiet = clear is not None and clear.origin in QUIET_ORIGINS
    if clear is not None and rt.config.shared.slack.is_app and clear.message is None and not quiet:
        # Imported at the first post: posting brings render, messages and slack_sdk (make bench).
        from apcu_notifier import posting

        clear = replace(clear, message=posting.start_message(ctx, rt, clear))
    if clear is not None and begun.original is not None:
        verdict = _retry_on_demand(ctx, rt, clear, begun.original)
    else:
        ended = watch.wait_for_command(ctx, rt, clear_id, clear, begun.seconds_left)
        if ended is None:
            never_ended = partial(_never_ended, rt, clear_id)
            verdict = step(ctx, "give up on the command", never_ended, Verdict)
        else:
            verdict = watch.judge_command(ctx, rt, clear_id, ended.status)
            verdict = replace(verdict, notification_missing=ended.notification_missing)
            if clear is not None:
                verdict = _converge(ctx, rt, clear, verdict)
    if clear is not None and clear.hold is not None:
        verdict = replace(verdict, lifecycle_result=_launch_result(rt, verdict))
    step(ctx, "record the verdict", lambda: _record(rt, clear_id, verdict), type(None))
    if quiet and not verdict.is_alert:
        posted = "quiet"
    else:
        from apcu_notifier import posting  # at the first post, as above

        posted = posting.verdict(ctx, rt, clear, clear_id, verdict)
    if clear is not None and clear.hold is not None:
        complete = partial(_complete, rt, clear, clear.hold, verdict)
        step(ctx, "complete the launch action", complete, bool)
    if clear is not None:
        step(ctx, "free the group", lambda: _free(rt, clear_id, clear), bool)
    kind, alert = verdict.kind.value, verdict.is_alert
    return {"commandId": clear_id, "verdict": kind, "alert": alert, "posted": posted}


def _converge(ctx: DurableContext, rt: Runtime, clear: Clear, first: Verdict) -> Verdict:
    """Retry, round by round, what the first attempt left stale and may still clear."""
    done: list[attempts.Attempt] = []
    notes: dict[str, str] = {}
    held = clear.hold.instance_id if clear.hold is not None else ""
    for number in range(2, rt.config.retry_rounds + 2):
        stale = attempts.still_stale(first, done)
        if not attempts.worth_retrying(first) or not stale:
            break
        plan = rounds.plan_round(ctx, rt, clear.group, stale, number, held=held)
        notes.update(plan.left_out)
        if not plan.targets:
            break
        allowed = rounds.alarm_allows(ctx, rt, clear, number)
        if allowed != "ok":
            notes.update(dict.fromkeys(plan.targets, allowed))
            break
        attempt = rounds.send_round(ctx, rt, clear, plan.targets, number)
        if attempt is None:
            notes.update(dict.fromkeys(plan.targets, attempts.CLAIM))
            break
        done.append(attempt)
        if attempt.stopped_by is not None:
            break
    return attempts.conclude(first, done, notes)


def _retry_on_demand(ctx: DurableContext, rt: Runtime, clear: Clear, original: Verdict) -> Verdict:
    """A retry asked on demand: one round, judged on top of the clear's (docs/design.md, step 3)."""
    number = (original.clear.attempts if original.clear is not None else 1) + 1
    attempt = rounds.send_round(ctx, rt, clear, clear.targets, number)
    lost = dict.fromkeys(clear.targets, attempts.CLAIM) if attempt is None else {}
    return attempts.conclude(original, [attempt] if attempt is not None else [], lost)


def _begin(rt: Runtime, clear_id: str, *, last: bool) -> Begun:
    stored = record.read(rt.dynamodb, rt.table, clear_id)
    if stored is None or stored.clear is None:
        if not last:
            raise RecordNotReady(f"no record of clear {clear_id} yet")
        return Begun(None, watch.seconds_left(None, rt.now()))
    clear = stored.clear
    repaired = record.read(rt.dynamodb, rt.table, clear.retry_of) if clear.retry_of else None
    original = decode(Verdict, repaired.judgement) if repaired and repaired.judgement else None
    return Begun(clear, watch.seconds_left(clear, rt.now()), original)


def _record_retry(error: Exception, attempt: int) -> RetryDecision:
    if isinstance(error, RecordNotReady) and attempt < RECORD_LOOKS:
        return RetryDecision.retry(Duration.from_seconds(2**attempt))
    return aws_retry(error, attempt)


def _never_ended(rt: Runtime, clear_id: str) -> Verdict:
    live = command.live(rt.ssm, clear_id)
    watched = watch.LOOK_EVERY * watch.LOOKS
    return still_running(VerdictKind.NEVER_ENDED, clear_id, live, watched_for=watched)


def _record(rt: Runtime, clear_id: str, verdict: Verdict) -> None:
    answered = answer(verdict, rt.now())
    record.record_verdict(rt.dynamodb, rt.table, clear_id, answered, encode(verdict))
    count(verdict.kind.metric_name)
    judged = {"command_id": clear_id, "verdict": verdict.kind.value, "alert": verdict.is_alert}
    logger.info("clear judged", extra=judged)


def _launch_result(rt: Runtime, verdict: Verdict) -> lifecycle.Result:
    if verdict.is_alert and rt.config.warm_pool_uncleared == "abandon":
        return lifecycle.ABANDON
    return lifecycle.CONTINUE


def _complete(rt: Runtime, clear: Clear, hold: LifecycleHold, verdict: Verdict) -> bool:
    if not verdict.is_alert:
        lifecycle.mark_cleared(rt.dynamodb, rt.table, hold.instance_id, clear.clear_id, rt.now())
    return lifecycle.complete(rt.autoscaling, clear.group, hold, _launch_result(rt, verdict))


def _free(rt: Runtime, clear_id: str, clear: Clear) -> bool:
    return bool(clear.claim_key) and claim.release(rt.dynamodb, rt.table, clear.claim_key, clear_id)


def _give_up(rt: Runtime, clear_id: str, clear: Clear | None, why: str) -> None:
    failed = {"command_id": clear_id, "error": why[:300]}
    logger.error("the clear failed; its group is freed", extra=failed)
    count("ClearFailed")
    record.record_failure(rt.dynamodb, rt.table, clear_id, why)
    if clear is not None:
        _free(rt, clear_id, clear)
