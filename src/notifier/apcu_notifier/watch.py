"""A clear's first command: waiting for it to end (a callback the relay completes), then reading
and judging it (docs/design.md, "The clear, step by step", 3 and 4)."""

from __future__ import annotations

import datetime as dt
from contextlib import suppress
from dataclasses import dataclass
from functools import partial

from aws_durable_execution_sdk_python import CallbackTimeoutError, DurableContext
from aws_durable_execution_sdk_python.config import CallbackConfig, Duration
from aws_durable_execution_sdk_python.serdes import JsonSerDes

from apcu_clear import command, lifecycle, record
from apcu_clear.observability import count
from apcu_clear.record import Clear
from apcu_notifier import facts
from apcu_notifier.config import Runtime
from apcu_notifier.durable import step
from apcu_notifier.judge import judge
from apcu_notifier.verdict import Verdict, VerdictKind, still_running, unknown_command

GRACE = dt.timedelta(minutes=1)
LOOK_EVERY = dt.timedelta(minutes=15)
LOOKS = 8
# A held instance's hook times out after its HeartbeatTimeout (600 s in docs/deploy.md's
# examples, at least 30 s): the clear records a heartbeat at least this often.
HEARTBEAT_EVERY = dt.timedelta(minutes=4)
SETTLE_LOOKS = 4
SETTLE_WAIT = Duration.from_seconds(10)


@dataclass(frozen=True)
class Seen:
    ended: bool
    status: str
    # SSM's notification of the final status arrived (the relay noted it).
    notified: bool
    seconds_left: int


@dataclass(frozen=True)
class Ended:
    status: str
    # Ended, but SSM's notification never arrived while the clear waited: that path is broken.
    notification_missing: bool = False


def wait_for_command(
    ctx: DurableContext, rt: Runtime, clear_id: str, clear: Clear | None, seconds_left: int
) -> Ended | None:
    """The command's final status, or None when it never ended (the clear gave up looking)."""
    hold = clear.hold if clear is not None else None
    while True:
        slice_ = seconds_left if hold is None else min(seconds_left, HEARTBEAT_EVERY.seconds)
        config = CallbackConfig(timeout=Duration.from_seconds(max(slice_, 1)), serdes=JsonSerDes())
        callback = ctx.create_callback(name="SSM's notification", config=config)
        first = partial(_look, rt, clear_id, clear, callback.callback_id)
        seen = step(ctx, "record the callback, look at the command", first, Seen)
        if seen.ended:
            return Ended(seen.status)
        with suppress(CallbackTimeoutError):
            return Ended(str((callback.result() or {}).get("status", "")))
        if clear is None or hold is None or seen.seconds_left <= slice_:
            break
        heartbeat = partial(lifecycle.heartbeat, rt.autoscaling, clear.group, hold)
        step(ctx, "keep the launch action held", heartbeat, bool)
        seconds_left = seen.seconds_left - slice_
    look = partial(_look, rt, clear_id, clear)
    seen = step(ctx, "look at the command after its expiry", look, Seen)
    if seen.ended:
        return Ended(seen.status, notification_missing=not seen.notified)
    live = step(ctx, "read the stuck command", lambda: command.live(rt.ssm, clear_id), command.Live)
    count("CommandStuck")
    # Imported here: posting's messages name this module's LOOKS.
    from apcu_notifier import posting

    stuck = still_running(VerdictKind.STUCK, clear_id, live)
    posting.alert(ctx, rt, "post the stuck alert", stuck, clear)
    for number in range(1, LOOKS + 1):
        wait = Duration.from_seconds(LOOK_EVERY.seconds)
        ctx.wait(wait, name=f"wait 15 minutes ({number} of {LOOKS})")
        seen = step(ctx, f"look at the command again ({number} of {LOOKS})", look, Seen)
        if seen.ended:
            return Ended(seen.status, notification_missing=not seen.notified)
    return None


def _look(rt: Runtime, clear_id: str, clear: Clear | None, callback_id: str = "") -> Seen:
    now = rt.now()
    if callback_id:
        notified = record.record_callback(rt.dynamodb, rt.table, clear_id, callback_id, now)
    else:
        stored = record.read(rt.dynamodb, rt.table, clear_id)
        notified = stored.notified if stored else ""
    left = seconds_left(clear, now)
    if notified:
        return Seen(True, notified, True, left)
    live = command.live(rt.ssm, clear_id)
    # A command SSM no longer knows cannot be waited for: its verdict says so.
    ended = live.final or live is command.GONE
    if ended and not callback_id:
        count("NotificationMissing")
    return Seen(ended, live.status, False, left)


def seconds_left(clear: Clear | None, now: dt.datetime) -> int:
    """Until a minute after the first command's expiry. A command the dispatcher never recorded
    was started by its notification (already final): a minute is plenty."""
    if clear is None or not clear.expires_at:
        return GRACE.seconds
    return max(int((record.parse_iso(clear.expires_at) + GRACE - now).total_seconds()), 1)


def judge_command(ctx: DurableContext, rt: Runtime, command_id: str, status: str) -> Verdict:
    """The verdict on the command SSM said ended with `status`, a run of pages of it per step."""
    found: facts.CommandFacts | None = None
    for look in range(1, SETTLE_LOOKS + 1):
        name = "read the command" + (f" ({look})" if look > 1 else "")
        found = step(ctx, name, lambda: _command(rt, command_id), facts.CommandFacts | None)
        if found is None or found.final or look == SETTLE_LOOKS:
            break
        ctx.wait(SETTLE_WAIT, name="wait for SSM to list the command as ended")
    if found is None:
        return unknown_command(command_id, status)
    invocations: list[facts.InvocationFacts] = []
    token, run = "", 0
    while run == 0 or token:
        run += 1
        read = partial(facts.read_invocations, rt.ssm, command_id, token)
        page = step(ctx, f"read the invocations of the command ({run})", read, facts.Page)
        invocations.extend(page.invocations)
        token = page.next_token
    read_facts = partial(facts.read_facts, rt.autoscaling, rt.ec2, found, tuple(invocations))
    return step(ctx, "judge the command", lambda: judge(read_facts()), Verdict)


def _command(rt: Runtime, command_id: str) -> facts.CommandFacts | None:
    try:
        return facts.read_command(rt.ssm, command_id)
    except facts.UnknownCommand:
        return None
