"""A watchdog event: the command's expiry has passed. Judge it if SSM's notification has not.

- a verdict was posted already: nothing to do (the usual case);
- the command is final: SSM's notification never arrived; judge and post as usual, saying so;
- the command still runs: SSM ends every command by its expiry (delivery timeout plus the
  document's execution timeout), so post a `stuck` alert, once. It is not the command's
  verdict: when the command ends, SNS brings that, and it is posted once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from apcu_notifier.facts import (
    CommandFacts,
    Facts,
    UnknownCommand,
    group_target,
    read_command,
    read_groups,
    read_invocations,
)
from apcu_notifier.notification import FINAL_STATUSES, WatchdogNotification
from apcu_notifier.observability import logger, metrics
from apcu_notifier.posting import deliver, once
from apcu_notifier.verdict import (
    Verdict,
    VerdictKind,
    describe_target,
    judge,
    problems,
    unknown_command,
)
from apcu_record.item import VIA_WATCHDOG

if TYPE_CHECKING:
    from apcu_notifier.handler import Runtime


def check(
    notification: WatchdogNotification, rt: Runtime, remaining: Callable[[], float]
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
        return _stuck(command, rt, remaining)

    def decide() -> Verdict:
        names = group_target(command.targets)
        groups, missing = read_groups(names, autoscaling=rt.autoscaling) if names else ((), ())
        facts = Facts(command, read_invocations(command_id, ssm=rt.ssm), groups, missing)
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
    command = facts.command
    return Verdict(
        kind=VerdictKind.STUCK,
        command_id=command.command_id,
        status=command.status,
        status_details=command.status_details,
        document_name=command.document_name,
        comment=command.comment,
        requested=command.requested,
        target=describe_target(facts),
        targeted=command.target_count,
        succeeded=sum(1 for i in facts.invocations if i.status == "Success"),
        problems=problems(facts.invocations),
    )


def _stuck(command: CommandFacts, rt: Runtime, remaining: Callable[[], float]) -> dict[str, Any]:
    command_id = command.command_id
    if rt.ledger is not None and not rt.ledger.mark_stuck(command_id):
        logger.info("watchdog: a stuck alert was already posted, or the verdict came meanwhile")
        metrics.add_metric(name="NotificationDuplicate", unit=MetricUnit.Count, value=1)
        return {"command_id": command_id, "duplicate": True}
    logger.warning(
        "watchdog: the command is still not final after its expiry; posting a stuck alert",
        extra={"status": command.status},
    )
    try:
        facts = Facts(command, read_invocations(command_id, ssm=rt.ssm), (), ())
        outcome = deliver(stuck_verdict(facts), rt, remaining)
    except BaseException:
        if rt.ledger is not None:
            rt.ledger.unmark_stuck(command_id)
        raise
    return outcome
