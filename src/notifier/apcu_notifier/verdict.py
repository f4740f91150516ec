"""What a clear comes to (docs/design.md, "Verdicts") and the answer its record keeps. A verdict
is checkpointed and recorded: its lists are bounded (LISTED, STALE_LISTED), each with its count."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from apcu_clear.command import CACHES, DEFAULT_ACTION, Live
from apcu_clear.record import iso
from apcu_notifier.facts import TriggeredAlarm
from apcu_notifier.handler import UnreadableReason

# StatusDetails of a command SSM cancelled before it ran anywhere.
RATE_EXCEEDED = "Rate Exceeded"
# A Success of an action that resets OPcache without opcache.php's "reset" line.
UNCONFIRMED = "unconfirmed"
# What an attempt said of an instance it never reached.
NOT_REACHED = "not reached"
LISTED, STALE_LISTED, MAX_DETAIL_CHARS = 100, 1000, 300
# The stored example events' command ids (events/notifier/): a version-4 UUID whose random bits
# are all zero, which SSM does not hand out.
TEST_COMMAND_PREFIX = "00000000-0000-4000-8000-"


# docs/design.md's tables say what each means and whether it alerts.
class VerdictKind(StrEnum):
    OK = "ok"
    NO_TARGETS = "no_targets"
    MISMATCH = "mismatch"
    PARTIAL = "partial"
    FAILED = "failed"
    GROUP_NOT_FOUND = "group_not_found"
    UNKNOWN_COMMAND = "unknown_command"
    UNREADABLE = "unreadable"
    STUCK = "stuck"
    NEVER_ENDED = "never_ended"
    OLD_CODE = "old_code"
    TEST_EVENT = "test_event"
    STOPPED = "stopped"
    CANCELLED = "cancelled"

    @property
    def metric_name(self) -> str:
        return "Verdict" + "".join(part.title() for part in self.value.split("_"))


OPERATOR_STOPS = frozenset({VerdictKind.STOPPED, VerdictKind.CANCELLED})


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


# An instance that counts whose invocation did not end in a confirmed Success.
@dataclass(frozen=True)
class Problem:
    instance_id: str
    status: str
    status_details: str
    excerpt: str
    # Why OPcache's reset did not take: opcache.php's code or UNCONFIRMED; "" otherwise.
    reason: str = ""

    @property
    def said(self) -> str:
        """SSM's own words for how it ended ("Delivery Timed Out", "Failed")."""
        return self.status_details or self.status


# An instance the command reached that serves no traffic: information, never an alert.
@dataclass(frozen=True)
class OutsideInstance:
    instance_id: str
    # Its LifecycleState; "" when the group does not list it (warm pool, or tagged non-member).
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


# The instances that count whose OPcache restart took, and what each left alone.
@dataclass(frozen=True)
class Reset:
    instances: int
    scripts: int
    preload: tuple[str, ...] = ()
    file_cache: tuple[str, ...] = ()
    validate_timestamps: int = 0

    @property
    def old_code(self) -> tuple[str, ...]:
        return tuple(sorted({*self.preload, *self.file_cache}))


@dataclass(frozen=True)
class Stale:
    instance_id: str
    said: str


# An instance a clear's first attempt left stale, and what became of it.
@dataclass(frozen=True)
class Retried:
    instance_id: str
    # What each attempt said of it, the first first.
    outcomes: tuple[str, ...]
    # The attempt that cleared it (2: the second); 0 when none did.
    cleared_on: int = 0
    # Why no further attempt cleared it (apcu_notifier.attempts' notes); "" otherwise.
    note: str = ""


