"""What every message says the same way: the target, SSM's words for a status, counts, times,
who asked, and the fields under the summary. No I/O.

Every value is escaped here, once, before a catalogue's template takes it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from apcu_clear.command import DEFAULT_ACTION, requester_names
from apcu_clear.record import Clear
from apcu_notifier.config import Config, Language
from apcu_notifier.messages import Job, Messages, messages
from apcu_notifier.render.blocks import escape, escape_clip
from apcu_notifier.verdict import TargetKind, Verdict, VerdictKind

TARGET_TEXT = 800
# SSM's words for a status are a few words long; anything longer is not SSM's, and is cut.
SAID_TEXT = 60
NAME_TEXT = 200
COMMENT_TEXT = 500
MAX_TARGET_VALUES = 5
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


@dataclass(frozen=True)
class Said:
    """What a verdict kind's formatter says: the title, the first sentences, and how to finish
    what the verdict left stale ("" when nothing is left to finish)."""

    title: str
    summary: tuple[str, ...]
    finish: str = ""


class Context:
    """One message being written: the verdict, the catalogue, and what they need."""

    def __init__(self, verdict: Verdict, style: Style, request: Request, button: bool) -> None:
        self.v = verdict
        self.style = style
        self.request = request
        self.button = button
        self.m: Messages = messages(style.language)
        self.job: Job = self.m.jobs.get(verdict.action, self.m.jobs[DEFAULT_ACTION])
        self.target = _target(verdict, request, self.m)

    @property
    def group(self) -> bool:
        return self.v.target.kind is TargetKind.GROUP

    def who(self, count: int) -> str:
        """ "3 instances in service in web-prod", or "3 instances" for another target."""
        instances = self.m.instances(count)
        if not self.group:
            return instances
        return self.m.who_in_group.format(instances=instances, target=self.target)

    def how(self) -> str:
        """How to clear again what is still stale: the CLI, and in app mode the button."""
        clear_id = escape(self.request.clear_id or self.v.command_id)
        template = self.m.how_button if self.button else self.m.how_cli
        return template.format(clear_id=clear_id)

    def removing(self) -> str:
        c = self.v.cleared
        return self.m.removing.format(entries=self.m.entries(c.entries)) if c else ""

    def others_removed(self) -> list[str]:
        c = self.v.cleared
        return [self.m.others_removed.format(entries=self.m.entries(c.entries))] if c else []

    def status(self) -> str:
        return escape_clip(said(self.v.status, self.v.status_details), SAID_TEXT) or self.m.none


def said(status: str, details: str = "") -> str:
    """SSM's own words for how something ended: StatusDetails says more than Status."""
    return _WORD_BREAK.sub(" ", details or status)


def when(moment: dt.datetime, zone: dt.tzinfo, m: Messages) -> str:
    """ "2026-03-02 18:15:03 JST (UTC+09:00)", or "2026-03-02 09:15:03 UTC"."""
    local = (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(zone)
    name = local.tzname() or ""
    seconds = int((local.utcoffset() or dt.timedelta()).total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    offset = f"UTC{sign}{hours:02d}:{minutes:02d}"
    if name == "UTC" and not seconds:
        zone_said = "UTC"
    elif not name or name[0] in "+-":
        # Zones without an abbreviation of their own name themselves by their offset ("+04").
        zone_said = offset
    else:
        zone_said = m.zone_named.format(name=name, offset=offset)
    return f"{local:%Y-%m-%d %H:%M:%S} {zone_said}"


def duration(span: dt.timedelta, m: Messages) -> str:
    minutes = int(span.total_seconds() // 60)
    return m.hours(minutes // 60) if minutes and not minutes % 60 else m.minutes(minutes)


def requester(name: str) -> str:
    """Who asked, as a reader knows them: an SSO role ARN as its role and session."""
    return escape_clip(requester_names(name)[0], NAME_TEXT) if name else ""


def fields(c: Context) -> list[tuple[str, str]]:
    v, m = c.v, c.m
    if v.kind is VerdictKind.UNREADABLE:
        return []
    command = (m.label_command, f"`{escape(v.command_id)}`")
    if v.kind in (VerdictKind.UNKNOWN_COMMAND, VerdictKind.TEST_EVENT):
        return [command, (m.label_status, c.status())]
    pairs: list[tuple[str, str]] = []
    if v.target.kind is not TargetKind.UNKNOWN or c.request.group:
        grouped = v.target.kind in (TargetKind.GROUP, TargetKind.UNKNOWN)
        pairs.append((m.label_group if grouped else m.label_target, c.target))
    pairs += [command, (m.label_status, _status(c))]
    if v.kind not in (VerdictKind.STUCK, VerdictKind.NEVER_ENDED):
        pairs.append((m.label_succeeded, _succeeded(c)))
        pairs.append(
            (m.label_requested, when(v.requested, c.style.zone, m) if v.requested else m.none)
        )
    r = c.request
    if r.recorded:
        pairs.append((m.label_requester, requester(r.requester) or m.none))
        pairs.append((m.label_comment, escape_clip(r.comment, COMMENT_TEXT) or m.none))
    elif v.comment:
        # A command the stack did not record: SSM's Comment is all there is.
        pairs.append((m.label_comment, escape_clip(v.comment, COMMENT_TEXT)))
    # clear-apcu, the default, goes unsaid.
    if v.action != DEFAULT_ACTION:
        pairs.append((m.label_action, f"`{escape(v.action)}`"))
    if r.retried_by:
        pairs.append((m.label_retried_by, requester(r.retried_by)))
    return pairs


def _status(c: Context) -> str:
    """The first command's status; with "attempt 1 of N" only when a later attempt cleared what
    it left, so that a status never reads as the clear's outcome when it is not."""
    history = c.v.clear
    if history is None or not any(r.cleared_on for r in history.instances):
        return c.status()
    return c.m.status_first_of.format(status=c.status(), attempts=history.attempts)


def _succeeded(c: Context) -> str:
    v, m = c.v, c.m
    if v.expected is not None:
        return m.succeeded_of_wanted.format(succeeded=f"{v.succeeded:,}", wanted=f"{v.expected:,}")
    return m.succeeded_of_sent.format(succeeded=f"{v.succeeded:,}", sent=f"{v.targeted:,}")


def _target(v: Verdict, request: Request, m: Messages) -> str:
    """The target in words, escaped and short enough to sit inside a sentence."""
    values = v.target.values
    if v.target.kind is TargetKind.UNKNOWN:
        # The stuck and never-ended alerts know the clear's group from its record only.
        return escape_clip(request.group, TARGET_TEXT) if request.group else m.target_unknown
    shown = list(values[:MAX_TARGET_VALUES])
    listed = m.list_separator.join(shown)
    if len(values) > len(shown):
        listed += " " + m.more_targets.format(count=len(values) - len(shown))
    if v.target.kind is TargetKind.GROUP:
        text = listed
    elif v.target.kind is TargetKind.INSTANCES:
        text = m.target_instances.format(ids=listed)
    else:
        text = m.target_other.format(targets=listed)
    return escape_clip(text, TARGET_TEXT)
