"""The formatters of a command that does not end: stuck (a minute past its expiry; the clear
keeps looking) and never ended (the clear stopped looking). No I/O."""

from __future__ import annotations

import datetime as dt

from apcu_notifier.render.blocks import escape
from apcu_notifier.render.words import Context, Said, duration
from apcu_notifier.watch import LOOK_EVERY, LOOKS


def stuck(c: Context) -> Said:
    v, m = c.v, c.m
    summary = m.summary_stuck.format(
        status=c.status(),
        finished=f"{v.succeeded:,}",
        sent=m.instances(v.targeted),
        every=duration(LOOK_EVERY, m),
        watch=duration(LOOK_EVERY * LOOKS, m),
    )
    return Said(m.title_stuck.format(job=c.job.job), (summary,))


def never_ended(c: Context) -> Said:
    v, m = c.v, c.m
    summary = m.summary_never_ended.format(
        status=c.status(),
        watched=duration(v.watched_for or dt.timedelta(), m),
        finished=f"{v.succeeded:,}",
        sent=m.instances(v.targeted),
        command_id=escape(v.command_id),
    )
    return Said(m.title_never_ended.format(job=c.job.job), (summary,))
