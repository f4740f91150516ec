"""What a person reads: the accepted command, a dry-run plan, progress and the verdict."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

# Enough to act on; the Slack message and the console link have the rest.
MAX_LISTED = 10
# What each action did, in a sentence: "3 of 3 targeted instances cleared their cache".
DONE = {
    "clear-apcu": "cleared their cache",
    "reset-opcache": "reset OPcache",
    "clear-all": "cleared APCu and reset OPcache",
}
WHAT = {
    "clear-apcu": "clears APCu",
    "reset-opcache": "resets OPcache",
    "clear-all": "clears APCu and resets OPcache",
}
# opcache.php's reasons a reset did not take, as the notifier records them.
REASONS = {
    "disabled": "OPcache is disabled in php-fpm",
    "restricted": "opcache.restrict_api refuses the reset",
    "not_restarted": "the restart is still pending",
    "unconfirmed": "no answer from opcache.php, the reset is not proven",
}


def _action(body: Mapping[str, Any]) -> str:
    action = str(body.get("action") or "clear-apcu")
    return action if action in DONE else "clear-apcu"


def elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


def accepted(body: Mapping[str, Any]) -> list[str]:
    expect = body.get("expect") or {}
    prefix = f" (keys starting with {body['prefix']!r})" if body.get("prefix") else ""
    lines = [
        f"sent: command {body.get('commandId')} {WHAT[_action(body)]} on group "
        f"{body.get('group')}{prefix}",
        f"  expecting {expect.get('inService', '?')} InService of {expect.get('desiredCapacity', '?')}"
        f" desired, {expect.get('managedOnline', '?')} with the SSM agent online",
    ]
    lines += [f"  warning: {w.get('message', w)}" for w in body.get("warnings") or []]
    if body.get("consoleUrl"):
        lines.append(f"  {body['consoleUrl']}")
    return lines


def retried(body: Mapping[str, Any]) -> list[str]:
    """The 202 of a retry: its clear's id, and the instances retried and skipped."""
    retried_ids = list(body.get("retried") or [])
    skipped = list(body.get("skipped") or [])
    lines = [
        f"sent: retry {body.get('commandId')} of {body.get('retryOf')} {WHAT[_action(body)]} on "
        f"{instances(len(retried_ids))} of group {body.get('group')}",
        f"  clear {body.get('commandId')}: apcu-flush status {body.get('commandId')} --wait",
    ]
    if retried_ids:
        lines.append(f"  retried: {_listed(retried_ids)}")
    if skipped:
        lines.append(f"  skipped, no longer InService: {_listed(skipped)}")
    lines += [f"  warning: {w.get('message', w)}" for w in body.get("warnings") or []]
    return lines


def dry_run(body: Mapping[str, Any]) -> list[str]:
    plan = body.get("plan") or {}
    in_service = plan.get("inService") or []
    lines = [
        f"dry run: nothing was sent. Group {plan.get('group')}: {len(in_service)} InService of "
        f"{plan.get('desiredCapacity')} desired, {plan.get('managedOnline')} with the SSM agent online",
    ]
    lines += [f"  warning: {w.get('message', w)}" for w in plan.get("warnings") or []]
    would_send = body.get("wouldSend")
    if isinstance(would_send, Mapping):
        # The dispatcher's own request, as it would send it: what a reviewer checks.
        lines.append("  it would send this SendCommand request:")
        text = json.dumps(would_send, ensure_ascii=False, indent=2)
        lines += [f"    {line}" for line in text.splitlines()]
    return lines


def refused(status: int, body: Mapping[str, Any], message: str) -> list[str]:
    raw = body.get("error")
    error: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    field = f", {error['field']}" if error.get("field") else ""
    lines = [f"refused ({status}{field}): {message}"]
    running = error.get("runningCommand")
    if isinstance(running, Mapping):
        lines.append(
            f"  running command: {running.get('commandId')} requested {running.get('requestedAt')}"
        )
        if running.get("consoleUrl"):
            lines.append(f"  {running['consoleUrl']}")
        lines.append(f"  wait for it with: apcu-flush status {running.get('commandId')} --wait")
    return lines


