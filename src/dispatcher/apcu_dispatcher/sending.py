"""Starting a clear: claim its target, check that nothing forbids it, send the first command,
record the clear, and start the clear's durable execution on the notifier.

Only the claim's holder sends, so of two requests at the same moment exactly one clear goes
out. A refusal or a failure before SendCommand gives the claim back. After a SendCommand whose
outcome is unknown the claim stays until the command must have ended, so that nothing clears
the fleet twice. Once the command is sent, nothing that follows raises: the record, the claim's
holder and the execution's start are the clear's, and SSM's notification starts the execution
if the dispatcher could not.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from apcu_clear import alarm, claim, command, record
from apcu_clear.aws import never_arrived
from apcu_clear.command import OutcomeUnknown, Sent
from apcu_clear.errors import CLEAR_IN_PROGRESS, Conflict
from apcu_clear.observability import count, logger
from apcu_dispatcher import answers, guard
from apcu_dispatcher.preflight import plan_flush
from apcu_dispatcher.runtime import Runtime
from apcu_dispatcher.validation import FlushRequest

if TYPE_CHECKING:
    from mypy_boto3_ssm.type_defs import SendCommandRequestTypeDef

# The claim lasts to the clear's last possible end: its commands' lifetime and this margin.
MARGIN = dt.timedelta(minutes=5)
# Attempts at SendCommand when AWS rejected it unrun (throttled, or never connected).
SEND_ATTEMPTS = 3


@dataclass(frozen=True)
class Started:
    command_id: str
    body: dict[str, Any]


def clear_group(request: FlushRequest, rt: Runtime) -> Started | dict[str, Any]:
    """The 202's Started, or a dry run's plan (nothing taken, nothing sent)."""
    key = claim.group_key(request.group)
    what = f"group {request.group}"
    settings = rt.config.shared.commands
    if request.dry_run:
        held = claim.held(rt.dynamodb, rt.table, key, now=rt.now())
        if held is not None:
            raise in_progress(what, held, rt.region)
        guard.refuse_if_running(rt, what, lambda c: guard.targets_group(c, request.group))
        state = alarm_allows(rt)
        plan = plan_flush(request.group, rt.autoscaling, rt.ssm)
        params = command.build(
            settings, **_what(request), group=request.group, notify=rt.config.notify
        )
        return answers.dry_run(plan, dict(params), state)
    taken = take(rt, key, what)
    with giving_back(rt, taken):
        guard.refuse_if_running(rt, what, lambda c: guard.targets_group(c, request.group))
        state = alarm_allows(rt)
        plan = plan_flush(request.group, rt.autoscaling, rt.ssm)
        params = command.build(
            settings, **_what(request), group=request.group, notify=rt.config.notify
        )
        sent = send(rt, params)
    warnings = begin(rt, request, sent, taken)
    body = answers.accepted(
        sent.command_id,
        plan,
        action=request.action,
        prefix=request.prefix,
        region=rt.region,
        alarm=state,
        warnings=warnings,
    )
    return Started(sent.command_id, body)


def begin(
    rt: Runtime, request: FlushRequest, sent: Sent, taken: claim.Taken
) -> list[dict[str, Any]]:
    """After SendCommand: name the clear on its claim, record it, start its execution. Never
    raises: the command runs whatever happens here, and SSM's notification starts the clear if
    the dispatcher could not (without a record, it is judged but not retried). Each write is
    idempotent, so each is tried again, a few times."""
    until = sent.expires_at + MARGIN
    clear = record.Clear(
        clear_id=sent.command_id,
        group=request.group,
        action=request.action,
        prefix=request.prefix or "",
        requester=request.requester,
        comment=request.comment or "",
        origin=request.origin,
        requested_at=record.iso(sent.requested_at),
        expires_at=record.iso(sent.expires_at),
        claim_key=taken.key,
        hold=request.hold,
    )
    warnings: list[dict[str, Any]] = []
    if not _again(
        lambda: claim.name_holder(rt.dynamodb, rt.table, taken, sent.command_id, until=until)
    ):
        count("ClaimNotNamed")
    if not _again(lambda: record.create(rt.dynamodb, rt.table, clear)):
        logger.error(
            "command sent but not recorded; its clear judges it without a record",
            extra={"command_id": sent.command_id},
        )
        count("ClearNotRecorded")
        warnings.append(answers.not_recorded())
    return warnings + start_execution(rt, sent.command_id)


def start_execution(rt: Runtime, clear_id: str) -> list[dict[str, Any]]:
    """Start the clear's durable execution, named by its id: a start repeated (by the relay, by
    a try again here, or by Lambda's retry of this request) finds the same execution."""
    payload = json.dumps({"commandId": clear_id}).encode()
    started = _again(
        lambda: rt.lambda_.invoke(
            FunctionName=rt.config.notifier_alias_arn,
            InvocationType="Event",
            DurableExecutionName=clear_id,
            Payload=payload,
        )
    )
    if started:
        return []
    logger.error(
        "the clear's execution was not started; SSM's notification will start it",
        extra={"command_id": clear_id},
    )
    count("ClearNotStarted")
    return [answers.not_started()]


