"""The detail under a verdict's summary: which instances, and what SSM said of each, with what
to check first. No I/O.

An instance a later attempt was sent to is told of once, in the attempts' list, which says what
each attempt made of it; the first attempt's lists name the others.
"""

from __future__ import annotations

from collections.abc import Sequence

from apcu_notifier.output import CAVEAT_FILE_CACHE, CAVEAT_PRELOAD
from apcu_notifier.render.blocks import code_block, escape, escape_clip, pack
from apcu_notifier.render.words import SAID_TEXT, Context, said
from apcu_notifier.verdict import ClearHistory, Problem, VerdictKind

MAX_LISTED = 100
MAX_PROBLEM_GROUPS = 8
# Each kind of failure shows the end of the output of its first few instances.
EXCERPTS_PER_GROUP = 3
EXCERPT_TEXT = 400
REASON_TEXT = 40


def sections(c: Context) -> list[str]:
    """The detail's sections, in the order a reader acts on them."""
    v = c.v
    retried = {r.instance_id for r in v.clear.instances} if v.clear is not None else set()
    found: list[str] = []
    missing = [i for i in v.missing_instances if i not in retried]
    if missing:
        total = v.missing_count - (len(v.missing_instances) - len(missing))
        found.append(_ids(c.m.missing_title, missing, total, c))
    problems = [p for p in v.problems if p.instance_id not in retried]
    if problems:
        total = v.problem_count - (len(v.problems) - len(problems))
        found.extend(_problems(c, problems, total))
    if v.reset is not None and v.reset.old_code:
        found.append(_old_code(c))
    if v.joined_after:
        found.append(_ids(c.m.joined_title, list(v.joined_after), v.joined_count, c))
    if v.outside:
        found.append(_outside(c))
    if v.clear is not None and v.clear.instances:
        found.append(_history(c, v.clear))
    if v.kind is VerdictKind.UNREADABLE and v.excerpt:
        found.append(code_block(v.excerpt, EXCERPT_TEXT * 2))
    return found


def _ids(title: str, ids: Sequence[str], total: int, c: Context) -> str:
    return pack(
        title.format(count=f"{total:,}", the_job=c.job.the_job, nothing=c.job.nothing),
        [f"`{escape(i)}`" for i in ids[:MAX_LISTED]],
        c.m.more,
        separator=c.m.list_separator,
        total=total,
    )


def _problems(c: Context, problems: Sequence[Problem], total: int) -> list[str]:
    """One section per way of failing ("Delivery Timed Out", "Failed: OPcache is disabled"),
    each with what to check first, the instances, and the end of their output."""
    m = c.m
    groups: dict[tuple[str, str], list[Problem]] = {}
    for p in problems:
        groups.setdefault((said(p.status, p.status_details), p.reason), []).append(p)
    texts: list[str] = []
    shown = 0
    for (words, reason), members in list(groups.items())[:MAX_PROBLEM_GROUPS]:
        hint = _reason(reason, c) if reason else m.said_hints.get(words, "")
        values = {"said": escape_clip(words, SAID_TEXT), "count": f"{len(members):,}", "hint": hint}
        if len(groups) > 1:
            head = (m.problem_group_hint if hint else m.problem_group).format(**values)
        else:
            # One way of failing: the title's count is the group's.
            head = (m.said_hint if hint else m.said_alone).format(**values)
        if not texts:
            head = m.problems_title.format(the_job=c.job.the_job, count=f"{total:,}") + "\n" + head
        excerpts = [p for p in members if p.excerpt][:EXCERPTS_PER_GROUP]
        items = [
            f"`{escape(p.instance_id)}`\n{code_block(p.excerpt, EXCERPT_TEXT)}"
            if p in excerpts
            else f"`{escape(p.instance_id)}`"
            for p in members
        ]
        texts.append(pack(head, items, m.more, separator="\n" if excerpts else m.list_separator))
        shown += len(members)
    if shown < total:
        texts[-1] += "\n" + m.more.format(count=f"{total - shown:,}")
    return texts


def _reason(reason: str, c: Context) -> str:
    return c.m.opcache_reasons.get(reason) or escape_clip(reason, REASON_TEXT)


def _old_code(c: Context) -> str:
    r = c.v.reset
    assert r is not None
    items = [
        c.m.old_code_line.format(
            instance=escape(i),
            caveats=c.m.list_separator.join(
                c.m.caveat_names[caveat]
                for caveat, having in (
                    (CAVEAT_PRELOAD, r.preload),
                    (CAVEAT_FILE_CACHE, r.file_cache),
                )
                if i in having
            ),
        )
        for i in r.old_code[:MAX_LISTED]
    ]
    return pack(c.m.old_code_title.format(count=len(r.old_code)), items, c.m.more, separator="\n")


def _outside(c: Context) -> str:
    v, m = c.v, c.m
    items = [
        m.outside_line.format(
            instance=escape(o.instance_id),
            state=escape(o.lifecycle_state) if o.lifecycle_state else m.outside_unlisted,
            status=escape_clip(said(o.status, o.status_details), SAID_TEXT),
        )
        for o in v.outside[:MAX_LISTED]
    ]
    title = m.outside_title.format(count=f"{v.outside_count:,}")
    return pack(title, items, m.more, separator="\n", total=v.outside_count)


def _history(c: Context, history: ClearHistory) -> str:
    """Per instance a later attempt was meant for: what each attempt said, how it ended; then
    what to check first for what is still stale."""
    m = c.m
    lines: list[str] = []
    last_words: dict[str, None] = {}
    for row in history.instances[:MAX_LISTED]:
        words = [said(s) for s in row.outcomes]
        values = {
            "instance": escape(row.instance_id),
            "said": m.history_then.join(map(escape, words)),
        }
        if row.cleared_on:
            lines.append(m.history_cleared.format(attempt=row.cleared_on, **values))
        elif row.note in m.history_notes:
            lines.append(m.history_left_out.format(why=m.history_notes[row.note], **values))
        else:
            lines.append(m.history_still.format(attempts=m.attempts(len(words)), **values))
        if not row.cleared_on and row.note != "left":
            last_words[words[-1]] = None
    hints = [
        m.said_hint.format(said=escape_clip(w, SAID_TEXT), hint=m.said_hints[w])
        for w in last_words
        if w in m.said_hints
    ]
    title = m.history_title.format(instances=m.instances(len(history.instances)))
    text = pack(title, lines, m.more, separator="\n", total=len(history.instances))
    return "\n".join([text, *hints])
