"""Facts -> Verdict, with no I/O (docs/design.md, "Verdicts"). An alert means some cache may still
be stale, so only instances that serve traffic count (for a group target, its InService ones)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from apcu_clear.command import GROUP_TAG
from apcu_notifier import facts, verdict
from apcu_notifier.facts import Facts, Invocations, instance_ids
from apcu_notifier.output import CAVEAT_FILE_CACHE, CAVEAT_PRELOAD, CAVEAT_VALIDATE_TIMESTAMPS
from apcu_notifier.verdict import Problem, Stale, Target, TargetKind, Verdict, VerdictKind

# A command's StatusDetails (the user guide's "Understanding command statuses"). Success hides
# Undeliverable, Delivery Timed Out and Access Denied invocations: the invocations decide.
NO_INSTANCES_IN_TAG = "No Instances In Tag"
# Some invocations failed, too few to fail the command: partial.
INCOMPLETE = "Incomplete"
FAILED_STATUSES = frozenset({"Failed", "TimedOut", "Cancelled"})
CANCELLED = "Cancelled"
Problems = tuple[Problem, ...]


def judge(known: Facts) -> Verdict:
    command = known.command
    base = Verdict(
        kind=VerdictKind.OK,
        command_id=command.command_id,
        action=command.action,
        status=command.status,
        status_details=command.status_details,
        comment=command.comment,
        requested=command.requested,
        target=describe_target(known),
        targeted=command.target_count,
        stopped_by=command.alarms,
    )
    if base.target.kind is TargetKind.GROUP:
        return _judge_group(known, base)
    counted = known.invocations
    found = problems(counted, base.caches)
    named = base.target.values if base.target.kind is TargetKind.INSTANCES else ()
    # A retry names its instances; those it never reached stay stale.
    unreached = tuple(i for i in named if i not in instance_ids(counted))
    kind = _kind(base, counted, found, reached_nothing=command.target_count == 0)
    expected = len(named) if base.target.kind is TargetKind.INSTANCES else None
    stale = _bounded("stale", stale_of(unreached, found), verdict.STALE_LISTED, "stale_count")
    return _listed(base, counted, found, kind, expected=expected, **stale)


def _kind(
    base: Verdict, counted: Invocations, found: Problems, reached_nothing: bool, short: bool = False
) -> VerdictKind:
    """The verdict once groups are known to exist; the order of the rules matters."""
    if base.status_details == verdict.RATE_EXCEEDED:
        return VerdictKind.FAILED
    stale = reached_nothing or bool(found) or short
    if base.stopped_by and stale:
        return VerdictKind.STOPPED
    cancelled = base.status == CANCELLED or any(i.status == CANCELLED for i in counted)
    if cancelled and stale:
        return VerdictKind.CANCELLED
    if reached_nothing:
        return VerdictKind.NO_TARGETS
    if base.status in FAILED_STATUSES and base.status_details != INCOMPLETE and found:
        return VerdictKind.FAILED
    if short:
        return VerdictKind.MISMATCH
    return VerdictKind.PARTIAL if found else VerdictKind.OK


def _judge_group(known: Facts, base: Verdict) -> Verdict:
    states = {i: state for g in known.groups for i, state in g.states.items()}
    in_service = {i for i, state in states.items() if state == facts.IN_SERVICE}
    desired = sum(g.desired_capacity for g in known.groups)
    gone = known.missing_groups
    # Once a group has gone, nobody can say which instances were InService: all count.
    counted = tuple(i for i in known.invocations if gone or i.instance_id in in_service)
    absent = facts.missing_in_service(known.groups, known.invocations)
    joined = _joined_after(known, absent)
    missing = tuple(i for i in absent if i not in joined)
    counted_ids = instance_ids(counted)
    outside = tuple(
        verdict.OutsideInstance(
            i.instance_id, states.get(i.instance_id, ""), i.status, i.status_details
        )
        for i in sorted(known.invocations, key=lambda i: i.instance_id)
        if i.instance_id not in counted_ids
    )
    found = problems(counted, base.caches)
    reached_nothing = base.targeted == 0 or base.status_details == NO_INSTANCES_IN_TAG
    if gone and base.status_details != verdict.RATE_EXCEEDED:
        # Gone groups cannot be counted; also the likely cause of a command that reached none.
        kind = VerdictKind.GROUP_NOT_FOUND
    elif reached_nothing and desired == 0:
        # A group that wants no instance held no cache: nothing to clear, whatever SSM said.
        kind = VerdictKind.OK
    else:
        # Every InService instance ran it or started after it, as many as the group wants. More is
        # no miss: Standby and warm-pool instances keep the tag but not a DesiredCapacity place.
        short = bool(missing) or len(counted_ids) + len(joined) < desired
        kind = _kind(base, counted, found, reached_nothing=reached_nothing, short=short)
    pending = sum(1 for s in states.values() if s.startswith("Pending"))
    terminating = sum(1 for s in states.values() if s.startswith("Terminating"))
    launching = not missing and not found and desired - len(counted_ids) - len(joined) <= pending
    hibernated = tuple(g.name for g in known.groups if g.warm_pool_state == facts.HIBERNATED)
    # A group that has gone has no InService instance left to retry.
    stale = () if gone else stale_of(missing, found)
    return _listed(
        base,
        counted,
        found,
        kind,
        expected=None if gone else desired,
        **_bounded("stale", stale, verdict.STALE_LISTED, "stale_count"),
        **_bounded("missing_instances", missing, verdict.STALE_LISTED, "missing_count"),
        **_bounded("outside", outside, verdict.LISTED, "outside_count"),
        **_bounded("joined_after", joined, verdict.LISTED, "joined_count"),
        hibernated_warm_pools=hibernated,
        missing_groups=gone,
        scaling=verdict.Scaling(desired, len(in_service), pending, terminating),
        only_launching=launching,
    )


def _listed(
    base: Verdict, counted: Invocations, found: Problems, kind: VerdictKind, **values: Any
) -> Verdict:
    """The verdict with what the invocations that count say, and `values`."""
    took = reset(counted, base.caches)
    unconfirmed = {p.instance_id for p in found if p.status == "Success"}
    old_code = kind is VerdictKind.OK and took is not None and took.old_code
    succeeded = sum(
        1 for i in counted if i.status == "Success" and i.instance_id not in unconfirmed
    )
    return replace(
        base,
        kind=VerdictKind.OLD_CODE if old_code else kind,
        succeeded=succeeded,
        reached=len(instance_ids(counted)),
        **_bounded("problems", found, verdict.LISTED, "problem_count"),
        cleared=cleared(counted),
        reset=took,
        **values,
    )


def _bounded(name: str, items: tuple[Any, ...], limit: int, count: str) -> dict[str, Any]:
    """A verdict's list, cut to what a message shows and a record keeps, and its full count."""
    return {name: items[:limit], count: len(items)}