def _again(write: Callable[[], object], attempts: int = 3) -> bool:
    """Run an idempotent write, again after a short pause if it fails; whether it was done."""
    for attempt in range(1, attempts + 1):
        try:
            write()
        except Exception:
            logger.warning(
                "a write after SendCommand failed", extra={"attempt": attempt}, exc_info=True
            )
            if attempt < attempts:
                time.sleep(0.2 * attempt)
            continue
        return True
    return False


def take(rt: Runtime, key: str, what: str) -> claim.Taken:
    now = rt.now()
    taken = claim.take(
        rt.dynamodb, rt.table, key, now=now, until=now + rt.config.shared.commands.lifetime + MARGIN
    )
    if isinstance(taken, claim.Held):
        raise in_progress(what, taken, rt.region)
    return taken


class giving_back:
    """Give the claim back when what it guards fails before anything was sent; keep it when a
    command may have been sent (OutcomeUnknown)."""

    def __init__(self, rt: Runtime, taken: claim.Taken) -> None:
        self.rt, self.taken = rt, taken

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, _: object
    ) -> None:
        if error is None or isinstance(error, OutcomeUnknown):
            return
        try:
            claim.give_back(self.rt.dynamodb, self.rt.table, self.taken)
        except Exception:
            logger.exception(
                "could not give the claim back; it expires on its own",
                extra={"claim": self.taken.key},
            )
            count("ClaimReleaseFailed")


def send(
    rt: Runtime, params: SendCommandRequestTypeDef, sleep: Callable[[float], None] = time.sleep
) -> Sent:
    """SendCommand, tried again only when AWS rejected it unrun. An unknown outcome is
    OutcomeUnknown, raised as a 503 that names the command's comment."""
    since = rt.now() - dt.timedelta(minutes=1)
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            return command.send(rt.ssm_send, rt.ssm, params, since=since)
        except OutcomeUnknown:
            raise
        except Exception as error:
            if attempt == SEND_ATTEMPTS or not never_arrived(error):
                raise
            # Full jitter, as botocore's standard mode backs off.
            sleep(random.uniform(0, 2**attempt))  # noqa: S311 (jitter, not a secret)
    raise AssertionError("unreachable: the last attempt returns or raises")


def alarm_allows(rt: Runtime) -> alarm.AlarmState | None:
    """The stop alarm's state; 409 when it fires, or when it does not exist (SSM could not read
    it either, and would stop the command before it ran)."""
    name = rt.config.shared.commands.stop_alarm_name
    if not name:
        return None
    try:
        state = alarm.read_alarm(rt.cloudwatch, name)
    except alarm.AlarmNotFound:
        raise Conflict(
            f"the stop alarm {name} does not exist in CloudWatch, so no clear can run under its brake; "
            "nothing was sent. Create the alarm, or fix the stack's StopAlarmName",
            rule="alarm-not-found",
            details={"alarm": {"name": name}},
        ) from None
    if state.firing:
        since = state.to_json()["since"] or "an unknown time"
        raise Conflict(
            f"the stop alarm {name} is in ALARM since {since} ({state.reason[:200] or 'no reason given'}); "
            "a clear now would send every cache miss to a database that is already suffering. "
            "Nothing was sent; clear again once the alarm is OK",
            rule="alarm-firing",
            details={"alarm": state.to_json()},
        )
    return state


def in_progress(what: str, held: claim.Held, region: str) -> Conflict:
    """The 409 a request gets while a clear holds its target: which, and where to watch it."""
    holder = held.holder or None
    running = (
        f"command {holder}, requested {held.requested_at or 'at an unknown time'}"
        if holder
        else f"claimed {held.requested_at or 'at an unknown time'}, still being sent"
    )
    return Conflict(
        f"a clear of {what} is still running ({running}); wait for its verdict, nothing was sent",
        rule=CLEAR_IN_PROGRESS,
        details={
            "runningCommand": {
                "commandId": holder,
                "requestedAt": held.requested_at or None,
                "consoleUrl": command.console_url(region, holder) if holder else None,
            }
        },
    )


def _what(request: FlushRequest) -> dict[str, str]:
    return {
        "action": request.action,
        "prefix": request.prefix or "",
        "comment": command.command_comment(request.requester, request.comment or ""),
    }
