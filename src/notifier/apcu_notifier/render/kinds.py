"""One formatter per verdict kind (FORMATTERS): the title, the first sentences, and how to
finish what the verdict left stale. What every kind adds is apcu_notifier.render's. No I/O."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from apcu_notifier.render.blocks import escape, escape_clip
from apcu_notifier.render.words import TARGET_TEXT, Context, duration
from apcu_notifier.verdict import RATE_EXCEEDED, VerdictKind
from apcu_notifier.watch import LOOK_EVERY, LOOKS

# TriggeredAlarms' State (botocore's SSM model): ALARM, or UNKNOWN when SSM could not read the
# alarm; with IgnorePollAlarmFailure false, SSM holds the rest of the command back either way.
UNREAD = "UNKNOWN"


@dataclass(frozen=True)
class Said:
    title: str
    summary: tuple[str, ...]
    # How to finish what the verdict left stale; "" when nothing is left.
    finish: str = ""


def ok(c: Context) -> Said:
    v, m = c.v, c.m
    if v.empty_group:
        return Said(m.title_ok_empty, (c.say(m.summary_ok_empty),))
    summary = m.summary_ok_joined if v.joined_after else m.summary_ok
    return Said(c.say(m.title_ok), (c.say(summary if c.group else m.summary_ok_instances),))


def old_code(c: Context) -> Said:
    m, r = c.m, c.v.reset
    assert r is not None
    old = m.instances(len(r.old_code))
    summary = c.say(m.summary_old_code, scripts=m.scripts(r.scripts), old=old)
    return Said(m.title_old_code, (summary, *c.caveats()))


def no_targets(c: Context) -> Said:
    m = c.m
    if not c.group:
        return Said(c.say(m.title_no_targets), (m.summary_no_targets_other,), m.finish)
    summary = c.say(m.summary_no_targets_group, wanted=m.instances(c.v.expected or 0))
    return Said(c.say(m.title_no_targets), (summary, m.check_agent), m.finish)


def mismatch(c: Context) -> Said:
    v, m = c.v, c.m
    if v.only_launching:
        # Not an alert: what the group still lacks is launching, and starts with an empty cache.
        launching = m.instances(v.scaling.pending if v.scaling is not None else 0)
        summary = (c.say(m.summary_ok), c.say(m.launching, launching=launching))
        return Said(c.say(m.title_launching), summary)
    lines = [m.summary_missed.format(who=c.who(v.missing_count))] if v.missing_count else []
    lines += _not_finished(c)
    if not lines:
        return Said(c.say(m.title_mismatch), (c.say(m.summary_short),))
    lines += c.others_removed()
    if v.missing_count:
        lines.append(m.check_agent)
    return Said(c.say(m.title_mismatch), tuple(lines), m.finish)


def partial(c: Context) -> Said:
    return Said(c.say(c.m.title_partial), (*_not_finished(c), *c.others_removed()), c.m.finish)


def failed(c: Context) -> Said:
    m = c.m
    if c.v.status_details == RATE_EXCEEDED:
        return Said(c.say(m.title_failed), (m.summary_rate_exceeded,), m.finish)
    return Said(c.say(m.title_failed), (*_not_finished(c), *c.others_removed()), m.finish)


def group_not_found(c: Context) -> Said:
    m = c.m
    groups = escape_clip(m.list_separator.join(c.v.missing_groups), TARGET_TEXT)
    return Said(c.say(m.title_group_not_found), (m.summary_group_not_found.format(groups=groups),))


def stopped(c: Context) -> Said:
    v, m = c.v, c.m
    names = escape_clip(m.list_separator.join(a.name for a in v.stopped_by), TARGET_TEXT)
    unread = any(a.state == UNREAD for a in v.stopped_by)
    title = m.title_stopped_unread if unread else m.title_stopped
    summary = m.summary_stopped_unread if unread else m.summary_stopped
    finish = m.finish_stopped_unread if unread else m.finish_stopped
    sentence = c.say(summary, alarms=f"*{names}*", who=c.who(v.stale_count))
    return Said(c.say(title), (sentence, *c.others_removed()), finish)


def cancelled(c: Context) -> Said:
    m = c.m
    summary = m.summary_cancelled.format(who=c.who(c.v.stale_count))
    return Said(c.say(m.title_cancelled), (summary, *c.others_removed()), m.finish_cancelled)


def stuck(c: Context) -> Said:
    m = c.m
    every, watch = duration(LOOK_EVERY, m), duration(LOOK_EVERY * LOOKS, m)
    return Said(c.say(m.title_stuck), (_running(c, m.summary_stuck, every=every, watch=watch),))


def never_ended(c: Context) -> Said:
    v, m = c.v, c.m
    watched, command_id = duration(v.watched_for or dt.timedelta(), m), escape(v.command_id)
    summary = _running(c, m.summary_never_ended, watched=watched, command_id=command_id)
    return Said(c.say(m.title_never_ended), (summary,))


def unknown_command(c: Context) -> Said:
    return Said(c.m.title_unknown_command, (c.m.summary_unknown_command,))


def test_event(c: Context) -> Said:
    return Said(c.m.title_test_event, (c.m.summary_test_event,))


def unreadable(c: Context) -> Said:
    return Said(c.m.title_unreadable, (c.m.summary_unreadable.format(reason=c.reason),))


def _not_finished(c: Context) -> list[str]:
    v = c.v
    return [c.say(c.m.summary_not_finished, who=c.who(v.problem_count))] if v.problem_count else []


def _running(c: Context, template: str, **values: str) -> str:
    """`template` with how far a command that has not ended got: status, how many of how many."""
    sent = c.m.instances(c.v.targeted)
    return template.format(status=c.status, finished=f"{c.v.succeeded:,}", sent=sent, **values)


FORMATTERS: dict[VerdictKind, Callable[[Context], Said]] = {
    VerdictKind.OK: ok,
    VerdictKind.OLD_CODE: old_code,
    VerdictKind.NO_TARGETS: no_targets,
    VerdictKind.MISMATCH: mismatch,
    VerdictKind.PARTIAL: partial,
    VerdictKind.FAILED: failed,
    VerdictKind.GROUP_NOT_FOUND: group_not_found,
    VerdictKind.STOPPED: stopped,
    VerdictKind.CANCELLED: cancelled,
    VerdictKind.STUCK: stuck,
    VerdictKind.NEVER_ENDED: never_ended,
    VerdictKind.UNKNOWN_COMMAND: unknown_command,
    VerdictKind.TEST_EVENT: test_event,
    VerdictKind.UNREADABLE: unreadable,
}
