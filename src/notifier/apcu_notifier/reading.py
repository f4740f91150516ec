"""Judging a command: read it, read its invocations a run of pages per step, then read its
groups and judge, each a step of the clear whose checkpointed result stays small.

SNS can outrun SSM's own ListCommands (eventual consistency): a command notified final but
listed running is read again after a short durable wait, a few times, before it is judged as
it stands.
"""

from __future__ import annotations

from functools import partial

from aws_durable_execution_sdk_python import DurableContext
from aws_durable_execution_sdk_python.config import Duration

from apcu_notifier.durable import step
from apcu_notifier.facts import (
    CommandFacts,
    Facts,
    InvocationFacts,
    Page,
    UnknownCommand,
    missing_in_service,
    read_command,
    read_groups,
    read_invocations,
    read_launches,
)
from apcu_notifier.judge import judge
from apcu_notifier.runtime import Runtime
from apcu_notifier.verdict import Verdict, unknown_command

SETTLE_LOOKS = 4
SETTLE_WAIT = Duration.from_seconds(10)


def judge_command(
    ctx: DurableContext, rt: Runtime, command_id: str, status: str, *, label: str = ""
) -> Verdict:
    """The verdict on one command SSM said ended with `status`."""
    label = label or "the command"
    facts: CommandFacts | None = None
    for look in range(1, SETTLE_LOOKS + 1):
        facts = step(
            ctx,
            f"read {label}" + (f" ({look})" if look > 1 else ""),
            lambda: _command(rt, command_id),
            CommandFacts | None,
        )
        if facts is None or facts.final or look == SETTLE_LOOKS:
            break
        ctx.wait(SETTLE_WAIT, name=f"wait for SSM to list {label} as ended")
    if facts is None:
        return unknown_command(command_id, status)
    invocations: list[InvocationFacts] = []
    token, run = "", 0
    while True:
        run += 1
        page = step(
            ctx,
            f"read the invocations of {label} ({run})",
            partial(read_invocations, rt.ssm, command_id, token),
            Page,
        )
        invocations.extend(page.invocations)
        token = page.next_token
        if not token:
            break
    found = tuple(invocations)
    return step(ctx, f"judge {label}", lambda: judge(facts_of(rt, facts, found)), Verdict)


def _command(rt: Runtime, command_id: str) -> CommandFacts | None:
    try:
        return read_command(rt.ssm, command_id)
    except UnknownCommand:
        return None


def facts_of(rt: Runtime, command: CommandFacts, invocations: tuple[InvocationFacts, ...]) -> Facts:
    """Everything a verdict needs beside the invocations: the groups the command targeted, and
    the launch times of InService instances it missed."""
    names = command.group_names
    groups, missing = read_groups(rt.autoscaling, names) if names else ((), ())
    absent = missing_in_service(groups, invocations)
    launches = read_launches(rt.ec2, absent) if absent else ()
    return Facts(command, invocations, groups, missing, launches)
