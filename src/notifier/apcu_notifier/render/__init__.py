"""Verdict -> Slack payload (Block Kit and its top-level text), with no I/O. A formatter per kind
(kinds.py) says what differs; what every kind shares is said here and in words.py, details.py."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from apcu_notifier.messages import docs_links
from apcu_notifier.render import blocks
from apcu_notifier.render.blocks import Block, Payload
from apcu_notifier.render.details import sections
from apcu_notifier.render.kinds import FORMATTERS, Said
from apcu_notifier.render.words import TARGET_TEXT, Context, Request, Style, fallback, field_pairs
from apcu_notifier.verdict import TargetKind, Verdict, VerdictKind

__all__ = ["FORMATTERS", "Payload", "Rendered", "Request", "Style", "render", "render_parts"]


@dataclass(frozen=True)
class Rendered:
    """`head` (title, summary, fields) says what happened, `detail` (per-instance lists) where,
    `tail` links to the console; app mode puts the detail in a thread (docs/design.md, Slack)."""

    text: str
    head: list[Block]
    detail: list[Block]
    tail: list[Block]
    title: str


def render(
    verdict: Verdict, style: Style, request: Request | None = None, *, button: bool = False
) -> Payload:
    parts = render_parts(verdict, style, request or Request(), button=button)
    return blocks.payload(parts.text, [*parts.head, *parts.detail, *parts.tail])


def render_parts(
    verdict: Verdict, style: Style, request: Request, *, button: bool = False, mention: bool = True
) -> Rendered:
    """`button`: app mode shows the retry button under the message. `mention`: whether an alert
    starts with ALERT_MENTION (app mode puts it in the reply that notifies instead)."""
    c = Context(verdict, style, request, button)
    said = FORMATTERS[verdict.kind](c)
    lead = f"{style.mention} " if mention and verdict.is_alert and style.mention else ""
    summary = c.m.sentence_separator.join([*said.summary, *_notes(c, said)])
    head = [blocks.header(said.title), blocks.section(lead + summary)]
    pairs = field_pairs(c)
    if pairs:
        head.append(blocks.fields(pairs))
    if verdict.notification_missing:
        head.append(blocks.section(docs_links(c.m.notification_missing, style.docs_url)))
    tail = []
    # A stored test event's command exists nowhere: a console link would lead to nothing.
    if verdict.command_id and verdict.kind is not VerdictKind.TEST_EVENT:
        url = blocks.console_url(style.region, verdict.command_id)
        tail.append(blocks.context(c.m.console_link.format(url=url)))
    if verdict.kind is VerdictKind.UNREADABLE:
        top = f"{said.title}: {blocks.escape(c.reason)}"
    else:
        top = fallback(c.m, said.title, verdict.command_id, c.target if c.target_known else None)
    detail = [blocks.section(text) for text in sections(c)]
    return Rendered(blocks.clip(lead + top, blocks.FALLBACK_TEXT), head, detail, tail, said.title)


def _notes(c: Context, said: Said) -> list[str]:
    """What the summary adds whatever the kind; then how to finish what is still stale."""
    v, m = c.v, c.m
    notes: list[str] = []
    if v.hibernated_warm_pools:
        pools = blocks.escape_clip(m.list_separator.join(v.hibernated_warm_pools), TARGET_TEXT)
        # The promise that the stack clears each instance leaving the pool holds only while
        # ClearOnWarmPoolExit is on.
        exit_clears = c.style.warm_pool_exit_clears
        pool = m.warm_pool_hibernated if exit_clears else m.warm_pool_hibernated_uncleared
        notes.append(pool.format(groups=pools))
    s = v.scaling
    # A mismatch that missed no instance is about the group's size, and has said so.
    said_size = v.kind is VerdictKind.MISMATCH and not v.missing_count and not v.problem_count
    if s is not None and s.is_scaling and not said_size:
        notes.append(m.scaling.format(**asdict(s)))
    r = v.reset
    if r is not None and v.kind is not VerdictKind.OLD_CODE:
        scripts = m.scripts(r.scripts)
        notes += [m.reset_line.format(instances=m.instances(r.instances), scripts=scripts)]
        notes += c.caveats()
    if r is not None and r.validate_timestamps:
        instances = m.instances(r.validate_timestamps)
        notes.append(m.caveat_validate_timestamps.format(instances=instances))
    not_group = {TargetKind.INSTANCES: m.not_group_instances, TargetKind.OTHER: m.not_group_other}
    notes += [not_group[v.target.kind]] if v.target.kind in not_group else []
    if v.is_alert and v.lifecycle_result:
        notes.append(m.held_abandon if v.lifecycle_result == "ABANDON" else m.held_continue)
    # An abandoned launch's instance is replaced: there is nothing left to finish.
    if said.finish and v.is_alert and v.stale_count and v.lifecycle_result != "ABANDON":
        notes.append(said.finish.format(how=c.how()))
    return notes