# A clear that took more than one attempt (or tried to): per stale instance, each attempt.
@dataclass(frozen=True)
class ClearHistory:
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
    action: str = DEFAULT_ACTION
    status: str = ""
    status_details: str = ""
    comment: str = ""
    requested: dt.datetime | None = None
    target: Target = Target(TargetKind.UNKNOWN)
    # Instances wanted: the groups' DesiredCapacity, or the instance ids named.
    expected: int | None = None
    # TargetCount: every instance SSM sent the command to, outside InService ones included.
    targeted: int = 0
    # Invocations that ended in a confirmed Success on instances that count.
    succeeded: int = 0
    # Instances that count and that the command reached.
    reached: int = 0
    missing_instances: tuple[str, ...] = ()
    missing_count: int = 0
    outside: tuple[OutsideInstance, ...] = ()
    outside_count: int = 0
    joined_after: tuple[str, ...] = ()
    joined_count: int = 0
    hibernated_warm_pools: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()
    problem_count: int = 0
    # What POST /flush/{commandId}/retry re-sends to: the counted instances left stale, sorted.
    stale: tuple[Stale, ...] = ()
    stale_count: int = 0
    missing_groups: tuple[str, ...] = ()
    scaling: Scaling | None = None
    cleared: Cleared | None = None
    reset: Reset | None = None
    reason: UnreadableReason | None = None
    excerpt: str = ""
    # Reached when the clear's wait ran out: SSM's notification never arrived.
    notification_missing: bool = False
    # For NEVER_ENDED: how long the clear watched it after the stuck alert.
    watched_for: dt.timedelta | None = None
    stopped_by: tuple[TriggeredAlarm, ...] = ()
    # For a clear held by the launch lifecycle hook: CONTINUE or ABANDON.
    lifecycle_result: str = ""
    clear: ClearHistory | None = None
    # A mismatch only of instances still launching (Pending): their cache starts empty, no page.
    only_launching: bool = False

    @property
    def is_alert(self) -> bool:
        launching = self.kind is VerdictKind.MISMATCH and self.only_launching
        return not launching and self.kind not in (VerdictKind.OK, VerdictKind.TEST_EVENT)

    @property
    def caches(self) -> tuple[str, ...]:
        return CACHES.get(self.action, CACHES[DEFAULT_ACTION])

    @property
    def empty_group(self) -> bool:
        """A group that wants no instance: nothing held a cache, nothing to clear."""
        return self.target.kind is TargetKind.GROUP and self.expected == 0 and self.targeted == 0


def unknown_command(command_id: str, status: str) -> Verdict:
    """SSM does not know the command: an alert, unless it is a stored test event (no page)."""
    test = command_id.lower().startswith(TEST_COMMAND_PREFIX)
    kind = VerdictKind.TEST_EVENT if test else VerdictKind.UNKNOWN_COMMAND
    return Verdict(kind=kind, command_id=command_id, status=status)


def answer(verdict: Verdict, now: dt.datetime) -> dict[str, Any]:
    """What GET /flush/{commandId} answers (and `apcu-flush --wait` exits with): every list
    bounded, every count whole, far below DynamoDB's 400 KB."""
    cleared, reset = verdict.cleared or Cleared(0, 0), verdict.reset or Reset(0, 0)
    body: dict[str, Any] = {
        "kind": verdict.kind.value,
        "alert": verdict.is_alert,
        "expected": verdict.expected,
        "targeted": verdict.targeted,
        "succeeded": verdict.succeeded,
        "missingInstances": list(verdict.missing_instances[:LISTED]),
        "problems": [_problem(p) for p in verdict.problems[:20]],
        "postedAt": iso(now),
        "via": "look" if verdict.notification_missing else "sns",
        "stale": {
            "count": verdict.stale_count,
            "instances": [s.instance_id for s in verdict.stale],
        },
    }
    if verdict.clear is not None:
        body["attempts"] = verdict.clear.attempts
    if "apcu" in verdict.caches:
        body["apcu"] = {"instances": cleared.instances, "entries": cleared.entries}
    if "opcache" in verdict.caches:
        body["opcache"] = {
            "instances": reset.instances,
            "scripts": reset.scripts,
            "preload": list(reset.preload),
            "fileCache": list(reset.file_cache),
            "validateTimestamps": reset.validate_timestamps,
        }
    return body


def _problem(p: Problem) -> dict[str, str]:
    said = {"instanceId": p.instance_id, "status": p.status, "detail": p.excerpt[:MAX_DETAIL_CHARS]}
    return said | ({"reason": p.reason} if p.reason else {})


def still_running(
    kind: VerdictKind, command_id: str, live: Live, watched_for: dt.timedelta | None = None
) -> Verdict:
    """STUCK or NEVER_ENDED: SSM's own view of a command that has not ended."""
    return Verdict(
        kind=kind,
        command_id=command_id,
        status=live.status,
        status_details=live.details,
        targeted=live.targeted,
        succeeded=live.completed - live.errors,
        watched_for=watched_for,
    )
