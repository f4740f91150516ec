"""A clear converges (docs/design.md, "A clear converges"): when an attempt of a clear ends
with InService instances stale and rounds are left (RETRY_MISSED), the notifier re-sends the
same command to those that may pass, instead of posting; the clear is posted once, when its
last attempt is judged.

Only a command the stack recorded, of the stack's own document (DOCUMENT_NAME), is re-sent.
The shared mechanics (what to retry, the resend, the clear's progress on its first command's
item, each step a conditional write) are apcu_clear.converge.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError

from apcu_clear import claim, converge, schedule, store
from apcu_clear.alarm import AlarmNotFound, read_alarm
from apcu_clear.converge import NOT_REACHED, Attempt, ClearProgress
from apcu_clear.item import RETRY_ORIGIN, CommandRecord, iso
from apcu_notifier import budget
from apcu_notifier.facts import IN_SERVICE, read_facts
from apcu_notifier.idempotency import recorded
from apcu_notifier.observability import logger, metrics
from apcu_notifier.verdict import ClearHistory, Retried, Verdict, VerdictKind, judge

if TYPE_CHECKING:
    from apcu_notifier.runtime import Runtime

# The retry's watchdog fires this long after SSM's expiry of it, as the dispatcher's does.
WATCHDOG_GRACE = dt.timedelta(seconds=60)
# The claim outlives the retry's expiry by this much, as the dispatcher's does.
CLAIM_MARGIN = dt.timedelta(minutes=5)
# Verdicts whose alert is about stale instances only: once the retries cleared them all, ok.
_STALE_KINDS = frozenset(
    {VerdictKind.PARTIAL, VerdictKind.FAILED, VerdictKind.MISMATCH, VerdictKind.STOPPED}
)
LEFT_IN_SERVICE = "left InService"
# While the stop alarm fires an automatic retry waits, looking again every ALARM_LOOK, for
# ALARM_WAIT in all; then the clear is judged with its stale instances.
ALARM_LOOK = dt.timedelta(minutes=5)
ALARM_WAIT = dt.timedelta(minutes=30)


class RetryWaitNotArmed(RuntimeError):
    """The look after the stop alarm could not be scheduled; Lambda retries the event."""


@dataclass(frozen=True)
class Step:
    """What becomes of an attempt's verdict: `final` posts `verdict` (the clear's) on behalf of
    `first`; otherwise the clear goes on and nothing is posted."""

    final: bool
    verdict: Verdict
    first: CommandRecord
    commands: tuple[str, ...] = ()
    # Every command of the clear: one of them holds its claim.
    holders: tuple[str, ...] = field(default_factory=tuple)
    # The schedule that looks again while the stop alarm fires ("" when not waiting): the
    # attempt stays unjudged, so that look judges it again.
    wait: str = ""


def step(
    rt: Runtime,
    key: str,
    record: CommandRecord,
    verdict: Verdict,
    remaining: Callable[[], float],
    function_arn: str,
) -> Step | None:
    """None when the verdict is not part of a converging clear (posted as before)."""
    ledger = rt.ledger
    config = rt.config
    if ledger is None or not config.document_name or verdict.document_name != config.document_name:
        return None
    if record.retry_of:
        progress = converge.read(ledger.client, ledger.table, record.retry_of)
        if not progress.retrying:
            return None  # a retry someone asked for (POST .../retry): posted on its own
        first = ledger.read(record.retry_of)
        if first is None:
            return None
        attempt = Attempt(key, progress.round, outcomes(verdict), verdict.target.values)
        if not converge.attempt_done(ledger.client, ledger.table, first.command_id, attempt):
            logger.info("retry judged; another command of its round still runs")
            metrics.add_metric(name="ClearAttemptWaiting", unit=MetricUnit.Count, value=1)
            return Step(False, verdict, first)
        progress = converge.read(ledger.client, ledger.table, first.command_id)
        stale: dict[str, str] = {}
        for done in progress.attempts:
            if done.round == progress.round:
                stale.update(done.outcomes)
        first_attempt = None
    else:
        first = record
        progress = ClearProgress()
        stale = dict(outcomes(verdict)) if verdict.is_alert else {}
        first_attempt = Attempt(key, 0, stale)
    rounds = progress.round
    candidates = converge.retryable(stale)
    if rounds >= config.retry_missed or not candidates:
        return _final(rt, first, progress, verdict, first_attempt, remaining, ())
    in_service = _in_service(rt, first.group)
    serving = [i for i in candidates if i in in_service]
    online = converge.agents_online(rt.ssm, serving) if serving else frozenset()
    targets = [i for i in serving if i in online]
    offline = tuple(i for i in serving if i not in online)
    if not targets:
        return _final(rt, first, progress, verdict, first_attempt, remaining, offline)
    if _alarm_firing(rt):
        now = rt.clock()
        since = converge.waiting_since(ledger.client, ledger.table, first.command_id, now)
        if now - since < ALARM_WAIT:
            looks = int((now - since) / ALARM_LOOK) + 1
            if first.clear_claim:
                # The clear keeps its group while it waits, past its command's expiry: no
                # other clear may start before this one has sent its retry, or given up.
                claim.hand_over(
                    ledger.client,
                    ledger.table,
                    first.clear_claim,
                    key,
                    key,
                    until=now + ALARM_LOOK + CLAIM_MARGIN,
                )
            return Step(False, verdict, first, wait=_wait(rt, key, verdict, looks, function_arn))
        logger.warning("the stop alarm still fires: the clear is judged without its retry")
        metrics.add_metric(name="ClearRetryHeldByAlarm", unit=MetricUnit.Count, value=1)
        return _final(
            rt, first, progress, verdict, first_attempt, remaining, offline, held=tuple(targets)
        )
    token = uuid.uuid4().hex
    number = rounds + 1
    if not converge.start_round(
        ledger.client, ledger.table, first.command_id, number, token, first_attempt
    ):
        logger.info("the clear's next round was started by another delivery")
        return Step(False, verdict, first)
    sent, expires = _send(rt, key, first, targets, number, token, function_arn)
    converge.round_sent(ledger.client, ledger.table, first.command_id, sent, offline)
    if first.clear_claim:
        # The clear goes on under its claim: the retry holds it now, until its own end.
        claim.hand_over(
            ledger.client,
            ledger.table,
            first.clear_claim,
            key,
            sent[0],
            until=expires + CLAIM_MARGIN,
        )
    logger.info(
        "clear retried: stale InService instances sent the command again",
        extra={"round": number, "instances": len(targets), "offline": len(offline)},
    )
    metrics.add_metric(name="ClearRetried", unit=MetricUnit.Count, value=1)
    return Step(False, verdict, first, commands=sent)


def outcomes(verdict: Verdict) -> dict[str, str]:
    """The instances the verdict leaves stale, each with what SSM said of it."""
    said = {p.instance_id: p.status_details or p.status for p in verdict.problems}
    return {i: said.get(i, NOT_REACHED) for i in verdict.stale}


def _send(
    rt: Runtime,
    key: str,
    first: CommandRecord,
    targets: list[str],
    number: int,
    token: str,
    function_arn: str,
) -> tuple[tuple[str, ...], dt.datetime]:
    """SendCommand per 50 instances, each recorded and armed; a failure before any was sent
    gives the round back and raises (Lambda's retry sends it), after one it keeps what went."""
    ledger = rt.ledger
    assert ledger is not None
    live = rt.ssm.list_commands(CommandId=key)["Commands"][0]
    sent: list[str] = []
    latest = rt.clock()
    for params in converge.resend(dict(live), targets):
        try:
            answer = rt.ssm.send_command(**params)["Command"]
        except ClientError:
            if not sent:
                converge.undo_round(ledger.client, ledger.table, first.command_id, number, token)
                raise
            logger.exception("a retry command was not sent; the clear goes on with the rest")
            break
        command_id = answer["CommandId"]
        sent.append(command_id)
        now = rt.clock()
        expires = answer.get("ExpiresAfter") or now + dt.timedelta(minutes=30)
        store.put_sent(
            ledger.client,
            ledger.table,
            CommandRecord(
                command_id=command_id,
                group=first.group,
                prefix=first.prefix,
                requester=first.requester,
                comment=f"automatic retry of {first.command_id}",
                origin=RETRY_ORIGIN,
                requested_at=iso(now),
                expires_at=iso(expires),
                action=first.action,
                clear_claim=first.clear_claim,
                retry_of=first.command_id,
            ),
        )
        latest = max(latest, expires)
        _arm(rt, command_id, expires + WATCHDOG_GRACE, function_arn)
    return tuple(sent), latest


def _arm(rt: Runtime, command_id: str, fires: dt.datetime, function_arn: str) -> None:
    """The retry's watchdog, as the dispatcher arms one for every command; without it the
    retry's verdict rests on SNS alone (logged, not raised: the retry was sent)."""
    settings = rt.config.watchdog
    scheduler = rt.scheduler()
    if settings is None or scheduler is None or not function_arn:
        return
    request = schedule.build_schedule(
        command_id,
        fires,
        schedule.ScheduleSettings(
            group=settings.group,
            role_arn=settings.role_arn,
            target_arn=schedule.unqualified(function_arn),
            dead_letter_arn=settings.dead_letter_arn,
        ),
        description=f"Judge automatic retry {command_id} if SSM's notification never comes",
    )
    try:
        scheduler.create_schedule(**request)
    except Exception:
        logger.exception("the retry's watchdog could not be armed; SNS alone brings its verdict")
        metrics.add_metric(name="WatchdogNotArmed", unit=MetricUnit.Count, value=1)


def _alarm_firing(rt: Runtime) -> bool:
    name = rt.config.stop_alarm_name
    cloudwatch = rt.cloudwatch() if name else None
    if cloudwatch is None:
        return False
    try:
        return read_alarm(cloudwatch, name).firing
    except AlarmNotFound:
        # As the dispatcher does: an alarm that is not there brakes nothing, and says so.
        logger.error("the stop alarm does not exist; the retry is sent without its check")
        return False


def _wait(rt: Runtime, key: str, verdict: Verdict, looks: int, function_arn: str) -> str:
    """Arm the look ALARM_LOOK from now: the watchdog event that judges a command SNS said
    ended, so it goes through posting.once and this step again."""
    settings = rt.config.watchdog
    scheduler = rt.scheduler()
    if settings is None or scheduler is None or not function_arn:
        raise RetryWaitNotArmed("no watchdog settings: a retry cannot wait for the stop alarm")
    request = schedule.build_schedule(
        key,
        rt.clock() + ALARM_LOOK,
        schedule.ScheduleSettings(
            group=settings.group,
            role_arn=settings.role_arn,
            target_arn=schedule.unqualified(function_arn),
            dead_letter_arn=settings.dead_letter_arn,
        ),
        attempt=looks,
        notified=verdict.status or "Success",
        purpose="alarm",
        description=f"Retry the clear of {key} once the stop alarm is no longer in ALARM",
    )
    try:
        scheduler.create_schedule(**request)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ConflictException":
            raise
    logger.info("the stop alarm fires: the clear's retry waits", extra={"look": looks})
    metrics.add_metric(name="ClearRetryWaiting", unit=MetricUnit.Count, value=1)
    return request["Name"]


def _in_service(rt: Runtime, group: str) -> frozenset[str]:
    pages = rt.autoscaling.get_paginator("describe_auto_scaling_groups").paginate(
        AutoScalingGroupNames=[group]
    )
    return frozenset(
        i["InstanceId"]
        for page in pages
        for g in page.get("AutoScalingGroups", [])
        for i in g.get("Instances", [])
        if i.get("LifecycleState") == IN_SERVICE
    )


def _final(
    rt: Runtime,
    first: CommandRecord,
    progress: ClearProgress,
    verdict: Verdict,
    first_attempt: Attempt | None,
    remaining: Callable[[], float],
    offline: tuple[str, ...],
    *,
    held: tuple[str, ...] = (),
) -> Step:
    attempts = list(progress.attempts) or ([first_attempt] if first_attempt else [])
    offline = (*progress.offline, *offline)
    holders = (first.command_id, *first.retries, *(a.command_id for a in attempts))
    if not progress.attempts:
        # One attempt: its verdict is the clear's, saying which stale agent was offline.
        if not (offline or held) or not verdict.is_alert:
            return Step(True, verdict, first, holders=holders)
        history = history_of(attempts, offline, frozenset(), held)
        return Step(True, replace(verdict, clear=history), first, holders=holders)
    in_service = _in_service(rt, first.group)
    history = history_of(attempts, offline, in_service, held)
    return Step(True, clear_verdict(rt, first, verdict, history, remaining), first, holders=holders)


def history_of(
    attempts: list[Attempt],
    offline: tuple[str, ...],
    in_service: frozenset[str],
    held: tuple[str, ...] = (),
) -> ClearHistory:
    """Per instance the first attempt left stale: what each attempt said, and the attempt that
    cleared it (0: none did)."""
    ordered = sorted(attempts, key=lambda a: a.round)
    initial = ordered[0].outcomes if ordered else {}
    rows: list[Retried] = []
    for instance_id in sorted(initial):
        said = [initial[instance_id]]
        cleared_on = 0
        for attempt in ordered[1:]:
            if instance_id not in attempt.sent:
                continue
            if instance_id in attempt.outcomes:
                said.append(attempt.outcomes[instance_id])
            else:
                cleared_on = attempt.round + 1
                break
        note = ""
        if not cleared_on:
            if instance_id in held:
                note = "alarm"
            elif instance_id in offline:
                note = "offline"
            elif in_service and instance_id not in in_service:
                note = "left"
            elif said[-1] not in converge.RETRYABLE_OUTCOMES:
                note = "not-retryable"
        rows.append(Retried(instance_id, tuple(said), cleared_on, note))
    first_id = ordered[0].command_id if ordered else ""
    return ClearHistory(first_id, tuple(rows), 1 + max((a.round for a in ordered), default=0))


def clear_verdict(
    rt: Runtime,
    first: CommandRecord,
    last: Verdict,
    history: ClearHistory,
    remaining: Callable[[], float],
) -> Verdict:
    """The first command's verdict, read again, with what the retries cleared taken off."""
    try:
        base = judge(
            read_facts(
                first.command_id,
                notified_status="",
                ssm=rt.ssm,
                autoscaling=rt.autoscaling,
                ec2=rt.ec2,
                before_page=budget.before_each_page(remaining),
            )
        )
    except Exception:
        logger.exception("the clear's first command could not be read again; judged from its last")
        base = replace(last, command_id=first.command_id)
    cleared = {r.instance_id for r in history.instances if r.cleared_on or r.note == "left"}
    still = tuple(r.instance_id for r in history.instances if r.instance_id not in cleared)
    problems = tuple(p for p in base.problems if p.instance_id not in cleared)
    missing = tuple(i for i in base.missing_instances if i not in cleared)
    kind = base.kind
    if not still and kind in _STALE_KINDS and not problems and not missing:
        kind = VerdictKind.OK
    return replace(
        base,
        kind=kind,
        problems=problems,
        missing_instances=missing,
        stale=still,
        succeeded=base.succeeded + sum(1 for r in history.instances if r.cleared_on),
        clear=history,
    )


def end_claim(rt: Runtime, first: CommandRecord, holders: tuple[str, ...]) -> None:
    """The clear's final verdict is in: end its claim, whichever of its commands holds it."""
    ledger = rt.ledger
    if ledger is None or not first.clear_claim:
        return
    try:
        for holder in dict.fromkeys(holders):
            if ledger.end_clear(first.clear_claim, holder):
                return
    except Exception:
        logger.exception("could not end the clear's claim; it expires on its own")
        metrics.add_metric(name="ClaimReleaseFailed", unit=MetricUnit.Count, value=1)


def judge_clear(rt: Runtime, first: CommandRecord, verdict: Verdict, via: str) -> None:
    """Keep the clear's verdict on its first command (GET /flush/{first} answers it)."""
    ledger = rt.ledger
    if ledger is None:
        return
    converge.judge_clear(
        ledger.client, ledger.table, first.command_id, recorded(verdict, via, rt.clock())
    )


def summary(step_: Step) -> Mapping[str, Any]:
    if step_.wait:
        return {"waiting_for_alarm": step_.wait}
    return {"retried": list(step_.commands)} if step_.commands else {"waiting": True}
