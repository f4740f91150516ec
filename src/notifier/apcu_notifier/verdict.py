"""Facts -> Verdict, with no I/O (docs/design.md, "Verdicts").

An alert means some cache may still be stale; nothing else is an alert. So only instances that
serve traffic count: for a group target, its InService instances. Instances outside InService
(Standby, a warm pool, terminating) are named with what happened to them, and InService
instances that started after the clear was requested began with an empty cache.

The order of the rules matters: a command that reached no instance is "no targets" (or the
group has gone) whatever status SSM gave it; a command SSM ended Failed, TimedOut or Cancelled
is "failed" when an instance that counts did not succeed; only then are counts compared.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from enum import StrEnum

from apcu_notifier.facts import (
    CAVEAT_FILE_CACHE,
    CAVEAT_PRELOAD,
    CAVEAT_VALIDATE_TIMESTAMPS,
    DEFAULT_ACTION,
    GROUP_TAG,
    HIBERNATED,
    IN_SERVICE,
    Facts,
    InvocationFacts,
    error_text,
    group_target,
    instance_ids,
    missing_in_service,
)
from apcu_notifier.notification import UnreadableReason

FAILED_STATUSES = frozenset({"Failed", "TimedOut", "Cancelled"})
# A command's StatusDetails, as SSM documents them (ListCommands, Command.StatusDetails, and the
# user guide's "Understanding command statuses"). Final ones and the verdict each leads to:
#   Success              judged by the counts and the invocations (Success hides Undeliverable,
#                        Delivery Timed Out and Access Denied invocations)
#   No Instances In Tag  no targets (or nothing to clear when the group wants no instance)
#   Access Denied        no targets when it reached nothing, else judged by the invocations
#   Incomplete           partial: some invocations failed, too few to fail the command
#                        (with MaxErrors 100% the Status may still say Failed)
#   Failed, Delivery Timed Out, Execution Timed Out, Cancelled
#                        failed, when an instance that counts did not succeed; when only
#                        instances outside InService did not, judged by the counts
#   Rate Exceeded        failed: SSM cancelled it before it ran anywhere
NO_INSTANCES_IN_TAG = "No Instances In Tag"
INCOMPLETE = "Incomplete"
RATE_EXCEEDED = "Rate Exceeded"
EXCERPT_CHARS = 300
# A Success invocation of an action that resets OPcache without opcache.php's "reset" line:
# nothing proves the restart took (the document or the web node is not the one expected).
UNCONFIRMED = "unconfirmed"


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
    # Still running when the watchdog's last follow-up fired: it stops checking.
    NEVER_ENDED = "never_ended"
    # Every instance that counts reset OPcache, but some keep old code running: preloaded
    # scripts (until php-fpm reloads) or the file cache (loaded again after the restart).
    OLD_CODE = "old_code"
    # A stored example event (events/notifier/) whose command SSM does not know.
    TEST_EVENT = "test_event"
    # The stop alarm went into ALARM while the command ran, and some InService instances had
    # not cleared yet: SSM held them to protect the database.
    STOPPED = "stopped"

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
    # Why OPcache's reset did not take: opcache.php's code (disabled, restricted,
    # not_restarted) or UNCONFIRMED; "" otherwise.
    reason: str = ""


@dataclass(frozen=True)
class OutsideInstance:
    """An instance the command reached that serves no traffic: information, never an alert."""

    instance_id: str
    # Its LifecycleState in the group (Standby, Terminating:Wait, ...); "" when the group does
    # not list it (a warm-pool instance, or one that carries the tag without being a member).
    lifecycle_state: str
    status: str
    status_details: str


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
class Reset:
    """The instances that count whose OPcache restart took, and what each left alone."""

    instances: int
    scripts: int
    preload: tuple[str, ...] = ()
    file_cache: tuple[str, ...] = ()
    validate_timestamps: tuple[str, ...] = ()

    @property
    def old_code(self) -> tuple[str, ...]:
        """Instances where old code may still run: an alert (docs/design.md, "Verdicts")."""
        return tuple(sorted({*self.preload, *self.file_cache}))


@dataclass(frozen=True)
class Retried:
    """An instance a clear's first attempt left stale, and what became of it."""

    instance_id: str
    # What each attempt said of it, the first first ("Delivery Timed Out", "not reached").
    outcomes: tuple[str, ...]
    # The attempt that cleared it (2: the second); 0 when none did.
    cleared_on: int = 0
    # Why no further attempt cleared it: "offline" (its SSM agent was not Online, so it was
    # not retried), "alarm" (the stop alarm stayed in ALARM), "left" (no longer InService),
    # "not-retryable"; "" otherwise.
    note: str = ""


