"""The formatters of the verdicts that leave no cache stale: ok, and old code (OPcache reset,
but something keeps old code running). No I/O."""

from __future__ import annotations

from apcu_notifier.render.words import Context, Said


def ok(c: Context) -> Said:
    v, m = c.v, c.m
    if v.empty_group:
        return Said(m.title_ok_empty, (m.summary_ok_empty.format(target=c.target),))
    values = {"target": c.target, "the_job": c.job.the_job, "removing": c.removing()}
    if not c.group:
        summary = m.summary_ok_instances.format(**values)
    elif v.joined_after:
        summary = m.summary_ok_joined.format(**values)
    else:
        summary = m.summary_ok.format(**values)
    return Said(m.title_ok.format(done=c.job.done, job=c.job.job), (summary,))


def old_code(c: Context) -> Said:
    m, r = c.m, c.v.reset
    assert r is not None
    lines = [
        m.summary_old_code.format(
            target=c.target, scripts=m.scripts(r.scripts), old=m.instances(len(r.old_code))
        )
    ]
    if r.preload:
        lines.append(m.caveat_preload)
    if r.file_cache:
        lines.append(m.caveat_file_cache)
    return Said(m.title_old_code, tuple(lines))
