"""Verdict -> Slack payload (Block Kit plus the top-level text fallback), with no I/O.

Slack limits (docs.slack.dev, Block Kit reference): 50 blocks per message, header plain_text
150 characters, section text 3,000, at most 10 fields of 2,000 each, 10 context elements.
Every string that comes from AWS or from the notification is escaped (&, <, >) so that a group
name or command output holding `<!channel>` shows as text and notifies no one.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from apcu_clear.command import DEFAULT_ACTION
from apcu_notifier.config import Language
from apcu_notifier.messages import Job, Messages, messages
from apcu_notifier.output import CAVEAT_FILE_CACHE, CAVEAT_PRELOAD
from apcu_notifier.verdict import (
    RATE_EXCEEDED,
    ClearHistory,
    TargetKind,
    Verdict,
    VerdictKind,
)

MAX_BLOCKS = 50
HEADER_TEXT = 150
SECTION_TEXT = 3000
FIELD_TEXT = 2000
MAX_FIELDS = 10
# Top-level text is what mobile notifications show; Slack truncates it far later (40,000),
# but a notification only needs the gist.
FALLBACK_TEXT = 3000
TARGET_TEXT = 800
EXCERPT_TEXT = 400
MAX_LISTED_INSTANCES = 100
MAX_LISTED_PROBLEMS = 10
MAX_TARGET_VALUES = 5

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")

Payload = dict[str, Any]


def escape(text: str) -> str:
    """Slack's mrkdwn escaping: the only three characters it asks to replace."""
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


def escape_clip(text: str, limit: int) -> str:
    """Escape, and cut so the escaped text is at most `limit` characters, never mid-entity."""
    pieces: list[str] = []
    size = 0
    for index, ch in enumerate(text):
        piece = _ESCAPES.get(ch, ch)
        remaining = len(text) - index
        if size + len(piece) > limit or (size + len(piece) == limit and remaining > 1):
            pieces.append("…")
            break
        pieces.append(piece)
        size += len(piece)
    return "".join(pieces)


def clip(text: str, limit: int) -> str:
    """Cut already-escaped mrkdwn, without leaving half an entity behind."""
    if len(text) <= limit:
        return text
    return _PARTIAL_ENTITY.sub("", text[: limit - 1]) + "…"


def code_block(raw: str, limit: int) -> str:
    # Three backticks inside the output would end the block early; a modifier grave
    # accent looks the same and cannot.
    inner = escape_clip(raw.replace("`", "\u02cb"), max(limit - 6, 1))
    return f"```{inner}```" if inner else ""


def console_url(region: str, command_id: str) -> str:
    safe_id = quote(command_id, safe="-")
    return (
        f"https://{region}.console.aws.amazon.com/systems-manager/run-command/"
        f"{safe_id}?region={quote(region, safe='-')}"
    )


@dataclass(frozen=True)
class Rendered:
    """A verdict's message in three parts: `head` (title, summary, fields) says what happened,
    `detail` (per-instance lists, retries, notes) says where, `tail` links to the console.
    The webhook posts them as one message; app mode keeps the head in the clear's message and
    puts the detail in its thread."""

    text: str
    head: list[dict[str, Any]]
    detail: list[dict[str, Any]]
    tail: list[dict[str, Any]]
    title: str


def render(
    verdict: Verdict,
    *,
    language: Language,
    mention: str,
    region: str,
    warm_pool_exit_clears: bool = True,
) -> Payload:
    parts = render_parts(
        verdict,
        language=language,
        mention=mention,
        region=region,
        warm_pool_exit_clears=warm_pool_exit_clears,
    )
    blocks = [*parts.head, *parts.detail, *parts.tail]
    return {"text": parts.text, "blocks": blocks[:MAX_BLOCKS]}