@dataclass(frozen=True)
class ClearHistory:
    """A clear that converged (or tried to): the attempts it took, per stale instance."""

    first_command_id: str
    instances: tuple[Retried, ...]
    attempts: int

    @property
    def still_stale(self) -> tuple[Retried, ...]:
        return tuple(r for r in self.instances if not r.cleared_on and r.note != "left")


@dataclass(frozen=True)
class Verdict:
    kind: VerdictKind
    command_id: str = ""
    # The document's action: clear-apcu, reset-opcache or clear-all.
    action: str = DEFAULT_ACTION
    status: str = ""
    status_details: str = ""
    document_name: str = ""
    comment: str = ""
    requested: dt.datetime | None = None
    target: Target = Target(TargetKind.UNKNOWN)
    # Instances wanted: the groups' DesiredCapacity, or the instance ids named.
    expected: int | None = None
    # TargetCount: every instance SSM sent the command to, outside InService ones included.
    targeted: int = 0
    # Invocations that ended Success on instances that count (InService for a group target).
    succeeded: int = 0
    # Instances that count and that the command reached.
    reached: int = 0
    missing_instances: tuple[str, ...] = ()
    # Reached but not InService in the group: Standby, a warm pool, terminating, or an
    # instance that carries the group's tag without being a member.
    outside_in_service: tuple[str, ...] = ()
    outside: tuple[OutsideInstance, ...] = ()
    # InService instances missing from the invocations that started after the request.
    joined_after: tuple[str, ...] = ()
    # Groups whose warm pool keeps its instances hibernated (their APCu survives, stale).
    hibernated_warm_pools: tuple[str, ...] = ()
    # Problems of instances that count; outside InService instances are in `outside`.
    problems: tuple[Problem, ...] = ()
    # The instances that count which this verdict leaves stale, sorted: what
    # POST /flush/{commandId}/retry re-sends to (README, "Retry on demand").
    stale: tuple[str, ...] = ()
    missing_groups: tuple[str, ...] = ()
    scaling: Scaling | None = None
    cleared: Cleared | None = None
    # For an action that resets OPcache: the instances whose restart took.
    reset: Reset | None = None
    # For UNREADABLE: what was wrong and what the notification said.
    reason: UnreadableReason | None = None
    excerpt: str = ""
    # Reached by the watchdog because SSM's notification never arrived.
    notification_missing: bool = False
    # For STUCK: the watchdog checks the command again until it ends (or gives up).
    watched: bool = False
    # For NEVER_ENDED: how long after the command's first watchdog it gave up.
    watched_for: dt.timedelta | None = None
    # The alarms that stopped the command (TriggeredAlarms in ALARM).
    stopped_by: tuple[str, ...] = ()
    # For a warm-pool clear held by the launch lifecycle hook: CONTINUE or ABANDON, what its
    # verdict completes the action with.
    lifecycle_result: str = ""
    # For a clear the notifier retried (or whose stale agents were offline): each instance
    # that needed another attempt, with what each attempt said.
    clear: ClearHistory | None = None

    @property
    def is_alert(self) -> bool:
        return self.kind not in (VerdictKind.OK, VerdictKind.TEST_EVENT)

    @property
    def empty_group(self) -> bool:
        """A group that wants no instance: nothing held a cache, nothing to clear."""
        return self.target.kind is TargetKind.GROUP and self.expected == 0 and self.targeted == 0


def about(facts: Facts, kind: VerdictKind) -> Verdict:
    """A verdict of this kind that says which command it is about; the counts come later."""
    command = facts.command
    return Verdict(
        kind=kind,
        command_id=command.command_id,
        action=command.action,
        status=command.status,
        status_details=command.status_details,
        document_name=command.document_name,
        comment=command.comment,
        requested=command.requested,
        target=describe_target(facts),
        targeted=command.target_count,
        stopped_by=command.stopped_by,
    )


def judge(facts: Facts) -> Verdict:
    base = about(facts, VerdictKind.OK)
    target = base.target
    if target.kind is TargetKind.GROUP:
        return _judge_group(facts, base)
    counted = facts.invocations
    caches = facts.command.caches
    found = problems(counted, caches)
    done = reset(counted, caches)
    kind = _kind(
        base,
        reached_nothing=facts.command.target_count == 0,
        problems=found,
        short=False,
    )
    # Named instances are a count to hold the command to; another tag is not.
    expected = len(target.values) if target.kind is TargetKind.INSTANCES else None
    # A retry names its instances; those it never reached stay stale. The notifier does not
    # read their group here: the dispatcher keeps only InService ones when it re-sends.
    named = target.values if target.kind is TargetKind.INSTANCES else ()
    unreached = tuple(i for i in named if i not in instance_ids(counted))
    return replace(
        base,
        kind=_old_code(kind, done),
        expected=expected,
        stale=stale_instances(unreached, found),
        succeeded=_succeeded(counted, found),
        reached=len(instance_ids(counted)),
        problems=found,
        cleared=cleared(counted),
        reset=done,
    )


