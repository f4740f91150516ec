"""A retry round: the same clear sent again to named instances, 50 to a command, waited for and
judged, while the group's claim is still this clear's own (docs/design.md, step 5)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import partial

from aws_durable_execution_sdk_python import DurableContext
from aws_durable_execution_sdk_python.config import Duration

from apcu_clear import agents, alarm, claim, command, lifecycle, record
from apcu_clear.command import MAX_INSTANCE_IDS
from apcu_clear.observability import count
from apcu_clear.record import Clear
from apcu_notifier.attempts import Attempt, Plan, attempt_of, plan
from apcu_notifier.config import Runtime
from apcu_notifier.durable import step
from apcu_notifier.facts import Facts, in_service, read_command, read_invocations
from apcu_notifier.judge import judge
from apcu_notifier.verdict import Stale, Verdict

ALARM_LOOK = Duration.from_minutes(5)
ALARM_LOOKS = 6
MARGIN = dt.timedelta(minutes=2)
SENDS_PER_STEP = 10
JUDGED_PER_STEP = 10
FIRST_PAUSE, LONGEST_PAUSE = 5, 300


def plan_round(
    ctx: DurableContext, rt: Runtime, group: str, stale: Sequence[Stale], number: int, held: str
) -> Plan:
    """Whom the round may clear: InService (or held for this clear, Pending:Wait) and Online."""

    def read() -> Plan:
        live = in_service(rt.autoscaling, group, held)
        candidates = [s.instance_id for s in stale if s.instance_id in live]
        return plan(stale, live, agents.online(rt.ssm, candidates))

    return step(ctx, f"plan attempt {number}", read, Plan)


def alarm_allows(ctx: DurableContext, rt: Runtime, clear: Clear, number: int) -> str:
    """ "ok" once the stop alarm is not in ALARM; "alarm" when it stayed there; "claim" when the
    clear lost its group meanwhile. The claim is kept to the next look at each look."""
    name = rt.config.shared.commands.stop_alarm_name
    if not name:
        return "ok"
    for look in range(ALARM_LOOKS + 1):
        step_name = f"look at the stop alarm before attempt {number} ({look + 1})"
        state = step(ctx, step_name, partial(_alarm, rt, clear, name), str)
        if state != "firing":
            return state
        if look < ALARM_LOOKS:
            ctx.wait(ALARM_LOOK, name=f"wait for the stop alarm before attempt {number}")
    return "alarm"


def _alarm(rt: Runtime, clear: Clear, name: str) -> str:
    keep_held(rt, clear)
    try:
        firing = alarm.read_alarm(rt.cloudwatch, name).firing
    except alarm.AlarmNotFound:
        # SSM cannot read it either and would stop the command unrun: the same as firing.
        firing = True
    if not firing:
        return "ok"
    until = rt.now() + dt.timedelta(seconds=ALARM_LOOK.to_seconds()) + MARGIN
    if not claim.extend(rt.dynamodb, rt.table, clear.claim_key, clear.clear_id, until=until):
        return "claim"
    count("ClearRetryWaiting")
    return "firing"


def send_round(
    ctx: DurableContext, rt: Runtime, clear: Clear, targets: Sequence[str], number: int
) -> Attempt | None:
    """Send the round and judge it; None when the clear no longer holds its group."""
    lifetime = rt.config.shared.commands.lifetime
    keep = partial(_keep, rt, clear, lifetime)
    started = step(ctx, f"keep the group for attempt {number}", keep, str)
    if not started:
        return None
    size = MAX_INSTANCE_IDS
    batches = list(enumerate(tuple(targets[i : i + size]) for i in range(0, len(targets), size)))
    commands: list[str] = []
    for first in range(0, len(batches), SENDS_PER_STEP):
        send = partial(_send, rt, clear, batches[first : first + SENDS_PER_STEP], number, started)
        name = f"send attempt {number} ({first // SENDS_PER_STEP + 1})"
        commands.extend(step(ctx, name, send, tuple[str, ...]))
    count("ClearRetried")
    for pause in pauses(lifetime + MARGIN):
        ctx.wait(Duration.from_seconds(pause), name=f"wait for attempt {number}")
        if step(ctx, f"look at attempt {number}", partial(_ended, rt, clear, commands), bool):
            break
    results: list[Verdict] = []
    for first in range(0, len(commands), JUDGED_PER_STEP):
        ids = commands[first : first + JUDGED_PER_STEP]
        name = f"judge attempt {number} ({first // JUDGED_PER_STEP + 1})"
        results.extend(step(ctx, name, partial(_judge, rt, ids), tuple[Verdict, ...]))
    return attempt_of(number, tuple(targets), results)


def _keep(rt: Runtime, clear: Clear, lifetime: dt.timedelta) -> str:
    """Extend the claim to the round's end; the round's start ("" when the claim is lost)."""
    now = rt.now()
    until = now + lifetime + MARGIN
    kept = claim.extend(rt.dynamodb, rt.table, clear.claim_key, clear.clear_id, until=until)
    return record.iso(now) if kept else ""


# SendCommand has no idempotency token: a send step looks first for what it sent (docs/design.md).
def _send(
    rt: Runtime, clear: Clear, batches: list[tuple[int, tuple[str, ...]]], number: int, started: str
) -> tuple[str, ...]:
    since = record.parse_iso(started) - dt.timedelta(minutes=1)
    sent: list[str] = []
    for index, instance_ids in batches:
        params = command.build(
            rt.config.shared.commands,
            action=clear.action,
            prefix=clear.prefix,
            comment=retry_comment(clear, number, index),
            instance_ids=instance_ids,
        )
        found = command.find_sent(rt.ssm, params, since=since)
        sent.append((found or command.send(rt.ssm_send, rt.ssm, params, since=since)).command_id)
    record.record_commands(rt.dynamodb, rt.table, clear.clear_id, sent)
    return tuple(sent)


def retry_comment(clear: Clear, number: int, batch: int) -> str:
    """Names the clear, the attempt and the batch, for a lookup and for the Run Command history."""
    tail = f"attempt {number}.{batch + 1} of {clear.clear_id}"
    who = command.requester_names(clear.requester)[-1]
    return f"{who[: command.MAX_COMMENT - len(tail) - 2]}: {tail}" if who else tail


def keep_held(rt: Runtime, clear: Clear) -> None:
    """A held launch action's heartbeat, at each look (no wait between looks is over 5 minutes)."""
    if clear.hold is not None:
        lifecycle.heartbeat(rt.autoscaling, clear.group, clear.hold)


def pauses(total: dt.timedelta) -> list[int]:
    """The pauses between looks at a round (its commands carry no notification), growing until they
    cover the commands' lifetime: a count, not a clock, and the round is judged after the last."""
    found, pause, covered = [], FIRST_PAUSE, 0
    while covered < total.total_seconds():
        found.append(pause)
        covered += pause
        pause = min(pause * 2, LONGEST_PAUSE)
    return found


def _ended(rt: Runtime, clear: Clear, commands: Sequence[str]) -> bool:
    keep_held(rt, clear)
    statuses = [command.live(rt.ssm, c).status for c in commands]
    return all(s in command.FINAL_STATUSES or s == command.GONE.status for s in statuses)


# Each retry command names at most 50 instances: one page of invocations each.
def _judge(rt: Runtime, commands: Sequence[str]) -> tuple[Verdict, ...]:
    return tuple(
        judge(Facts(read_command(rt.ssm, c), read_invocations(rt.ssm, c).invocations, (), ()))
        for c in commands
    )
