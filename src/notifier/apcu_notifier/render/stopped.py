"""The formatters of an operator's stop: the stop alarm (stopped) and cancel-command
(cancelled). Nothing retries either by itself: each names who still holds the old cache and
how to finish once it is safe. No I/O."""

from __future__ import annotations

from apcu_notifier.render.blocks import escape_clip
from apcu_notifier.render.words import TARGET_TEXT, Context, Said

# TriggeredAlarms' State (botocore's SSM model): ALARM, or UNKNOWN when SSM could not read the
# alarm; with IgnorePollAlarmFailure false, SSM holds the rest of the command back either way.
UNREAD = "UNKNOWN"


def stopped(c: Context) -> Said:
    v, m = c.v, c.m
    names = m.list_separator.join(a.name for a in v.stopped_by)
    values = {
        "alarms": f"*{escape_clip(names, TARGET_TEXT)}*",
        "the_job": c.job.the_job,
        "who": c.who(v.stale_count),
    }
    if any(a.state == UNREAD for a in v.stopped_by):
        return Said(
            m.title_stopped_unread.format(job=c.job.job),
            (m.summary_stopped_unread.format(**values), *c.others_removed()),
            m.finish_stopped_unread,
        )
    return Said(
        m.title_stopped.format(job=c.job.job),
        (m.summary_stopped.format(**values), *c.others_removed()),
        m.finish_stopped,
    )


def cancelled(c: Context) -> Said:
    v, m = c.v, c.m
    return Said(
        m.title_cancelled.format(job=c.job.job),
        (m.summary_cancelled.format(who=c.who(v.stale_count)), *c.others_removed()),
        m.finish_cancelled,
    )