def render_parts(
    verdict: Verdict,
    *,
    language: Language,
    mention: str,
    region: str,
    warm_pool_exit_clears: bool = True,
) -> Rendered:
    m = messages(language)
    title = _title(verdict, m)
    target = _target(verdict, m)
    lead = f"{mention} " if verdict.is_alert and mention else ""

    head: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": clip(title, HEADER_TEXT), "emoji": True},
        },
        _section(
            lead + m.sentence_separator.join(_summary(verdict, m, target, warm_pool_exit_clears))
        ),
    ]
    fields = _fields(verdict, m, target)
    if fields:
        head.append({"type": "section", "fields": fields[:MAX_FIELDS]})
    blocks: list[dict[str, Any]] = []
    if verdict.missing_instances:
        blocks.append(_section(_missing(verdict, m)))
    if verdict.problems:
        blocks.append(_section(_problems(verdict, m)))
    if verdict.reset is not None and verdict.reset.old_code:
        blocks.append(_section(_old_code(verdict, m)))
    if verdict.joined_after:
        blocks.append(_section(_joined(verdict, m)))
    if verdict.outside:
        blocks.append(_section(_outside(verdict, m)))
    if verdict.clear is not None and verdict.clear.instances:
        blocks.append(_section(_clear(verdict.clear, m)))
        if verdict.clear.still_stale:
            hint = m.clear_retry_hint.format(command_id=escape(verdict.clear.first_command_id))
            blocks.append(_section(hint))
    if verdict.kind is VerdictKind.UNREADABLE and verdict.excerpt:
        blocks.append(_section(code_block(verdict.excerpt, EXCERPT_TEXT * 2)))
    # The watchdog's note: SSM's notification never arrived.
    if verdict.notification_missing:
        blocks.append(_section(m.notification_missing))
    tail: list[dict[str, Any]] = []
    # A stored test event's command exists nowhere: a console link would lead to nothing.
    if verdict.command_id and verdict.kind is not VerdictKind.TEST_EVENT:
        link = m.console_link.format(url=console_url(region, verdict.command_id))
        tail.append({"type": "context", "elements": [{"type": "mrkdwn", "text": link}]})

    if verdict.kind is VerdictKind.UNREADABLE:
        fallback = f"{title}: {escape(_reason(verdict, m))}"
    else:
        fallback = m.fallback.format(
            title=title, target=target, command_id=escape(verdict.command_id)
        )
    return Rendered(
        text=clip(lead + fallback, FALLBACK_TEXT),
        head=head,
        detail=blocks,
        tail=tail,
        title=title,
    )


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_TEXT)}}


def _job(verdict: Verdict, m: Messages) -> Job:
    return m.jobs.get(verdict.action, m.jobs[DEFAULT_ACTION])


def _title(verdict: Verdict, m: Messages) -> str:
    if verdict.kind is VerdictKind.OK and verdict.empty_group:
        return m.title_ok_empty
    job = _job(verdict, m)
    return {
        VerdictKind.OK: m.title_ok,
        VerdictKind.NO_TARGETS: m.title_no_targets,
        VerdictKind.MISMATCH: m.title_mismatch,
        VerdictKind.PARTIAL: m.title_partial,
        VerdictKind.FAILED: m.title_failed,
        VerdictKind.GROUP_NOT_FOUND: m.title_group_not_found,
        VerdictKind.UNKNOWN_COMMAND: m.title_unknown_command,
        VerdictKind.UNREADABLE: m.title_unreadable,
        VerdictKind.STUCK: m.title_stuck,
        VerdictKind.NEVER_ENDED: m.title_never_ended,
        VerdictKind.TEST_EVENT: m.title_test_event,
        VerdictKind.OLD_CODE: m.title_old_code,
        VerdictKind.STOPPED: m.title_stopped,
        VerdictKind.CANCELLED: m.title_cancelled,
    }[verdict.kind].format(job=job.job, done=job.done)


def _target(verdict: Verdict, m: Messages) -> str:
    """The target in words, escaped and short enough to sit inside a sentence."""
    values = verdict.target.values
    shown = list(values[:MAX_TARGET_VALUES])
    listed = m.list_separator.join(shown)
    if len(values) > len(shown):
        listed += " " + m.more_targets.format(count=len(values) - len(shown))
    if verdict.target.kind is TargetKind.GROUP:
        text = listed
    elif verdict.target.kind is TargetKind.INSTANCES:
        text = m.target_instances.format(ids=listed)
    elif verdict.target.kind is TargetKind.OTHER:
        text = m.target_other.format(targets=listed)
    else:
        text = m.target_unknown
    return escape_clip(text, TARGET_TEXT)


def _status(verdict: Verdict, m: Messages) -> str:
    status, details = verdict.status, verdict.status_details
    if details and details != status:
        return escape(m.status_with_details.format(status=status, details=details))
    return escape(status or m.none)


def _reason(verdict: Verdict, m: Messages) -> str:
    return m.reasons[verdict.reason] if verdict.reason else m.none


