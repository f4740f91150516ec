"""Lambda entry point: an SNS notification (or a watchdog event) in, one verdict posted to Slack
(or a raised error).

Every record of an event is handled even when an earlier one fails; the failures are raised
together afterwards, so Lambda retries the event and its failure destination keeps it.
Configuration and clients are built once per container, before the first event is read, and
handed to plain functions; tests hand in their own with `use_runtime`.

Bad input: an event without Records raises InvalidEvent. A record that cannot be read, and a
command SSM does not know, are logged and posted to Slack as alerts (retrying would not change
them). AWS errors, a broken secret and a post Slack did not take are raised.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from apcu_clear.item import VIA_SNS
from apcu_notifier import budget, watchdog
from apcu_notifier.config import Config
from apcu_notifier.facts import CommandNotSettled, UnknownCommand, read_facts
from apcu_notifier.notification import (
    CommandNotification,
    InvalidEvent,
    InvocationNotification,
    Notification,
    UnreadableNotification,
    WatchdogNotification,
    parse_event,
)
from apcu_notifier.observability import logger, metrics, trace_handler
from apcu_notifier.posting import once
from apcu_notifier.runtime import Runtime, build_runtime
from apcu_notifier.slack import MessageBusy
from apcu_notifier.verdict import Verdict, judge, unknown_command, unreadable

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

IN_PROGRESS = "InProgress"


class NotificationsFailed(RuntimeError):
    """Some records of the event could not be handled; each is named with its error."""

    def __init__(self, failures: list[str], total: int) -> None:
        super().__init__(
            f"{len(failures)} of {total} notification(s) failed: " + "; ".join(failures)
        )
        self.failures = failures


# Read when the container starts: a wrong variable fails the init, loudly and once, instead
# of every event. The clients are built on the first event.
_config = Config.from_env()
_runtime: Runtime | None = None


def runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        _runtime = build_runtime(_config)
    return _runtime


def use_runtime(value: Runtime | None) -> None:
    """Replace the container's runtime (tests), or drop it so that the configuration is read
    again and the next event builds a new one."""
    global _config, _runtime
    if value is None:
        _config = Config.from_env()
    _runtime = value


@logger.inject_lambda_context(clear_state=True)
@trace_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle_event(event, context, runtime())


def handle_event(event: object, context: LambdaContext, rt: Runtime) -> dict[str, Any]:
    try:
        notifications = parse_event(event)
    except InvalidEvent:
        logger.exception("the event is not an SNS notification; nothing can be judged")
        metrics.add_metric(name="InvalidEvent", unit=MetricUnit.Count, value=1)
        raise

    def remaining() -> float:
        return context.get_remaining_time_in_millis() / 1000

    outcomes: list[dict[str, Any]] = []
    failures: list[str] = []
    for index, notification in enumerate(notifications, start=1):
        # Every record is tried; all failures are raised together below.
        try:
            outcomes.append(
                handle_notification(
                    notification, rt, remaining, function_arn=context.invoked_function_arn
                )
            )
        except Exception as error:
            logger.exception(
                "notification failed; the event will be retried",
                extra={"record": index, "error_type": type(error).__name__},
            )
            metrics.add_metric(name="NotificationFailed", unit=MetricUnit.Count, value=1)
            failures.append(f"record {index}: {type(error).__name__}: {error}")
        finally:
            logger.set_correlation_id(None)
    if failures:
        raise NotificationsFailed(failures, len(notifications))
    return {"records": len(notifications), "outcomes": outcomes}


def handle_notification(
    notification: Notification,
    rt: Runtime,
    remaining: Callable[[], float],
    *,
    function_arn: str = "",
) -> dict[str, Any]:
    """`function_arn`: the notifier's own, from the invocation's context; the target of the
    follow-up watchdog it may arm."""
    if isinstance(notification, UnreadableNotification):
        logger.error(
            "unreadable notification; posting an alert",
            extra={
                "reason": notification.reason.value,
                "excerpt": notification.excerpt,
                "message_id": notification.message_id,
            },
        )
        digest = hashlib.sha256(notification.excerpt.encode("utf-8", "replace")).hexdigest()
        verdict = unreadable(notification.reason, notification.excerpt)
        return once(rt, f"unreadable-{digest}", remaining, lambda: verdict, via=VIA_SNS)
    logger.set_correlation_id(notification.command_id)
    if isinstance(notification, WatchdogNotification):
        return watchdog.check(notification, rt, remaining, function_arn=function_arn)
    if isinstance(notification, InvocationNotification):
        logger.info(
            "invocation notification ignored: the verdict needs the whole command",
            extra={"instance_id": notification.instance_id, "status": notification.status},
        )
        metrics.add_metric(name="NotificationSkipped", unit=MetricUnit.Count, value=1)
        return {"command_id": notification.command_id, "skipped": "invocation"}
    if (
        not notification.is_final
        and rt.slack_web is not None
        and notification.status == IN_PROGRESS
    ):
        # App mode: the clear's message is posted when it starts.
        from apcu_notifier import app_flow

        return app_flow.start(notification.command_id, rt, remaining)
    if not notification.is_final:
        logger.info(
            "command not final yet; nothing to post",
            extra={"status": notification.status, "event_time": notification.event_time},
        )
        metrics.add_metric(name="NotificationSkipped", unit=MetricUnit.Count, value=1)
        return {"command_id": notification.command_id, "skipped": notification.status}
    try:
        return once(
            rt,
            notification.command_id,
            remaining,
            lambda: settle(notification, rt, remaining),
            via=VIA_SNS,
            ended=True,
            function_arn=function_arn,
        )
    except CommandNotSettled as error:
        # A normal race, not a failure: look again shortly rather than raise.
        later = watchdog.settle_later(
            notification.command_id, notification.status, error.live, 1, rt, function_arn
        )
        if later is None:
            raise
        return later
    except MessageBusy:
        # App mode: another invocation is posting the clear's message right now (or died
        # doing so, and its lease runs out): judge again shortly rather than raise.
        later = watchdog.settle_later(
            notification.command_id,
            notification.status,
            notification.status,
            1,
            rt,
            function_arn,
            busy=True,
        )
        if later is None:
            raise
        return later


def settle(
    notification: CommandNotification, rt: Runtime, remaining: Callable[[], float]
) -> Verdict:
    """Read the live command and judge it."""
    try:
        facts = read_facts(
            notification.command_id,
            notified_status=notification.status,
            ssm=rt.ssm,
            autoscaling=rt.autoscaling,
            ec2=rt.ec2,
            before_page=budget.before_each_page(remaining),
        )
    except UnknownCommand:
        verdict = unknown_command(notification.command_id, notification.status)
        logger.error(
            "SSM does not know this command; posting it",
            extra={"verdict": verdict.kind.value, "alert": verdict.is_alert},
        )
        return verdict
    return judge(facts)
