"""The formatters of what could not be judged: a command SSM does not know, a stored test
event, an unreadable notification. No I/O."""

from __future__ import annotations

from apcu_notifier.render.words import Context, Said


def unknown_command(c: Context) -> Said:
    m = c.m
    return Said(m.title_unknown_command, (m.summary_unknown_command,))


def test_event(c: Context) -> Said:
    m = c.m
    return Said(m.title_test_event, (m.summary_test_event,))


def unreadable(c: Context) -> Said:
    return Said(c.m.title_unreadable, (c.m.summary_unreadable.format(reason=reason(c)),))


def reason(c: Context) -> str:
    return c.m.reasons[c.v.reason] if c.v.reason else c.m.none