def progress(body: Mapping[str, Any] | None, seconds: float) -> str:
    """One line: the state, the time waited, and the instances so far where SSM says."""
    if body is None:
        return f"sending · {elapsed(seconds)}"
    if body.get("state") == "judged":
        verdict = body.get("verdict") or {}
        return f"judged: {_kind(verdict)} · {elapsed(seconds)}"
    ssm = body.get("ssm") or {}
    parts = [_running_state(body), elapsed(seconds)]
    targeted = ssm.get("targeted")
    if isinstance(targeted, int) and targeted > 0:
        done = f"{ssm.get('completed', 0)} of {targeted} instances done"
        if ssm.get("errors"):
            done += f", {ssm['errors']} failed"
        parts.append(done)
    elif ssm.get("status") in {"Pending", "InProgress"}:
        parts.append("waiting for the instances")
    return " · ".join(parts)


def verdict(body: Mapping[str, Any]) -> list[str]:
    """The verdict in a few lines: what happened, which instances, where to look."""
    found = body.get("verdict") or {}
    alert = found.get("alert") is True
    succeeded, targeted, expected = (
        found.get("succeeded"),
        found.get("targeted"),
        found.get("expected"),
    )
    headline = f"{succeeded} of {targeted} targeted instances {DONE[_action(body)]}"
    if expected is not None and expected != targeted:
        headline += f"; the group expects {expected}"
    lines = [f"{'ALERT ' if alert else ''}{_kind(found)}: {headline}"]
    missing: Sequence[str] = found.get("missingInstances") or []
    if missing:
        lines.append(f"  never ran it: {_listed(list(missing))}")
    lines += counts(found)
    problems: Sequence[Mapping[str, Any]] = found.get("problems") or []
    for problem in problems[:MAX_LISTED]:
        detail = " ".join(str(problem.get("detail") or "").split())
        reason = REASONS.get(str(problem.get("reason") or ""), str(problem.get("reason") or ""))
        lines.append(
            f"  {problem.get('instanceId')}  {problem.get('status')}"
            + (f"  {reason}" if reason else "")
            + (f"  {detail[:120]}" if detail else "")
        )
    if len(problems) > MAX_LISTED:
        lines.append(f"  and {len(problems) - MAX_LISTED} more")
    stale = found.get("stale") or {}
    if alert and isinstance(stale, Mapping) and stale.get("count"):
        lines.append(
            f"  still stale: {instances(stale['count'], 'InService instance')}; send the clear to them "
            f"again with: apcu-flush retry {body.get('commandId')}"
        )
    prefix = f" prefix {body['prefix']!r}" if body.get("prefix") else ""
    lines.append(
        f"  group {body.get('group')}{prefix} · command {body.get('commandId')} · "
        f"requested {body.get('requestedAt')} · judged {found.get('postedAt')}"
        f" via {found.get('via')}"
    )
    if body.get("consoleUrl"):
        lines.append(f"  {body['consoleUrl']}")
    return lines


def counts(found: Mapping[str, Any]) -> list[str]:
    """One line per cache the action touched, and where old code may still run."""
    lines = []
    apcu = found.get("apcu")
    if isinstance(apcu, Mapping):
        lines.append(
            f"  APCu: {apcu.get('entries', 0)} entries cleared on {apcu.get('instances', 0)} "
            "instances"
        )
    opcache = found.get("opcache")
    if isinstance(opcache, Mapping):
        lines.append(
            f"  OPcache: reset on {opcache.get('instances', 0)} instances, "
            f"{opcache.get('scripts', 0)} compiled scripts dropped"
        )
        for key, what in (
            ("preload", "preloaded scripts stay until php-fpm reloads"),
            ("fileCache", "the file cache was not cleared"),
        ):
            stale = [str(i) for i in opcache.get(key) or []]
            if stale:
                lines.append(f"  old code may still run, {what}: {_listed(stale)}")
        if opcache.get("validateTimestamps"):
            lines.append(
                f"  validate_timestamps=1 on {opcache['validateTimestamps']} instances: OPcache "
                "revalidates on its own"
            )
    return lines


def running(body: Mapping[str, Any]) -> list[str]:
    """`status` without --wait, before the verdict."""
    return [
        f"{_running_state(body)}: command {body.get('commandId')} on group "
        f"{body.get('group')}, requested {body.get('requestedAt')}, no verdict yet",
        *([f"  {body['consoleUrl']}"] if body.get("consoleUrl") else []),
    ]


def _running_state(body: Mapping[str, Any]) -> str:
    status = (body.get("ssm") or {}).get("status")
    return f"running ({status})" if status else "running"


def _kind(found: Mapping[str, Any]) -> str:
    return str(found.get("kind") or "unknown").replace("_", " ")


def _listed(items: list[str]) -> str:
    shown = ", ".join(items[:MAX_LISTED])
    return shown + (f" and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else "")


def instances(count: int, noun: str = "instance") -> str:
    """The count with its noun: "1 instance", "3 instances"."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
