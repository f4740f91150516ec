"""What every message says the same way: the target, SSM's words for a status, counts, times,
who asked, and the fields under the summary. Every value is escaped here, once, before a
catalogue's template takes it. No I/O."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass

from apcu_clear.command import DEFAULT_ACTION, requester_names
from apcu_clear.record import Clear
from apcu_notifier.config import Config, Language
from apcu_notifier.messages import CATALOGUE
from apcu_notifier.messages.en import Job, Messages
from apcu_notifier.render.blocks import escape, escape_clip
from apcu_notifier.verdict import TargetKind, Verdict, VerdictKind

TARGET_TEXT = 800
# SSM's words for a status are a few words long; anything longer is not SSM's, and is cut.
SAID_TEXT = 60
NAME_TEXT = 200
COMMENT_TEXT = 500
MAX_TARGET_VALUES = 5
# A field with nothing to say.
NONE = "—"
# The API spells some statuses as one word ("DeliveryTimedOut", "InProgress"); SSM's user guide
# and botocore's model documentation write them as words ("Delivery Timed Out"), and so do
# the messages.
_WORD_BREAK = re.compile(r"(?<=[a-z])(?=[A-Z])")


@dataclass(frozen=True)
class Style:
    """How the stack writes its messages: its configuration, and the Region of its links."""

    language: Language
    mention: str
    region: str
    zone: dt.tzinfo
    docs_url: str
    warm_pool_exit_clears: bool

    @classmethod
    def of(cls, config: Config, region: str) -> Style:
        return cls(
            language=config.language,
            mention=config.alert_mention,
            region=region,
            zone=config.time_zone,
            docs_url=config.docs_url,
            warm_pool_exit_clears=config.warm_pool_exit_clears,
        )


@dataclass(frozen=True)
class Request:
    """Who asked for the clear and why, as its record says; empty for a command the stack did
    not record. For a retry asked on demand, the clear it repairs asked, and `retried_by`
    asked again."""

    # The clear whose verdict this is: what `apcu-flush retry` and the button name.
    clear_id: str = ""
    group: str = ""
    requester: str = ""
    comment: str = ""
    retried_by: str = ""

    @classmethod
    def of(cls, clear: Clear | None, repaired: Clear | None = None) -> Request:
        if clear is None:
            return cls()
        if not clear.retry_of:
            return cls(clear.clear_id, clear.group, clear.requester, clear.comment)
        asked, why = (repaired.requester, repaired.comment) if repaired is not None else ("", "")
        return cls(clear.clear_id, clear.group, asked, why, retried_by=clear.requester)

    @property
    def recorded(self) -> bool:
        return bool(self.clear_id)


class Context:
    """One message being written: the verdict, the catalogue, and the words its sentences name."""

    def __init__(self, verdict: Verdict, style: Style, request: Request, button: bool) -> None:
        self.v = verdict
        self.style = style
        self.request = request
        self.button = button
        self.m: Messages = CATALOGUE[style.language]
        self.target = _target(verdict, request, self.m)
        self.group = verdict.target.kind is TargetKind.GROUP
        self.target_known = verdict.target.kind is not TargetKind.UNKNOWN or bool(request.group)
        self.status = escape_clip(said(verdict.status, verdict.status_details), SAID_TEXT) or NONE
        self.reason = self.m.reasons[verdict.reason] if verdict.reason else NONE
        # The entries removed, in words; "" when the action cleared no APCu.
        self.entries = self.m.entries(verdict.cleared.entries) if verdict.cleared else ""
        removing = self.m.removing.format(entries=self.entries) if self.entries else ""
        job_words = asdict(job(self.m, verdict.action))
        self.words = {**job_words, "target": self.target, "removing": removing}

    def say(self, template: str, **values: str) -> str:
        """`template` filled with `values` and what any sentence may name: Job, target, removing."""
        return template.format(**{**self.words, **values})

    def who(self, count: int) -> str:
        """ "3 instances in service in web-prod", or "3 instances" for another target."""
        instances = self.m.instances(count)
        return self.say(self.m.who_in_group, instances=instances) if self.group else instances

    def how(self) -> str:
        """How to clear again what is still stale: the CLI, and in app mode the button first."""
        cli = f"`apcu-flush retry {escape(self.request.clear_id or self.v.command_id)}`"
        return self.m.how_button.format(cli=cli) if self.button else cli

    def others_removed(self) -> list[str]:
        return [self.m.others_removed.format(entries=self.entries)] if self.entries else []

    def caveats(self) -> list[str]:
        """What OPcache's reset left alone where the detail names it (preload, file cache)."""
        r = self.v.reset
        if r is None:
            return []
        both = ((r.preload, self.m.caveat_preload), (r.file_cache, self.m.caveat_file_cache))
        return [text for having, text in both if having]


