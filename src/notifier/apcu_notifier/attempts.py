"""A clear's attempts, with no I/O: which stale instances another attempt may clear, and the one
verdict a clear comes to once its last attempt is judged (docs/design.md, step 5)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from apcu_notifier import verdict
from apcu_notifier.verdict import Cleared, Retried, Stale, Verdict, VerdictKind

RETRYABLE = frozenset(
    {"Failed", "TimedOut", "Undeliverable", verdict.NOT_REACHED, "Delivery Timed Out"}
    | {"DeliveryTimedOut", "Execution Timed Out", "ExecutionTimedOut"}
)
# Why no further attempt cleared an instance (Retried.note). CLAIM: another clear holds the
# group now (this one's claim ran out), and nothing more is sent.
OFFLINE, LEFT, NOT_RETRYABLE, ALARM, CLAIM = "offline", "left", "not-retryable", "alarm", "claim"
# Kinds whose stale instances are all that is wrong: cleared by a retry, the clear is ok.
_STALE_KINDS = frozenset(
    {VerdictKind.MISMATCH, VerdictKind.PARTIAL, VerdictKind.FAILED, VerdictKind.NO_TARGETS}
)


@dataclass(frozen=True)
class Plan:
    targets: tuple[str, ...]
    # Instance id -> OFFLINE, LEFT or NOT_RETRYABLE.
    left_out: Mapping[str, str]


@dataclass(frozen=True)
class Attempt:
    number: int
    sent: tuple[str, ...]
    stale: tuple[Stale, ...]
    cleared: Cleared | None = None
    stopped_by: Verdict | None = None


def plan(stale: Sequence[Stale], in_service: Iterable[str], online: Iterable[str]) -> Plan:
    live, reachable = frozenset(in_service), frozenset(online)
    targets: list[str] = []
    left_out: dict[str, str] = {}
    for s in stale:
        if s.instance_id not in live:
            left_out[s.instance_id] = LEFT
        elif s.said not in RETRYABLE:
            left_out[s.instance_id] = NOT_RETRYABLE
        elif s.instance_id not in reachable:
            left_out[s.instance_id] = OFFLINE
        else:
            targets.append(s.instance_id)
    return Plan(tuple(targets), left_out)


def worth_retrying(judged: Verdict) -> bool:
    return judged.is_alert and bool(judged.stale) and judged.kind not in verdict.OPERATOR_STOPS


def still_stale(first: Verdict, attempts: Sequence[Attempt]) -> tuple[Stale, ...]:
    """The first attempt's stale instances that no retry cleared, with what SSM said last."""
    said = {s.instance_id: s.said for s in first.stale}
    for attempt in attempts:
        remaining = {s.instance_id: s.said for s in attempt.stale}
        for instance_id in attempt.sent:
            if instance_id in remaining:
                said[instance_id] = remaining[instance_id]
            else:
                said.pop(instance_id, None)
    return tuple(Stale(i, s) for i, s in sorted(said.items()))


def conclude(first: Verdict, attempts: Sequence[Attempt], notes: Mapping[str, str]) -> Verdict:
    """The first attempt's verdict less what the retries cleared, with each retried instance's
    history and what stopped the last attempt. `first` may be a clear's verdict (a retry asked on
    demand): its history goes on, and the attempts are numbered after its own."""
    if not attempts and not notes:
        return first
    prior = {r.instance_id: r for r in first.clear.instances} if first.clear is not None else {}
    rows: list[Retried] = []
    for s in first.stale:
        before = prior.pop(s.instance_id, None)
        outcomes = list(before.outcomes) if before is not None else [s.said]
        cleared_on = 0
        for attempt in attempts:
            if s.instance_id not in attempt.sent:
                continue
            again = {x.instance_id: x.said for x in attempt.stale}.get(s.instance_id)
            if again is None:
                cleared_on = attempt.number
                break
            outcomes.append(again)
        note = "" if cleared_on else notes.get(s.instance_id, "")
        rows.append(Retried(s.instance_id, tuple(outcomes), cleared_on, note))
    every = tuple(sorted([*prior.values(), *rows], key=lambda r: r.instance_id))
    done_before = first.clear.attempts if first.clear is not None else 1
    history = verdict.ClearHistory(first.command_id, every, done_before + len(attempts))
    cleared = {r.instance_id for r in rows if r.cleared_on or r.note == LEFT}
    still = tuple(s for s in still_stale(first, attempts) if s.instance_id not in cleared)
    # The lists are bounded: the counts come down by what the rows say each instance was first
    # (missed, or a problem), not by what the lists happen to show.
    gone = [r for r in rows if r.instance_id in cleared]
    missed = sum(1 for r in gone if r.outcomes[0] == verdict.NOT_REACHED)
    concluded = replace(
        first,
        problems=tuple(p for p in first.problems if p.instance_id not in cleared),
        problem_count=first.problem_count - (len(gone) - missed),
        missing_instances=tuple(i for i in first.missing_instances if i not in cleared),
        missing_count=first.missing_count - missed,
        stale=still,
        stale_count=len(still) + max(first.stale_count - len(first.stale), 0),
        succeeded=first.succeeded + sum(1 for r in rows if r.cleared_on),
        cleared=_sum(first.cleared, *(a.cleared for a in attempts)),
        clear=history,
    )
    stop = next((a.stopped_by for a in reversed(attempts) if a.stopped_by is not None), None)
    if still and stop is not None:
        return replace(concluded, kind=stop.kind, stopped_by=stop.stopped_by)
    if not concluded.stale_count and not concluded.problem_count and concluded.kind in _STALE_KINDS:
        return replace(concluded, kind=VerdictKind.OK)
    return concluded


def attempt_of(number: int, sent: tuple[str, ...], results: Sequence[Verdict]) -> Attempt:
    stale = tuple(sorted((s for v in results for s in v.stale), key=lambda s: s.instance_id))
    stop = next((v for v in results if v.kind in verdict.OPERATOR_STOPS), None)
    return Attempt(number, sent, stale, _sum(*(v.cleared for v in results)), stop)


def _sum(*counts: Cleared | None) -> Cleared | None:
    present = [c for c in counts if c is not None]
    entries, instances = sum(c.entries for c in present), sum(c.instances for c in present)
    return Cleared(entries, instances) if present else None
