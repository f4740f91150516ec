"""A watchdog event: the command's expiry has passed. Judge it if SSM's notification has not.

- a verdict was posted already: nothing to do (the usual case);
- the command is final: SSM's notification never arrived; judge and post as usual, saying so;
- the command still runs: SSM ends every command by its expiry (delivery timeout plus the
  document's execution timeout), so post a `stuck` alert, once. It is not the command's
  verdict: when the command ends, SNS brings that, and it is posted once.

SNS may be lost for that command too (the very failure the watchdog exists for), so while the
command runs the notifier arms one follow-up schedule at a time, FOLLOW_UP_INTERVAL apart, each
with the next attempt number. A follow-up that finds the command final posts its verdict (unless
SNS brought it first); one that finds it running arms the next, without a second stuck alert.
After MAX_FOLLOW_UPS (2 hours) it stops: a command that long past its expiry will not end on its
own, and one `never_ended` alert says so. Follow-ups need the watchdog settings and the command
record; without them the stuck alert says that only SSM's notification can bring the verdict.

A follow-up that cannot be created after the stuck alert was posted raises, so Lambda retries
the event: the record says the alert was posted, so the retry only creates the schedule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from apcu_notifier.config import WatchdogSettings
from apcu_notifier.facts import (
    CommandFacts,
    Facts,
    UnknownCommand,
    facts_of,
    read_command,
    read_invocations,
)
from apcu_notifier.notification import FINAL_STATUSES, MAX_FOLLOW_UPS, WatchdogNotification
from apcu_notifier.observability import logger, metrics
from apcu_notifier.posting import deliver, once
from apcu_notifier.verdict import (
    Verdict,
    VerdictKind,
    about,
    judge,
    problems,
    unknown_command,
)
from apcu_record import schedule
from apcu_record.item import VIA_WATCHDOG
from apcu_record.store import NEVER_ENDED_ALERT, STUCK_ALERT

if TYPE_CHECKING:
    from apcu_notifier.runtime import Runtime


FOLLOW_UP_INTERVAL = dt.timedelta(minutes=15)


class WatchdogNotRearmed(RuntimeError):
    """The follow-up schedule could not be created; Lambda retries the event."""


def check(
    notification: WatchdogNotification,
    rt: Runtime,
    remaining: Callable[[], float],
    *,
    function_arn: str = "",
) -> dict[str, Any]:
    command_id = notification.command_id
    if rt.ledger is not None and rt.ledger.judged(command_id):
        logger.info("watchdog: the command's verdict was already posted; nothing to do")
        metrics.add_metric(name="WatchdogFoundVerdict", unit=MetricUnit.Count, value=1)
        return {"command_id": command_id, "duplicate": True}
    try:
        command = read_command(command_id, ssm=rt.ssm)
    except UnknownCommand:
        logger.error("watchdog: SSM does not know this command; posting an alert")
        return once(
            rt,
            command_id,
            remaining,
            lambda: unknown_command(command_id, "—"),
            via=VIA_WATCHDOG,
        )
    if command.status not in FINAL_STATUSES:
        return _running(command, notification.attempt, rt, remaining, function_arn)

    def decide() -> Verdict:
        # The same facts as SNS's path (facts.read_facts), from the command already read.
        facts = facts_of(command, ssm=rt.ssm, autoscaling=rt.autoscaling, ec2=rt.ec2)
        return replace(judge(facts), notification_missing=True)

    outcome = once(rt, command_id, remaining, decide, via=VIA_WATCHDOG)
    if not outcome.get("duplicate"):
        # The command ended, yet no notification brought its verdict: a broken path to fix.
        logger.warning(
            "SSM's notification never arrived; the watchdog judged the command",
            extra={"status": command.status},
        )
        metrics.add_metric(name="NotificationMissing", unit=MetricUnit.Count, value=1)
    return outcome


def stuck_verdict(facts: Facts) -> Verdict:
    return replace(
        about(facts, VerdictKind.STUCK),
        succeeded=sum(1 for i in facts.invocations if i.status == "Success"),
        problems=problems(facts.invocations),
    )


def _running(
    command: CommandFacts,
    attempt: int,
    rt: Runtime,
    remaining: Callable[[], float],
    function_arn: str,
) -> dict[str, Any]:
    if attempt >= MAX_FOLLOW_UPS:
        return _never_ended(command, rt, remaining, attempt)
    settings = rt.config.watchdog if rt.ledger is not None and function_arn else None
    watched = settings is not None
    if attempt == 0:
        outcome = _stuck(command, rt, remaining, watched=watched)
    else:
        logger.info(
            "watchdog follow-up: the command still runs",
            extra={"status": command.status, "attempt": attempt},
        )
        outcome = {"command_id": command.command_id, "running": command.status}
    if settings is not None:
        outcome["follow_up"] = _rearm(command.command_id, attempt + 1, rt, settings, function_arn)
    return outcome


def _rearm(
    command_id: str, attempt: int, rt: Runtime, settings: WatchdogSettings, function_arn: str
) -> str:
    """Create the follow-up schedule; its name, or raise WatchdogNotRearmed."""
    scheduler = rt.scheduler()
    if scheduler is None:
        raise WatchdogNotRearmed("the runtime has no EventBridge Scheduler client")
    request = schedule.build_schedule(
        command_id,
        rt.clock() + FOLLOW_UP_INTERVAL,
        schedule.ScheduleSettings(
            group=settings.group,
            role_arn=settings.role_arn,
            target_arn=schedule.unqualified(function_arn),
            dead_letter_arn=settings.dead_letter_arn,
        ),
        attempt=attempt,
        description=(
            f"Check Run Command {command_id} again: still running after its expiry "
            f"(follow-up {attempt} of {MAX_FOLLOW_UPS})"
        ),
    )
    try:
        scheduler.create_schedule(**request)
    except Exception as error:
        code = str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))
        # A retried CreateSchedule that had already succeeded answers ConflictException.
        if code == "ConflictException":
            return request["Name"]
        logger.error(
            "watchdog: the follow-up schedule could not be created; the event will be retried",
            extra={"attempt": attempt, "error_type": type(error).__name__, "error_code": code},
        )
        metrics.add_metric(name="WatchdogNotRearmed", unit=MetricUnit.Count, value=1)
        raise WatchdogNotRearmed(
            f"follow-up {attempt} for {command_id} not created: {type(error).__name__} {code}"
        ) from error
    logger.info(
        "watchdog: follow-up armed", extra={"attempt": attempt, "at": request["ScheduleExpression"]}
    )
    metrics.add_metric(name="WatchdogRearmed", unit=MetricUnit.Count, value=1)
    return request["Name"]


def _stuck(
    command: CommandFacts, rt: Runtime, remaining: Callable[[], float], *, watched: bool
) -> dict[str, Any]:
    return _alert_once(
        command,
        rt,
        remaining,
        attribute=STUCK_ALERT,
        already="watchdog: a stuck alert was already posted, or the verdict came meanwhile",
        log=lambda: logger.warning(
            "watchdog: the command is still not final after its expiry; posting a stuck alert",
            extra={"status": command.status},
        ),
        alert=lambda stuck: replace(stuck, watched=watched),
    )


def _never_ended(
    command: CommandFacts, rt: Runtime, remaining: Callable[[], float], attempt: int
) -> dict[str, Any]:
    """The last follow-up found the command still running: say once that the watchdog stops.

    Not the command's verdict either: a late SNS notification still posts that."""
    return _alert_once(
        command,
        rt,
        remaining,
        attribute=NEVER_ENDED_ALERT,
        already="watchdog: the never-ended alert was already posted, or the verdict came",
        log=lambda: logger.error(
            "watchdog: the command never ended; it stops checking it",
            extra={"status": command.status, "attempt": attempt},
        ),
        alert=lambda stuck: replace(
            stuck, kind=VerdictKind.NEVER_ENDED, watched_for=FOLLOW_UP_INTERVAL * attempt
        ),
    )


def _alert_once(
    command: CommandFacts,
    rt: Runtime,
    remaining: Callable[[], float],
    *,
    attribute: str,
    already: str,
    log: Callable[[], None],
    alert: Callable[[Verdict], Verdict],
) -> dict[str, Any]:
    """Post an alert about a running command once: the record's `attribute` marks it posted,
    and is cleared again when the post fails, so that Lambda's retry posts it."""
    command_id = command.command_id
    if rt.ledger is not None and not rt.ledger.mark_stuck(command_id, attribute):
        logger.info(already)
        metrics.add_metric(name="NotificationDuplicate", unit=MetricUnit.Count, value=1)
        return {"command_id": command_id, "duplicate": True}
    log()
    try:
        facts = Facts(command, read_invocations(command_id, ssm=rt.ssm), (), ())
        outcome = deliver(alert(stuck_verdict(facts)), rt, remaining)
    except BaseException:
        if rt.ledger is not None:
            rt.ledger.unmark_stuck(command_id, attribute)
        raise
    return outcome