def job(m: Messages, action: str) -> Job:
    return m.jobs.get(action, m.jobs[DEFAULT_ACTION])


def said(status: str, details: str = "") -> str:
    """SSM's own words for how something ended: StatusDetails says more than Status."""
    return _WORD_BREAK.sub(" ", details or status)


def when(moment: dt.datetime, zone: dt.tzinfo, m: Messages) -> str:
    """ "2026-03-02 18:15:03 JST (UTC+09:00)", or "2026-03-02 09:15:03 UTC"."""
    local = (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(zone)
    utc_offset = f"{local:%z}"
    offset = f"UTC{utc_offset[:3]}:{utc_offset[3:5]}"
    name = local.tzname() or ""
    if name == "UTC" and utc_offset == "+0000":
        named = "UTC"
    elif not name or name[0] in "+-":
        # Zones without an abbreviation of their own name themselves by their offset ("+04").
        named = offset
    else:
        named = m.zone_named.format(name=name, offset=offset)
    return f"{local:%Y-%m-%d %H:%M:%S} {named}"


def duration(span: dt.timedelta, m: Messages) -> str:
    minutes = int(span.total_seconds() // 60)
    return m.hours(minutes // 60) if minutes and not minutes % 60 else m.minutes(minutes)


def requester(name: str) -> str:
    """Who asked, as a reader knows them: an SSO role ARN as its role and session."""
    return escape_clip(requester_names(name)[0], NAME_TEXT) if name else ""


def fallback(m: Messages, title: str, command_id: str, target: str | None) -> str:
    """The top-level text a notification shows: "title: target (command id)"."""
    named = title if target is None else f"{title}: {target}"
    return named + m.about_command.format(command_id=escape(command_id))


def field_pairs(c: Context) -> list[tuple[str, str]]:
    """The fields under the summary: where, how it ended, when, who asked and why."""
    v, m, r = c.v, c.m, c.request
    if v.kind is VerdictKind.UNREADABLE:
        return []
    command = (m.label_command, f"`{escape(v.command_id)}`")
    if v.kind in (VerdictKind.UNKNOWN_COMMAND, VerdictKind.TEST_EVENT):
        return [command, (m.label_status, c.status)]
    pairs: list[tuple[str, str]] = []
    if c.target_known:
        grouped = v.target.kind in (TargetKind.GROUP, TargetKind.UNKNOWN)
        pairs.append((m.label_group if grouped else m.label_target, c.target))
    status, history = c.status, v.clear
    # "attempt 1 of N" only where a later attempt cleared what the first left, so that the
    # status never reads as the clear's outcome when it is not.
    if history is not None and any(row.cleared_on for row in history.instances):
        status = m.status_first_of.format(status=status, attempts=history.attempts)
    pairs += [command, (m.label_status, status)]
    if v.kind not in (VerdictKind.STUCK, VerdictKind.NEVER_ENDED):
        succeeded = m.succeeded_of_wanted if v.expected is not None else m.succeeded_of_sent
        counts = {"wanted": f"{v.expected or 0:,}", "sent": f"{v.targeted:,}"}
        pairs.append((m.label_succeeded, succeeded.format(succeeded=f"{v.succeeded:,}", **counts)))
        requested = when(v.requested, c.style.zone, m) if v.requested else NONE
        pairs.append((m.label_requested, requested))
    if r.recorded:
        pairs.append((m.label_requester, requester(r.requester) or NONE))
        pairs.append((m.label_comment, escape_clip(r.comment, COMMENT_TEXT) or NONE))
    elif v.comment:
        # A command the stack did not record: SSM's Comment is all there is.
        pairs.append((m.label_comment, escape_clip(v.comment, COMMENT_TEXT)))
    # clear-apcu, the default, goes unsaid.
    if v.action != DEFAULT_ACTION:
        pairs.append((m.label_action, f"`{escape(v.action)}`"))
    if r.retried_by:
        pairs.append((m.label_retried_by, requester(r.retried_by)))
    return pairs


def _target(v: Verdict, request: Request, m: Messages) -> str:
    """The target in words, escaped and short enough to sit inside a sentence."""
    if v.target.kind is TargetKind.UNKNOWN:
        # The stuck and never-ended alerts know the clear's group from its record only.
        return escape_clip(request.group, TARGET_TEXT) if request.group else m.target_unknown
    values = v.target.values
    listed = m.list_separator.join(values[:MAX_TARGET_VALUES])
    if len(values) > MAX_TARGET_VALUES:
        listed += " " + m.more_targets.format(count=len(values) - MAX_TARGET_VALUES)
    if v.target.kind is TargetKind.INSTANCES:
        listed = m.target_instances.format(ids=listed)
    return escape_clip(listed, TARGET_TEXT)