def _summary(
    verdict: Verdict, m: Messages, target: str, warm_pool_exit_clears: bool = True
) -> list[str]:
    """The sentences of the first section. Every "N of M" in them counts the same things as
    the Succeeded field: instances that count (InService for a group) against those wanted."""
    kind = verdict.kind
    group = verdict.target.kind is TargetKind.GROUP
    status = _status(verdict, m)
    expected = verdict.expected if verdict.expected is not None else verdict.targeted
    lines: list[str] = []
    if kind is VerdictKind.UNREADABLE:
        return [m.summary_unreadable.format(reason=_reason(verdict, m))]
    if kind is VerdictKind.TEST_EVENT:
        return [m.summary_test_event.format(command_id=escape(verdict.command_id))]
    if kind is VerdictKind.UNKNOWN_COMMAND:
        return [
            m.summary_unknown_command.format(command_id=escape(verdict.command_id), status=status)
        ]
    # The watchdog: still running after its expiry.
    if kind is VerdictKind.STUCK:
        return [
            m.summary_stuck.format(
                status=status, succeeded=verdict.succeeded, targeted=verdict.targeted
            ),
            m.stuck_watched,
        ]
    if kind is VerdictKind.NEVER_ENDED:
        watched = verdict.watched_for or dt.timedelta()
        return [
            m.summary_never_ended.format(
                status=status,
                succeeded=verdict.succeeded,
                targeted=verdict.targeted,
                minutes=int(watched.total_seconds() // 60),
            )
        ]
    if kind is VerdictKind.GROUP_NOT_FOUND:
        groups = escape_clip(m.list_separator.join(verdict.missing_groups), TARGET_TEXT)
        lines.append(m.summary_group_not_found.format(groups=groups))
    # The entries removed go inside the main sentence when it has room for them.
    cleared_said = False
    c = verdict.cleared
    job = _job(verdict, m)
    the_job = job.the_job
    if kind in (VerdictKind.OK, VerdictKind.OLD_CODE):
        cleared_said = True
        suffix = m.cleared_ok.format(entries=c.entries) if c else ""
        if verdict.empty_group:
            lines.append(m.summary_ok_empty.format(target=target))
        elif group and verdict.succeeded == expected:
            lines.append(
                m.summary_ok.format(
                    succeeded=verdict.succeeded,
                    expected=expected,
                    target=target,
                    cleared=suffix,
                    the_job=the_job,
                )
            )
        elif group:
            lines.append(
                m.summary_ok_joined.format(
                    succeeded=verdict.succeeded,
                    expected=expected,
                    target=target,
                    cleared=suffix,
                    the_job=the_job,
                )
            )
        else:
            lines.append(
                m.summary_ok_instances.format(
                    succeeded=verdict.succeeded, cleared=suffix, the_job=the_job
                )
            )
    elif kind is VerdictKind.NO_TARGETS:
        template = m.summary_no_targets_group if group else m.summary_no_targets_other
        lines.append(template.format(status=status, target=target, expected=expected))
    elif kind is VerdictKind.MISMATCH:
        lines.append(
            m.summary_mismatch.format(reached=verdict.reached, target=target, expected=expected)
        )
    elif kind is VerdictKind.STOPPED:
        stale = verdict.stale_count
        alarms = escape_clip(m.list_separator.join(a.name for a in verdict.stopped_by), TARGET_TEXT)
        lines.append(
            m.summary_stopped.format(
                alarms=f"*{alarms}*",
                the_job=the_job,
                succeeded=verdict.succeeded,
                expected=expected,
                target=target,
                stale=stale,
            )
        )
    elif kind is VerdictKind.CANCELLED:
        lines.append(
            m.summary_cancelled.format(
                the_job=the_job,
                succeeded=verdict.succeeded,
                expected=expected,
                stale=verdict.stale_count,
            )
        )
    elif kind is VerdictKind.FAILED:
        lines.append(m.summary_failed.format(status=status))
        if verdict.status_details == RATE_EXCEEDED:
            lines.append(m.summary_rate_exceeded)
    if verdict.missing_instances:
        lines.append(m.summary_missing.format(count=verdict.missing_count))
    if verdict.problems and kind is not VerdictKind.NO_TARGETS:
        suffix = (
            m.cleared_partial.format(entries=c.entries, instances=c.instances)
            if c and not cleared_said
            else ""
        )
        cleared_said = cleared_said or bool(suffix)
        lines.append(
            m.summary_partial.format(
                failed=verdict.problem_count,
                reached=verdict.reached,
                cleared=suffix,
                the_job=the_job,
            )
        )
        reasons = _reason_counts(verdict, m)
        if reasons:
            lines.append(m.reasons_line.format(reasons=reasons))
    if verdict.joined_after:
        lines.append(
            m.summary_joined.format(count=verdict.joined_count, the_job=the_job, no_job=job.no_job)
        )
    if verdict.outside:
        lines.append(m.summary_outside.format(count=verdict.outside_count))
    if verdict.hibernated_warm_pools:
        pools = escape_clip(m.list_separator.join(verdict.hibernated_warm_pools), TARGET_TEXT)
        # The promise that the stack clears each instance leaving the pool holds only while
        # ClearOnWarmPoolExit is on.
        said = m.warm_pool_hibernated if warm_pool_exit_clears else m.warm_pool_hibernated_uncleared
        lines.append(said.format(groups=pools))
    if verdict.scaling is not None and verdict.scaling.is_scaling:
        s = verdict.scaling
        lines.append(
            m.scaling.format(
                desired=s.desired,
                in_service=s.in_service,
                pending=s.pending,
                terminating=s.terminating,
            )
        )
    if c is not None and not cleared_said:
        lines.append(m.cleared.format(entries=c.entries, instances=c.instances))
    lines += _reset_lines(verdict, m)
    if kind in (VerdictKind.STOPPED, VerdictKind.CANCELLED):
        lines.append(m.stopped_next.format(command_id=escape(verdict.command_id)))
    if verdict.is_alert and verdict.lifecycle_result:
        lines.append(m.held_abandon if verdict.lifecycle_result == "ABANDON" else m.held_continue)
    if verdict.target.kind is TargetKind.INSTANCES:
        lines.append(m.not_group_instances.format(target=target))
    elif not group:
        lines.append(m.not_group.format(target=target))
    return lines


def _reset_lines(verdict: Verdict, m: Messages) -> list[str]:
    """The OPcache restarts that took, and what they left alone: preload and the file cache
    keep old code running (the verdict is an alert), validate_timestamps is only said."""
    r = verdict.reset
    if r is None:
        return []
    lines = [m.reset_line.format(instances=r.instances, scripts=r.scripts)]
    if r.preload:
        lines.append(m.caveat_preload.format(count=len(r.preload)))
    if r.file_cache:
        lines.append(m.caveat_file_cache.format(count=len(r.file_cache)))
    if r.validate_timestamps:
        lines.append(m.caveat_validate_timestamps.format(count=r.validate_timestamps))
    return lines


def _reason_counts(verdict: Verdict, m: Messages) -> str:
    """ "restricted (1), restart pending (2)": why resets did not take, per reason."""
    counts: dict[str, int] = {}
    for problem in verdict.problems:
        if problem.reason:
            counts[problem.reason] = counts.get(problem.reason, 0) + 1
    return m.list_separator.join(
        m.reason_count.format(reason=_opcache_reason(reason, m), count=count)
        for reason, count in counts.items()
    )


def _opcache_reason(reason: str, m: Messages) -> str:
    return m.opcache_reasons.get(reason) or escape_clip(reason, 40)


def _fields(verdict: Verdict, m: Messages, target: str) -> list[dict[str, str]]:
    if verdict.kind is VerdictKind.UNREADABLE:
        return []
    pairs: list[tuple[str, str]] = []
    if verdict.kind not in (VerdictKind.UNKNOWN_COMMAND, VerdictKind.TEST_EVENT):
        label = m.label_group if verdict.target.kind is TargetKind.GROUP else m.label_target
        pairs.append((label, target))
    pairs.append((m.label_command, f"`{escape(verdict.command_id)}`"))
    status = _status(verdict, m)
    if verdict.clear is not None and verdict.clear.attempts > 1:
        # The command shown is the clear's first; its status is not the clear's outcome.
        status = m.status_first_attempt.format(status=status, attempts=verdict.clear.attempts)
    pairs.append((m.label_status, status))
    if verdict.kind in (VerdictKind.UNKNOWN_COMMAND, VerdictKind.TEST_EVENT):
        return [_field(label, value) for label, value in pairs]
    if verdict.expected is not None:
        reached = m.reached.format(succeeded=verdict.succeeded, expected=verdict.expected)
    else:
        reached = m.reached_of_targeted.format(
            succeeded=verdict.succeeded, targeted=verdict.targeted
        )
    pairs.append((m.label_reached, reached))
    pairs.append((m.label_requested, _time(verdict.requested, m)))
    pairs.append(
        (m.label_comment, escape_clip(verdict.comment, 500) if verdict.comment else m.none)
    )
    # clear-apcu, the default, goes unsaid, as it always did.
    if verdict.action != DEFAULT_ACTION:
        pairs.append((m.label_action, f"`{escape(verdict.action)}`"))
    return [_field(label, value) for label, value in pairs]


def _field(label: str, value: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": clip(f"*{label}*\n{value}", FIELD_TEXT)}


def _time(value: dt.datetime | None, m: Messages) -> str:
    if value is None:
        return m.none
    moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime(m.time_format)


def _missing(verdict: Verdict, m: Messages) -> str:
    ids = verdict.missing_instances
    items = [f"`{escape(i)}`" for i in ids]
    return _pack(
        m.missing_title.format(count=len(ids)),
        items,
        m,
        separator=m.list_separator,
        max_items=MAX_LISTED_INSTANCES,
    )


def _joined(verdict: Verdict, m: Messages) -> str:
    ids = verdict.joined_after
    return _pack(
        m.joined_title.format(count=len(ids)),
        [f"`{escape(i)}`" for i in ids],
        m,
        separator=m.list_separator,
        max_items=MAX_LISTED_INSTANCES,
    )


def _clear(history: ClearHistory, m: Messages) -> str:
    """Per instance that needed another attempt: what each attempt said, and how it ended."""
    lines = []
    for row in history.instances:
        said = m.clear_then.join(escape(s) for s in row.outcomes)
        values = {"instance": escape(row.instance_id), "said": said}
        if row.cleared_on:
            index = min(row.cleared_on - 2, len(m.ordinals) - 1)
            lines.append(m.clear_cleared.format(ordinal=m.ordinals[index], **values))
        elif row.note == "offline":
            lines.append(m.clear_offline.format(**values))
        elif row.note == "alarm":
            lines.append(m.clear_alarm.format(**values))
        elif row.note == "left":
            lines.append(m.clear_left.format(**values))
        elif row.note == "not-retryable":
            lines.append(m.clear_not_retryable.format(**values))
        else:
            lines.append(m.clear_still.format(attempts=len(row.outcomes), **values))
    return _pack(
        m.clear_title.format(count=len(history.instances)),
        lines,
        m,
        separator="\n",
        max_items=MAX_LISTED_INSTANCES,
    )


def _old_code(verdict: Verdict, m: Messages) -> str:
    r = verdict.reset
    assert r is not None
    items = [
        m.old_code_line.format(
            instance=escape(i),
            caveats=m.list_separator.join(
                m.caveat_names[c]
                for c, having in ((CAVEAT_PRELOAD, r.preload), (CAVEAT_FILE_CACHE, r.file_cache))
                if i in having
            ),
        )
        for i in r.old_code
    ]
    return _pack(
        m.old_code_title.format(count=len(r.old_code)),
        items,
        m,
        separator="\n",
        max_items=MAX_LISTED_INSTANCES,
    )


def _outside(verdict: Verdict, m: Messages) -> str:
    items = []
    for o in verdict.outside[:MAX_LISTED_INSTANCES]:
        status = o.status
        if o.status_details and o.status_details != o.status:
            status = m.status_with_details.format(status=status, details=o.status_details)
        items.append(
            m.outside_line.format(
                instance=escape(o.instance_id),
                state=escape(o.lifecycle_state) if o.lifecycle_state else m.outside_unlisted,
                status=escape(status),
            )
        )
    return _pack(
        m.outside_title.format(count=verdict.outside_count),
        items,
        m,
        separator="\n",
        max_items=MAX_LISTED_INSTANCES,
        total=verdict.outside_count,
    )


def _problems(verdict: Verdict, m: Messages) -> str:
    items = []
    for problem in verdict.problems[:MAX_LISTED_PROBLEMS]:
        status = problem.status
        if problem.status_details and problem.status_details != problem.status:
            status = m.status_with_details.format(status=status, details=problem.status_details)
        if problem.reason:
            line = m.problem_reason_line.format(
                instance=escape(problem.instance_id),
                status=escape(status),
                reason=_opcache_reason(problem.reason, m),
            )
        else:
            line = m.problem_line.format(
                instance=escape(problem.instance_id), status=escape(status)
            )
        block = code_block(problem.excerpt, EXCERPT_TEXT) if problem.excerpt else ""
        items.append(f"{line}\n{block}" if block else line)
    title = m.problems_title.format(count=verdict.problem_count)
    return _pack(
        title, items, m, separator="\n", max_items=MAX_LISTED_PROBLEMS, total=verdict.problem_count
    )


def _pack(
    title: str,
    items: Sequence[str],
    m: Messages,
    *,
    separator: str,
    max_items: int,
    total: int | None = None,
) -> str:
    """As many items as fit in one section, then "…and N more" for the rest."""
    total = len(items) if total is None else total
    reserve = len(m.more.format(count=total)) + 1
    text, shown = title, 0
    for item in items[:max_items]:
        candidate = text + (separator if shown else "\n") + item
        last = shown + 1 == total
        if len(candidate) + (0 if last else reserve) > SECTION_TEXT:
            break
        text, shown = candidate, shown + 1
    if shown < total:
        text += "\n" + m.more.format(count=total - shown)
    return text
