"""Starting a clear: once apcu_dispatcher.guard allows it, send the first command, then record the
clear and start its durable execution on the notifier."""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from apcu_clear import alarm, claim, command, record
from apcu_clear.aws import never_arrived
from apcu_clear.observability import count, logger
from apcu_dispatcher import guard
from apcu_dispatcher.runtime import Runtime
from apcu_dispatcher.validation import FlushRequest

if TYPE_CHECKING:
    from mypy_boto3_ssm.type_defs import SendCommandRequestTypeDef

# Attempts at SendCommand when AWS rejected it unrun, and at each idempotent write after it.
ATTEMPTS = 3
NOT_STARTED = {
    "reason": "clear-not-started",
    "message": "the command was sent, but its clear could not be started now; SSM's notification will start it. Do not send it again.",
}
NOT_RECORDED = {
    "reason": "clear-not-recorded",
    "message": "the command was sent, but the clear could not be recorded: its verdict will be posted, but not retried, and GET /flush/{commandId} will not know it. Do not send it again.",
}


def clear_group(request: FlushRequest, rt: Runtime) -> dict[str, Any]:
    """The clear sent, or a dry run's plan (nothing taken, nothing sent)."""
    key, what = claim.group_key(request.group), f"group {request.group}"
    if request.dry_run:
        held = claim.held(rt.dynamodb, rt.table, key, now=rt.now())
        if held is not None:
            raise guard.in_progress(what, held.holder, held.requested_at, rt.region)
        plan, state, params = _prepare(rt, request, what)
        # The brake the command would carry, and whether it would hold the clear now.
        return with_alarm({"dryRun": True, "plan": plan, "wouldSend": params}, state)
    with guard.claimed(rt, key, what) as taken:
        plan, state, params = _prepare(rt, request, what)
        sent = send(rt, params)
    body = {
        "commandId": sent.command_id,
        "group": request.group,
        "action": request.action,
        "prefix": request.prefix,
        "expect": {
            "desiredCapacity": plan["desiredCapacity"],
            "inService": len(plan["inService"]),
            "managedOnline": plan["managedOnline"],
        },
        "warnings": plan["warnings"] + begin(rt, request, sent, taken),
        "consoleUrl": command.console_url(rt.region, sent.command_id),
    }
    return with_alarm(body, state)


def _prepare(
    rt: Runtime, request: FlushRequest, what: str
) -> tuple[dict[str, Any], alarm.AlarmState | None, SendCommandRequestTypeDef]:
    guard.refuse_if_running(rt, what, lambda c: guard.targets_group(c, request.group))
    state = guard.alarm_allows(rt)
    plan = guard.plan_flush(request.group, rt)
    return plan, state, parameters(rt, request, group=request.group)


def with_alarm(body: dict[str, Any], state: alarm.AlarmState | None) -> dict[str, Any]:
    return body if state is None else {**body, "stopAlarm": state.to_json()}


def parameters(rt: Runtime, request: FlushRequest, **target: Any) -> SendCommandRequestTypeDef:
    """The request's command, to its `group` or to `instance_ids`."""
    return command.build(
        rt.config.shared.commands,
        action=request.action,
        prefix=request.prefix or "",
        comment=command.command_comment(request.requester, request.comment or ""),
        notify=rt.config.notify,
        **target,
    )


def begin(
    rt: Runtime, request: FlushRequest, sent: command.Sent, taken: claim.Taken
) -> list[dict[str, str]]:
    """After SendCommand: name the clear on its claim, record it, start its execution; warnings
    for what could not be done, never an error: the command runs whatever happens here."""
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
    db, until = rt.dynamodb, sent.expires_at + guard.MARGIN
    if not _again(lambda: claim.name_holder(db, rt.table, taken, clear.clear_id, until=until)):
        count("ClaimNotNamed")
    warnings = []
    if not _again(lambda: record.create(db, rt.table, clear)):
        why = "command sent but not recorded; its clear judges it without a record"
        logger.error(why, extra={"command_id": clear.clear_id})
        count("ClearNotRecorded")
        warnings.append(NOT_RECORDED)
    if not start_execution(rt, clear.clear_id):
        warnings.append(NOT_STARTED)
    return warnings


def start_execution(rt: Runtime, clear_id: str) -> bool:
    """Start the clear's durable execution, named by its id so that a start repeated finds it."""
    payload = json.dumps({"commandId": clear_id}).encode()
    invoke = partial(rt.lambda_.invoke, FunctionName=rt.config.notifier_alias_arn, Payload=payload)
    started = _again(partial(invoke, InvocationType="Event", DurableExecutionName=clear_id))
    if not started:
        why = "the clear's execution was not started; SSM's notification will start it"
        logger.error(why, extra={"command_id": clear_id})
        count("ClearNotStarted")
    return started


def _again(write: Callable[[], object]) -> bool:
    """Run an idempotent write, again after a short pause if it fails; whether it was done."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            write()
            return True
        except Exception:
            logged = {"attempt": attempt}
            logger.warning("a write after SendCommand failed", extra=logged, exc_info=True)
            if attempt < ATTEMPTS:
                time.sleep(0.2 * attempt)
    return False


def send(rt: Runtime, params: SendCommandRequestTypeDef) -> command.Sent:
    """SendCommand, tried again only when AWS rejected it unrun."""
    since = rt.now() - dt.timedelta(minutes=1)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return command.send(rt.ssm_send, rt.ssm, params, since=since)
        except Exception as error:
            if attempt == ATTEMPTS or not never_arrived(error):
                raise
            # Full jitter, as botocore's standard mode backs off.
            time.sleep(random.uniform(0, 2**attempt))  # noqa: S311 (jitter, not a secret)
    raise AssertionError("unreachable: the last attempt returns or raises")