def _old_code(kind: VerdictKind, done: Reset | None) -> VerdictKind:
    """An ok whose reset left old code running somewhere is not ok; other alerts stay as they
    are and say it too."""
    if kind is VerdictKind.OK and done is not None and done.old_code:
        return VerdictKind.OLD_CODE
    return kind


def _kind(
    base: Verdict, *, reached_nothing: bool, problems: tuple[Problem, ...], short: bool
) -> VerdictKind:
    """The verdict once groups are known to exist (see the StatusDetails table above)."""
    if base.status_details == RATE_EXCEEDED:
        return VerdictKind.FAILED
    # The brake held what had not run: whatever SSM's status, the stale instances are the
    # alarm's doing. A command the alarm fired after, with nothing left stale, is judged as
    # usual: nothing is stale, so no alert.
    if base.stopped_by and (reached_nothing or problems or short):
        return VerdictKind.STOPPED
    if reached_nothing:
        return VerdictKind.NO_TARGETS
    if base.status in FAILED_STATUSES and base.status_details != INCOMPLETE and problems:
        return VerdictKind.FAILED
    if short:
        return VerdictKind.MISMATCH
    if problems:
        return VerdictKind.PARTIAL
    return VerdictKind.OK


def _judge_group(facts: Facts, base: Verdict) -> Verdict:
    states = {i.instance_id: i.lifecycle_state for g in facts.groups for i in g.instances}
    in_service = {i for i, state in states.items() if state == IN_SERVICE}
    desired = sum(g.desired_capacity for g in facts.groups)
    # Once a group has gone, nobody can say which instances were InService: all count.
    counted = (
        facts.invocations
        if facts.missing_groups
        else tuple(i for i in facts.invocations if i.instance_id in in_service)
    )
    absent = missing_in_service(facts.groups, facts.invocations)
    joined = _joined_after(facts, absent)
    missing = tuple(i for i in absent if i not in joined)
    counted_ids = instance_ids(counted)
    reached = len(counted_ids)
    outside = tuple(
        OutsideInstance(i.instance_id, states.get(i.instance_id, ""), i.status, i.status_details)
        for i in sorted(facts.invocations, key=lambda i: i.instance_id)
        if i.instance_id not in counted_ids
    )
    caches = facts.command.caches
    found = problems(counted, caches)
    done = reset(counted, caches)
    reached_nothing = base.targeted == 0 or base.status_details == NO_INSTANCES_IN_TAG
    if facts.missing_groups and base.status_details != RATE_EXCEEDED:
        # Gone groups cannot be counted; also the likely cause of a command that reached none.
        kind = VerdictKind.GROUP_NOT_FOUND
    elif reached_nothing and desired == 0:
        # A group that wants no instance held no cache: nothing to clear, whatever SSM said.
        kind = VerdictKind.OK
    else:
        kind = _kind(
            base,
            reached_nothing=reached_nothing,
            problems=found,
            # Every InService instance either ran it or started after it, and together they
            # are what the group wants. More reached than wanted is no miss: Standby and
            # warm-pool instances keep the tag but do not count in DesiredCapacity.
            short=bool(missing) or reached + len(joined) < desired,
        )
    return replace(
        base,
        kind=_old_code(kind, done),
        # A group that has gone cannot be counted: no number to hold the command to.
        expected=None if facts.missing_groups else desired,
        succeeded=_succeeded(counted, found),
        reached=reached,
        missing_instances=missing,
        # A group that has gone has no InService instance left to retry.
        stale=() if facts.missing_groups else stale_instances(missing, found),
        outside_in_service=tuple(o.instance_id for o in outside),
        outside=outside,
        joined_after=joined,
        hibernated_warm_pools=tuple(
            g.name for g in facts.groups if g.warm_pool_state == HIBERNATED
        ),
        problems=found,
        cleared=cleared(counted),
        reset=done,
        missing_groups=facts.missing_groups,
        scaling=Scaling(
            desired=desired,
            in_service=len(in_service),
            pending=sum(1 for s in states.values() if s.startswith("Pending")),
            terminating=sum(1 for s in states.values() if s.startswith("Terminating")),
        ),
    )


