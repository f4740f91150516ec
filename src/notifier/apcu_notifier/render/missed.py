"""The formatters of the verdicts that leave some cache stale, or cannot tell: no targets,
mismatch, partial, failed, group not found. Each says what happened, what to check first, and
how to finish. No I/O."""

from __future__ import annotations

from apcu_notifier.render.blocks import escape_clip
from apcu_notifier.render.words import TARGET_TEXT, Context, Said
from apcu_notifier.verdict import RATE_EXCEEDED


def no_targets(c: Context) -> Said:
    v, m = c.v, c.m
    title = m.title_no_targets.format(job=c.job.job)
    if not c.group:
        return Said(title, (m.summary_no_targets_other,), m.finish)
    wanted = m.instances(v.expected or 0)
    lines = (m.summary_no_targets_group.format(target=c.target, wanted=wanted), m.check_agent)
    return Said(title, lines, m.finish)


def mismatch(c: Context) -> Said:
    v, m = c.v, c.m
    if v.only_launching:
        # Not an alert: what the group still lacks is launching, and starts with an empty cache.
        s = v.scaling
        launching = m.instances(s.pending if s is not None else 0)
        summary = m.summary_launching.format(
            target=c.target,
            the_job=c.job.the_job,
            removing=c.removing(),
            launching=launching,
            nothing=c.job.nothing,
        )
        return Said(m.title_launching.format(done=c.job.done), (summary,))
    lines: list[str] = []
    if v.missing_count:
        lines.append(m.summary_missed.format(who=c.who(v.missing_count)))
    lines += _not_finished(c)
    if not lines:
        return Said(
            m.title_mismatch.format(job=c.job.job), (m.summary_short.format(target=c.target),)
        )
    lines += c.others_removed()
    if v.missing_count:
        lines.append(m.check_agent)
    return Said(m.title_mismatch.format(job=c.job.job), tuple(lines), m.finish)


def partial(c: Context) -> Said:
    m = c.m
    lines = (*_not_finished(c), *c.others_removed())
    return Said(m.title_partial.format(job=c.job.job), lines, m.finish)


def failed(c: Context) -> Said:
    v, m = c.v, c.m
    title = m.title_failed.format(job=c.job.job)
    if v.status_details == RATE_EXCEEDED:
        return Said(title, (m.summary_rate_exceeded,), m.finish)
    return Said(title, (*_not_finished(c), *c.others_removed()), m.finish)


def group_not_found(c: Context) -> Said:
    m = c.m
    groups = escape_clip(m.list_separator.join(c.v.missing_groups), TARGET_TEXT)
    return Said(
        m.title_group_not_found.format(job=c.job.job),
        (m.summary_group_not_found.format(groups=groups),),
    )


def _not_finished(c: Context) -> list[str]:
    v = c.v
    if not v.problem_count:
        return []
    return [c.m.summary_not_finished.format(who=c.who(v.problem_count), the_job=c.job.the_job)]