def stale_of(unreached: tuple[str, ...], found: Problems) -> tuple[Stale, ...]:
    """Instances that count and were missed, or whose invocation did not end Success, sorted; not
    a Success with its OPcache reset unconfirmed (sent again, it would not confirm either)."""
    said = {p.instance_id: p.said for p in found if p.status != "Success"}
    said.update(dict.fromkeys(unreached, verdict.NOT_REACHED))
    return tuple(Stale(i, said[i]) for i in sorted(said))


def _joined_after(known: Facts, absent: tuple[str, ...]) -> tuple[str, ...]:
    """Missing InService instances whose cache began empty: started after the request, and not
    configured for hibernation (a hibernated instance resumes with its memory)."""
    requested = known.command.requested
    if requested is None:
        return ()
    started = {
        launch.instance_id
        for launch in known.launches
        if launch.launched and not launch.hibernation_configured and launch.launched > requested
    }
    return tuple(i for i in absent if i in started)


def describe_target(known: Facts) -> Target:
    command = known.command
    names = facts.group_target(command.targets)
    if names:
        return Target(TargetKind.GROUP, names, GROUP_TAG)
    if command.targets:
        first = command.targets[0]
        if first.key == "InstanceIds":
            return Target(TargetKind.INSTANCES, first.values, first.key)
        other = tuple(f"{t.key}={','.join(t.values)}" for t in command.targets)
        return Target(TargetKind.OTHER, other, first.key)
    if command.instance_ids:
        return Target(TargetKind.INSTANCES, command.instance_ids)
    return Target(TargetKind.UNKNOWN)


def problems(invocations: Invocations, caches: tuple[str, ...]) -> Problems:
    """Invocations not ended in Success, and (if OPcache is reset) those with no proof it took."""
    found: list[Problem] = []
    for i in sorted(invocations, key=lambda i: i.instance_id):
        reason = i.opcache.error if i.opcache and not i.opcache.took else ""
        if i.status == "Success":
            if "opcache" not in caches or (i.opcache is not None and i.opcache.took):
                continue
            reason = verdict.UNCONFIRMED
        found.append(Problem(i.instance_id, i.status, i.status_details, i.excerpt, reason))
    return tuple(found)


def reset(invocations: Invocations, caches: tuple[str, ...]) -> verdict.Reset | None:
    """The OPcache restarts that took, with each one's caveats; None when none took."""
    took = [
        (i.instance_id, i.opcache)
        for i in sorted(invocations, key=lambda i: i.instance_id)
        if "opcache" in caches and i.status == "Success" and i.opcache and i.opcache.took
    ]
    if not took:
        return None

    def having(caveat: str) -> tuple[str, ...]:
        return tuple(i for i, answer in took if caveat in answer.caveats)

    return verdict.Reset(
        instances=len(took),
        scripts=sum(answer.scripts_before for _, answer in took),
        preload=having(CAVEAT_PRELOAD)[: verdict.LISTED],
        file_cache=having(CAVEAT_FILE_CACHE)[: verdict.LISTED],
        validate_timestamps=len(having(CAVEAT_VALIDATE_TIMESTAMPS)),
    )


def cleared(invocations: Invocations) -> verdict.Cleared | None:
    counts = [i.cleared for i in invocations if i.status == "Success" and i.cleared is not None]
    return verdict.Cleared(entries=sum(counts), instances=len(counts)) if counts else None