def stale_instances(unreached: tuple[str, ...], found: tuple[Problem, ...]) -> tuple[str, ...]:
    """Instances that count and were missed, or whose invocation did not end Success, sorted.

    A Success whose OPcache reset is unconfirmed is not among them: sending the same script to
    the same web node again would not confirm it."""
    failed = {p.instance_id for p in found if p.status != "Success"}
    return tuple(sorted({*unreached, *failed}))


def _joined_after(facts: Facts, absent: tuple[str, ...]) -> tuple[str, ...]:
    """Missing InService instances whose cache began empty: started after the request, and not
    configured for hibernation (a hibernated instance resumes with its memory, APCu included)."""
    requested = facts.command.requested
    if requested is None:
        return ()
    started = {
        launch.instance_id
        for launch in facts.launches
        if launch.launched is not None
        and not launch.hibernation_configured
        and _utc(launch.launched) > _utc(requested)
    }
    return tuple(i for i in absent if i in started)


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _succeeded(invocations: tuple[InvocationFacts, ...], found: tuple[Problem, ...] = ()) -> int:
    """Success invocations, less those whose OPcache reset is unconfirmed."""
    unconfirmed = {p.instance_id for p in found if p.status == "Success"}
    return sum(1 for i in invocations if i.status == "Success" and i.instance_id not in unconfirmed)


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


def problems(
    invocations: tuple[InvocationFacts, ...], caches: frozenset[str] = frozenset({"apcu"})
) -> tuple[Problem, ...]:
    """Invocations that did not end in Success and, for an action that resets OPcache, those
    that did without proof that the restart took."""
    found: list[Problem] = []
    for i in sorted(invocations, key=lambda i: i.instance_id):
        refused = i.opcache if i.opcache and not i.opcache.took else None
        reason = refused.error if refused else ""
        # opcache.php's message says what to change; curl's exit status on stderr does not.
        excerpt = refused.message if refused and refused.message else error_text(i.output)
        if i.status == "Success":
            if "opcache" not in caches or (i.opcache is not None and i.opcache.took):
                continue
            reason = UNCONFIRMED
        found.append(
            Problem(
                instance_id=i.instance_id,
                status=i.status,
                status_details=i.status_details,
                excerpt=_tail(excerpt, EXCERPT_CHARS),
                reason=reason,
            )
        )
    return tuple(found)


def reset(invocations: tuple[InvocationFacts, ...], caches: frozenset[str]) -> Reset | None:
    """The OPcache restarts that took, with the caveats each stated; None when the action does
    not reset OPcache or no restart took."""
    took = [
        i
        for i in sorted(invocations, key=lambda i: i.instance_id)
        if "opcache" in caches and i.status == "Success" and i.opcache and i.opcache.took
    ]
    if not took:
        return None

    def having(caveat: str) -> tuple[str, ...]:
        return tuple(i.instance_id for i in took if i.opcache and caveat in i.opcache.caveats)

    return Reset(
        instances=len(took),
        scripts=sum(i.opcache.scripts_before for i in took if i.opcache),
        preload=having(CAVEAT_PRELOAD),
        file_cache=having(CAVEAT_FILE_CACHE),
        validate_timestamps=having(CAVEAT_VALIDATE_TIMESTAMPS),
    )


def cleared(invocations: tuple[InvocationFacts, ...]) -> Cleared | None:
    answers = [i.answer for i in invocations if i.status == "Success" and i.answer is not None]
    if not answers:
        return None
    return Cleared(entries=sum(a.cleared for a in answers), instances=len(answers))


# Stored example events (events/notifier/) use command ids with this prefix: a version-4 UUID
# whose random bits are all zero, which SSM does not hand out.
TEST_COMMAND_PREFIX = "00000000-0000-4000-8000-"


def unknown_command(command_id: str, status: str) -> Verdict:
    """SSM does not know the command: an alert, unless it is one of the stored test events,
    which someone tried on a real stack and which must page no one."""
    if command_id.lower().startswith(TEST_COMMAND_PREFIX):
        return Verdict(kind=VerdictKind.TEST_EVENT, command_id=command_id, status=status)
    return Verdict(kind=VerdictKind.UNKNOWN_COMMAND, command_id=command_id, status=status)


def unreadable(reason: UnreadableReason, excerpt: str) -> Verdict:
    return Verdict(kind=VerdictKind.UNREADABLE, reason=reason, excerpt=excerpt)


def _tail(text: str, limit: int) -> str:
    # The end of an error output says why it failed (curl's last line, the shell's exit).
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]
