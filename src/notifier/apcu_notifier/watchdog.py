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

from apcu_clear import converge, schedule
from apcu_clear.item import VIA_SNS, VIA_WATCHDOG
from apcu_clear.store import NEVER_ENDED_ALERT, STUCK_ALERT
from apcu_notifier import budget
from apcu_notifier.after_post import after_post
from apcu_notifier.config import WatchdogSettings
from apcu_notifier.facts import (
    CommandFacts,
    CommandNotSettled,
    Facts,
    InvocationFacts,
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

if TYPE_CHECKING:
    from apcu_notifier.runtime import Runtime


FOLLOW_UP_INTERVAL = dt.timedelta(minutes=15)
# SNS can say a command ended before ListCommands does (eventual consistency): a normal race,
# so instead of an error (which pages on-call) the notifier looks again this much later, up
# to MAX_SETTLE_LOOKS times. Scheduler runs an at() schedule within about a minute of its time.
SETTLE_DELAY = dt.timedelta(minutes=1)
MAX_SETTLE_LOOKS = 3


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
    if notification.notified:
        return _settled_later(notification, command, rt, remaining, function_arn)
    if command.status not in FINAL_STATUSES:
        return _running(command, notification.attempt, rt, remaining, function_arn)

    def decide() -> Verdict:
        # The same facts as SNS's path (facts.read_facts), from the command already read.
        facts = facts_of(
            command,
            ssm=rt.ssm,
            autoscaling=rt.autoscaling,
            ec2=rt.ec2,
            before_page=budget.before_each_page(remaining),
        )
        return replace(judge(facts), notification_missing=True)

    outcome = once(
        rt, command_id, remaining, decide, via=VIA_WATCHDOG, ended=True, function_arn=function_arn
    )
    if outcome.get("verdict"):
        # The command ended, yet no notification brought its verdict: a broken path to fix.
        logger.warning(
            "SSM's notification never arrived; the watchdog judged the command",
            extra={"status": command.status},
        )
        metrics.add_metric(name="NotificationMissing", unit=MetricUnit.Count, value=1)
    return outcome


def settle_later(
    command_id: str,
    notified: str,
    live: str,
    attempt: int,
    rt: Runtime,
    function_arn: str,
    *,
    busy: bool = False,
) -> dict[str, Any] | None:
    """SNS said `notified`, ListCommands still says `live` (or, `busy`, the clear's Slack
    message is still being posted by another invocation): arm a look a minute on, or None
    when the notifier cannot (no watchdog settings) or has looked enough; then the caller
    raises. Both are normal races, not failures (docs/design.md, "Races are not errors")."""
    settings = rt.config.watchdog if rt.ledger is not None and function_arn else None
    if settings is None or attempt > MAX_SETTLE_LOOKS:
        return None
    if busy:
        logger.info(
            "the clear's Slack message is still being posted by another invocation; "
            "judging again shortly",
            extra={"notified": notified, "attempt": attempt},
        )
        metrics.add_metric(name="SlackMessageBusy", unit=MetricUnit.Count, value=1)
    else:
        logger.info(
            "SNS said the command ended before SSM's ListCommands did; looking again shortly",
            extra={"notified": notified, "live": live, "attempt": attempt},
        )
        metrics.add_metric(name="CommandNotSettled", unit=MetricUnit.Count, value=1)
    why = "its Slack message was still being posted" if busy else f"ListCommands still said {live}"
    name = _rearm(
        command_id,
        attempt,
        rt,
        settings,
        function_arn,
        fires=rt.clock() + SETTLE_DELAY,
        notified=notified,
        description=(
            f"Judge Run Command {command_id}: SNS said {notified}, {why} "
            f"(look {attempt} of {MAX_SETTLE_LOOKS})"
        ),
    )
    return {"command_id": command_id, "settling": live, "follow_up": name}


def _settled_later(
    notification: WatchdogNotification,
    command: CommandFacts,
    rt: Runtime,
    remaining: Callable[[], float],
    function_arn: str,
) -> dict[str, Any]:
    """A look armed by settle_later: judge the command as SNS's path would have."""
    command_id = command.command_id
    if command.status not in FINAL_STATUSES:
        later = settle_later(
            command_id,
            notification.notified,
            command.status,
            notification.attempt + 1,
            rt,
            function_arn,
        )
        if later is None:
            raise CommandNotSettled(command_id, notification.notified, command.status)
        return later

    def decide() -> Verdict:
        return judge(
            facts_of(
                command,
                ssm=rt.ssm,
                autoscaling=rt.autoscaling,
                ec2=rt.ec2,
                before_page=budget.before_each_page(remaining),
            )
        )

    return once(
        rt, command_id, remaining, decide, via=VIA_SNS, ended=True, function_arn=function_arn
    )


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
    if attempt == 0 and _automatic_retry(command.command_id, rt):
        # A clear's own retry: the clear is posted once, when its last attempt is judged.
        logger.info("watchdog: an automatic retry still runs; its clear posts once it ends")
        metrics.add_metric(name="RetryStillRunning", unit=MetricUnit.Count, value=1)
        outcome = {"command_id": command.command_id, "running": command.status}
    elif attempt == 0:
        outcome = _stuck(command, rt, remaining, watched=watched)
    else:
        logger.info(
            "watchdog follow-up: the command still runs",
            extra={"status": command.status, "attempt": attempt},
        )
        outcome = {"command_id": command.command_id, "running": command.status}
    if settings is not None:
        outcome["follow_up"] = _rearm(
            command.command_id,
            attempt + 1,
            rt,
            settings,
            function_arn,
            fires=rt.clock() + FOLLOW_UP_INTERVAL,
            description=(
                f"Check Run Command {command.command_id} again: still running after its expiry "
                f"(follow-up {attempt + 1} of {MAX_FOLLOW_UPS})"
            ),
        )
    return outcome


def _automatic_retry(command_id: str, rt: Runtime) -> bool:
    """True for a retry the notifier sent while its clear converges (apcu_clear.converge)."""
    ledger = rt.ledger
    if ledger is None or not rt.config.document_name:
        return False
    record = ledger.read(command_id)
    if record is None or not record.retry_of:
        return False
    return converge.read(ledger.client, ledger.table, record.retry_of).retrying


def _rearm(
    command_id: str,
    attempt: int,
    rt: Runtime,
    settings: WatchdogSettings,
    function_arn: str,
    *,
    fires: dt.datetime,
    description: str,
    notified: str = "",
) -> str:
    """Create the follow-up schedule; its name, or raise WatchdogNotRearmed."""
    scheduler = rt.scheduler()
    if scheduler is None:
        raise WatchdogNotRearmed("the runtime has no EventBridge Scheduler client")
    request = schedule.build_schedule(
        command_id,
        fires,
        schedule.ScheduleSettings(
            group=settings.group,
            role_arn=settings.role_arn,
            target_arn=schedule.unqualified(function_arn),
            dead_letter_arn=settings.dead_letter_arn,
        ),
        attempt=attempt,
        notified=notified,
        description=description,
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
    """Post an alert about a running command once: a lease on the record's `attribute` (held
    like the verdict's claim, so that an invocation killed mid-post leaves it to expire) is
    taken first, given back when the post fails, and made the record of the post after it."""
    command_id = command.command_id
    token = ""
    if rt.ledger is not None:
        token = rt.ledger.take_alert(command_id, attribute, remaining)
        if not token:
            logger.info(already)
            metrics.add_metric(name="NotificationDuplicate", unit=MetricUnit.Count, value=1)
            return {"command_id": command_id, "duplicate": True}
    log()
    try:
        facts = Facts(command, _invocations(command_id, rt, remaining), (), ())
        # App mode: the alert shows in the clear's message (and notifies in its thread).
        clear = rt.ledger.read(command_id) if rt.ledger and rt.slack_web else None
        outcome = deliver(alert(stuck_verdict(facts)), rt, remaining, clear=clear)
    except BaseException:
        if rt.ledger is not None:
            try:
                rt.ledger.release_alert(command_id, attribute, token)
            except Exception:
                logger.exception("could not give the alert's lease back; it expires on its own")
        raise
    if rt.ledger is not None:
        ledger = rt.ledger
        after_post(
            lambda: ledger.complete_alert(command_id, attribute, token),
            rt,
            remaining,
            "the alert",
        )
    return outcome


def _invocations(
    command_id: str, rt: Runtime, remaining: Callable[[], float]
) -> tuple[InvocationFacts, ...]:
    return read_invocations(command_id, ssm=rt.ssm, before_page=budget.before_each_page(remaining))
