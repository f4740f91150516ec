"""Waiting for a clear's first command to end.

The clear waits on a callback that the relay completes when SSM's notification of a final
status arrives. Before it waits, one step records the callback's id on the clear's record and
reads back whether the relay was there first, and otherwise reads the live status: a command
that ended before the wait began is not waited for.

The callback times out a minute after the command's expiry. Then the clear looks at the
command itself: ended, its verdict says SSM's notification never arrived (that path is broken:
metric NotificationMissing); still running, the stuck alert, then a look every 15 minutes for two
hours. A clear held by a launch lifecycle hook waits in slices and records a heartbeat between
them, so that Auto Scaling keeps the instance waiting.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import partial

from aws_durable_execution_sdk_python import CallbackTimeoutError, DurableContext
from aws_durable_execution_sdk_python.config import CallbackConfig, Duration
from aws_durable_execution_sdk_python.serdes import JsonSerDes

from apcu_clear import command, lifecycle, record
from apcu_clear.observability import count
from apcu_clear.record import Clear
from apcu_notifier.durable import step
from apcu_notifier.runtime import Runtime

# The callback's timeout runs to this long after SSM's expiry of the command.
GRACE = dt.timedelta(minutes=1)
LOOK_EVERY = dt.timedelta(minutes=15)
LOOKS = 8
# A held instance's hook times out after its HeartbeatTimeout (600 s in docs/deploy.md's
# examples, at least 30 s): the clear records a heartbeat at least this often.
HEARTBEAT_EVERY = dt.timedelta(minutes=4)


@dataclass(frozen=True)
class Seen:
    """How the command stood when the clear looked."""

    ended: bool
    status: str
    # SSM's notification of the final status arrived (the relay noted it).
    notified: bool
    # Until the wait runs out (the command's expiry and GRACE), from the look.
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
    held = clear is not None and clear.hold is not None
    while True:
        slice_ = min(seconds_left, int(HEARTBEAT_EVERY.total_seconds())) if held else seconds_left
        callback = ctx.create_callback(
            name="SSM's notification",
            config=CallbackConfig(
                timeout=Duration.from_seconds(max(slice_, 1)), serdes=JsonSerDes()
            ),
        )
        seen = step(
            ctx,
            "record the callback, look at the command",
            partial(_look, rt, clear_id, clear, callback.callback_id),
            Seen,
        )
        if seen.ended:
            return Ended(seen.status)
        try:
            notified = callback.result()
            return Ended(str((notified or {}).get("status", "")))
        except CallbackTimeoutError:
            pass
        if held and seen.seconds_left > slice_:
            assert clear is not None and clear.hold is not None
            hold = clear.hold
            step(
                ctx,
                "keep the launch action held",
                partial(lifecycle.heartbeat, rt.autoscaling, clear.group, hold),
                bool,
            )
            seconds_left = seen.seconds_left - slice_
            continue
        return _watch_past_expiry(ctx, rt, clear_id, clear)


def _watch_past_expiry(
    ctx: DurableContext, rt: Runtime, clear_id: str, clear: Clear | None
) -> Ended | None:
    seen = step(
        ctx, "look at the command after its expiry", lambda: _look(rt, clear_id, clear), Seen
    )
    if seen.ended:
        return Ended(seen.status, notification_missing=not seen.notified)
    from apcu_notifier import posting

    posting.stuck(ctx, rt, clear_id, clear)
    for look in range(1, LOOKS + 1):
        ctx.wait(
            Duration.from_seconds(int(LOOK_EVERY.total_seconds())),
            name=f"wait 15 minutes ({look} of {LOOKS})",
        )
        seen = step(
            ctx,
            f"look at the command again ({look} of {LOOKS})",
            lambda: _look(rt, clear_id, clear),
            Seen,
        )
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
    if ended and callback_id == "" and not notified:
        count("NotificationMissing")
    return Seen(ended, live.status, False, left)


def seconds_left(clear: Clear | None, now: dt.datetime) -> int:
    """Until a minute after the first command's expiry. A command the dispatcher never recorded
    was started by its notification (already final): a minute is plenty."""
    if clear is None or not clear.expires_at:
        return int(GRACE.total_seconds())
    return max(int((record.parse_iso(clear.expires_at) + GRACE - now).total_seconds()), 1)
