"""The detail under a verdict's summary: which instances, what SSM said of each, and what to
check first. An instance a later attempt was sent to is told of once, in the attempts' list,
which says what each attempt made of it; the first attempt's lists name the others. No I/O."""

from __future__ import annotations

from collections.abc import Sequence

from apcu_notifier.messages.en import Messages
from apcu_notifier.output import CAVEAT_FILE_CACHE, CAVEAT_PRELOAD
from apcu_notifier.render.blocks import code_block, escape, escape_clip, pack
from apcu_notifier.render.words import SAID_TEXT, Context, said
from apcu_notifier.verdict import ClearHistory, Problem, Reset, VerdictKind

MAX_LISTED = 100
MAX_PROBLEM_GROUPS = 8
# Each kind of failure shows the end of the output of its first few instances.
EXCERPTS_PER_GROUP = 3
EXCERPT_TEXT = 400
REASON_TEXT = 40


def sections(c: Context) -> list[str]:
    """The detail's sections, in the order a reader acts on them."""
    v, m = c.v, c.m
    retried = {r.instance_id for r in v.clear.instances} if v.clear is not None else set()
    found: list[str] = []
    missing = [i for i in v.missing_instances if i not in retried]
    if missing:
        total = v.missing_count - (len(v.missing_instances) - len(missing))
        found.append(_ids(c, m.missing_title, missing, total))
    problems = [p for p in v.problems if p.instance_id not in retried]
    if problems:
        found += _problems(c, problems, v.problem_count - (len(v.problems) - len(problems)))
    if v.reset is not None and v.reset.old_code:
        found.append(_old_code(m, v.reset))
    if v.joined_after:
        found.append(_ids(c, m.joined_title, v.joined_after, v.joined_count))
    if v.outside:
        items = [
            f"• `{escape(o.instance_id)}` "
            f"{escape(o.lifecycle_state) if o.lifecycle_state else m.outside_unlisted}: "
            f"{escape_clip(said(o.status, o.status_details), SAID_TEXT)}"
            for o in v.outside[:MAX_LISTED]
        ]
        title = m.outside_title.format(count=f"{v.outside_count:,}")
        found.append(pack(title, items, m.more, "\n", v.outside_count))
    if v.clear is not None and v.clear.instances:
        found.append(_history(m, v.clear))
    if v.kind is VerdictKind.UNREADABLE and v.excerpt:
        found.append(code_block(v.excerpt, EXCERPT_TEXT * 2))
    return found


def _ids(c: Context, title: str, ids: Sequence[str], total: int) -> str:
    listed = [f"`{escape(i)}`" for i in ids[:MAX_LISTED]]
    return pack(c.say(title, count=f"{total:,}"), listed, c.m.more, c.m.list_separator, total)


def _problems(c: Context, problems: Sequence[Problem], total: int) -> list[str]:
    """One section per way of failing: what to check first, the instances, their output's end."""
    m = c.m
    groups: dict[tuple[str, str], list[Problem]] = {}
    for p in problems:
        groups.setdefault((said(p.status, p.status_details), p.reason), []).append(p)
    shown = list(groups.items())[:MAX_PROBLEM_GROUPS]
    texts: list[str] = []
    for (words, reason), members in shown:
        hint = m.said_hints.get(words, "")
        if reason:
            hint = m.opcache_reasons.get(reason) or escape_clip(reason, REASON_TEXT)
        # One way of failing: the title's count is the group's.
        head = _how_ended(m, words, hint, len(members) if len(groups) > 1 else 0)
        if not texts:
            head = c.say(m.problems_title, count=f"{total:,}") + "\n" + head
        excerpts = [p for p in members if p.excerpt][:EXCERPTS_PER_GROUP]
        items = [
            f"`{escape(p.instance_id)}`"
            + (f"\n{code_block(p.excerpt, EXCERPT_TEXT)}" if p in excerpts else "")
            for p in members
        ]
        texts.append(pack(head, items, m.more, "\n" if excerpts else m.list_separator, len(items)))
    left = total - sum(len(members) for _, members in shown)
    if left > 0:
        texts[-1] += "\n" + m.more.format(count=f"{left:,}")
    return texts


def _how_ended(m: Messages, words: str, hint: str, count: int = 0) -> str:
    """SSM's words, bold; then how many said them, when `count`, and what to check first."""
    text = f"*{escape_clip(words, SAID_TEXT)}*"
    if count:
        text += m.group_count.format(count=f"{count:,}")
    return text + m.hint.format(hint=hint) if hint else text


def _old_code(m: Messages, r: Reset) -> str:
    items = []
    named = ((CAVEAT_PRELOAD, r.preload), (CAVEAT_FILE_CACHE, r.file_cache))
    for i in r.old_code[:MAX_LISTED]:
        caveats = m.list_separator.join(m.caveat_names[name] for name, at in named if i in at)
        items.append(f"• `{escape(i)}` {caveats}")
    return pack(m.old_code_title.format(count=len(r.old_code)), items, m.more, "\n", len(items))


def _history(m: Messages, history: ClearHistory) -> str:
    """Per instance a later attempt was meant for: what each said; then what to check first."""
    lines: list[str] = []
    last_words: dict[str, None] = {}
    for row in history.instances[:MAX_LISTED]:
        words = [said(s) for s in row.outcomes]
        told = m.history_then.join(map(escape, words))
        if row.cleared_on:
            line = m.history_cleared.format(said=told, attempt=row.cleared_on)
        elif row.note in m.history_notes:
            line = m.history_left_out.format(said=told, why=m.history_notes[row.note])
        else:
            line = m.history_still.format(said=told, attempts=m.attempts(len(words)))
        lines.append(f"`{escape(row.instance_id)}`: {line}")
        if not row.cleared_on and row.note != "left":
            last_words[words[-1]] = None
    title = m.history_title.format(instances=m.instances(len(history.instances)))
    text = pack(title, lines, m.more, "\n", len(history.instances))
    hints = [_how_ended(m, w, m.said_hints[w]) for w in last_words if w in m.said_hints]
    return "\n".join([text, *hints])
