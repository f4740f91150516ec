"""Facts -> Verdict, with no I/O (design.md, "Verdicts").

The order of the rules matters: a failed command is reported as failed whatever else is true;
a group that has gone cannot be counted; only then are counts compared.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from enum import StrEnum

from apcu_notifier.facts import (
    GROUP_TAG,
    Facts,
    InvocationFacts,
    error_text,
    group_target,
    instance_ids,
)
from apcu_notifier.notification import UnreadableReason

FAILED_STATUSES = frozenset({"Failed", "TimedOut", "Cancelled"})
# SSM's StatusDetails when a tag matched no instance (facts.md).
NO_INSTANCES_IN_TAG = "No Instances In Tag"
EXCERPT_CHARS = 300


class VerdictKind(StrEnum):
    OK = "ok"
    NO_TARGETS = "no_targets"
    MISMATCH = "mismatch"
    PARTIAL = "partial"
    FAILED = "failed"
    GROUP_NOT_FOUND = "group_not_found"
    UNKNOWN_COMMAND = "unknown_command"
    UNREADABLE = "unreadable"
    # The watchdog found the command still running after its expiry; not its verdict.
    STUCK = "stuck"

    @property
    def metric_name(self) -> str:
        return "Verdict" + "".join(part.title() for part in self.value.split("_"))


class TargetKind(StrEnum):
    GROUP = "group"
    INSTANCES = "instances"
    OTHER = "other"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Target:
    kind: TargetKind
    values: tuple[str, ...] = ()
    key: str = ""


@dataclass(frozen=True)
class Problem:
    """An invocation that did not end in Success."""

    instance_id: str
    status: str
    status_details: str
    excerpt: str


@dataclass(frozen=True)
class Scaling:
    desired: int
    in_service: int
    pending: int
    terminating: int

    @property
    def is_scaling(self) -> bool:
        return bool(self.pending or self.terminating or self.in_service != self.desired)


@dataclass(frozen=True)
class Cleared:
    entries: int
    instances: int


@dataclass(frozen=True)
class Verdict:
    kind: VerdictKind
    command_id: str = ""
    status: str = ""
    status_details: str = ""
    document_name: str = ""
    comment: str = ""
    requested: dt.datetime | None = None
    target: Target = Target(TargetKind.UNKNOWN)
    expected: int | None = None
    targeted: int = 0
    succeeded: int = 0
    missing_instances: tuple[str, ...] = ()
    # Reached but not InService in the group: Standby, a warm pool, terminating, or an
    # instance that carries the group's tag without being a member.
    outside_in_service: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()
    missing_groups: tuple[str, ...] = ()
    scaling: Scaling | None = None
    cleared: Cleared | None = None
    # For UNREADABLE: what was wrong and what the notification said.
    reason: UnreadableReason | None = None
    excerpt: str = ""
    # Reached by the watchdog because SSM's notification never arrived.
    notification_missing: bool = False

    @property
    def is_alert(self) -> bool:
        return self.kind is not VerdictKind.OK

    @property
    def empty_group(self) -> bool:
        """A group that wants no instance: nothing held a cache, nothing to clear."""
        return self.target.kind is TargetKind.GROUP and self.expected == 0 and self.targeted == 0


def judge(facts: Facts) -> Verdict:
    command = facts.command
    target = describe_target(facts)
    succeeded = sum(1 for i in facts.invocations if i.status == "Success")
    base = Verdict(
        kind=VerdictKind.OK,
        command_id=command.command_id,
        status=command.status,
        status_details=command.status_details,
        document_name=command.document_name,
        comment=command.comment,
        requested=command.requested,
        target=target,
        targeted=command.target_count,
        succeeded=succeeded,
        problems=problems(facts.invocations),
        cleared=cleared(facts.invocations),
    )
    if target.kind is TargetKind.GROUP:
        return _judge_group(facts, base)
    if command.status in FAILED_STATUSES:
        kind = VerdictKind.FAILED
    elif command.target_count == 0:
        kind = VerdictKind.NO_TARGETS
    elif base.problems:
        kind = VerdictKind.PARTIAL
    else:
        kind = VerdictKind.OK
    # Named instances are a count to hold the command to; another tag is not.
    expected = len(target.values) if target.kind is TargetKind.INSTANCES else None
    return replace(base, kind=kind, expected=expected)


def _judge_group(facts: Facts, base: Verdict) -> Verdict:
    in_service = sorted(
        {
            i.instance_id
            for g in facts.groups
            for i in g.instances
            if i.lifecycle_state == "InService"
        }
    )
    states = [i.lifecycle_state for g in facts.groups for i in g.instances]
    desired = sum(g.desired_capacity for g in facts.groups)
    reached = instance_ids(facts.invocations)
    missing = tuple(i for i in in_service if i not in reached)
    outside = tuple(sorted(i for i in reached if i not in set(in_service)))
    if base.status in FAILED_STATUSES:
        kind = VerdictKind.FAILED
    elif facts.missing_groups:
        kind = VerdictKind.GROUP_NOT_FOUND
    elif desired > 0 and (base.targeted == 0 or base.status_details == NO_INSTANCES_IN_TAG):
        kind = VerdictKind.NO_TARGETS
    elif base.targeted < desired or missing:
        # More targets than DesiredCapacity, with every InService instance reached, is not a
        # miss: Standby and warm-pool instances keep the group's tag but are not counted in
        # DesiredCapacity. They are named as outside InService instead of raising an alert.
        kind = VerdictKind.MISMATCH
    elif base.problems:
        kind = VerdictKind.PARTIAL
    else:
        kind = VerdictKind.OK
    return replace(
        base,
        kind=kind,
        expected=desired,
        missing_instances=missing,
        outside_in_service=outside,
        missing_groups=facts.missing_groups,
        scaling=Scaling(
            desired=desired,
            in_service=len(in_service),
            pending=sum(1 for s in states if s.startswith("Pending")),
            terminating=sum(1 for s in states if s.startswith("Terminating")),
        ),
    )


def describe_target(facts: Facts) -> Target:
    command = facts.command
    names = group_target(command.targets)
    if names:
        return Target(TargetKind.GROUP, names, GROUP_TAG)
    if command.targets:
        first = command.targets[0]
        if first.key == "InstanceIds":
            return Target(TargetKind.INSTANCES, first.values, first.key)
        return Target(
            TargetKind.OTHER,
            tuple(f"{t.key}={','.join(t.values)}" for t in command.targets),
            first.key,
        )
    if command.instance_ids:
        return Target(TargetKind.INSTANCES, command.instance_ids)
    return Target(TargetKind.UNKNOWN)


def problems(invocations: tuple[InvocationFacts, ...]) -> tuple[Problem, ...]:
    return tuple(
        Problem(
            instance_id=i.instance_id,
            status=i.status,
            status_details=i.status_details,
            excerpt=_tail(error_text(i.output), EXCERPT_CHARS),
        )
        for i in sorted(invocations, key=lambda i: i.instance_id)
        if i.status != "Success"
    )


def cleared(invocations: tuple[InvocationFacts, ...]) -> Cleared | None:
    answers = [i.answer for i in invocations if i.status == "Success" and i.answer is not None]
    if not answers:
        return None
    return Cleared(entries=sum(a.cleared for a in answers), instances=len(answers))


def unknown_command(command_id: str, status: str) -> Verdict:
    return Verdict(kind=VerdictKind.UNKNOWN_COMMAND, command_id=command_id, status=status)


def unreadable(reason: UnreadableReason, excerpt: str) -> Verdict:
    return Verdict(kind=VerdictKind.UNREADABLE, reason=reason, excerpt=excerpt)


def _tail(text: str, limit: int) -> str:
    # The end of an error output says why it failed (curl's last line, the shell's exit).
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]
