"""A recorded clear by its id: its state (GET /flush/{commandId}, SSM's live view while it runs),
and its retry of what its verdict left stale, from the record and the group, not the request."""

from __future__ import annotations

import re
import uuid
from typing import Any

from apcu_clear import claim, command, record
from apcu_dispatcher import guard, refusals, sending
from apcu_dispatcher.runtime import Runtime

# What a verdict's answer lists of the instances it left stale; `count` says how many in all.
MAX_LISTED = 100
MAX_SHOWN_COMMANDS = 10
_ID = "commandId"
# SSM command ids are UUIDs (36 characters in the ssm model); so are those of retries on demand.
_CLEAR_ID = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


def recorded(value: str, rt: Runtime) -> tuple[record.Stored, record.Clear]:
    """The clear `value` names, as recorded; refused for a malformed or unknown id."""
    if not _CLEAR_ID.fullmatch(value):
        why = "commandId must be a Run Command id: a UUID such as 5f0c4a1e-8d3b-4c2a-9e7f-1b6d2a9c3e48"
        raise refusals.InvalidRequest(why, field=_ID, rule="pattern")
    stored = record.read(rt.dynamodb, rt.table, value)
    if stored is None or stored.clear is None:
        why = f"no clear {value} was sent by this stack (or its record has expired)"
        raise refusals.NotFound(why, field=_ID, rule="unknown-command")
    return stored, stored.clear


def status(clear_id: str, rt: Runtime) -> dict[str, Any]:
    stored, clear = recorded(clear_id, rt)
    body: dict[str, Any] = {
        "commandId": clear_id,
        "group": clear.group,
        "action": clear.action,
        "prefix": clear.prefix,
        "requestedAt": clear.requested_at,
        "expiresAt": clear.expires_at,
        "consoleUrl": command.console_url(rt.region, (stored.commands or [clear_id])[-1]),
        **({"retryOf": clear.retry_of} if clear.retry_of else {}),
    }
    if stored.commands:
        latest = list(stored.commands[-MAX_SHOWN_COMMANDS:])
        body["commands"] = {"count": len(stored.commands), "latest": latest}
    if stored.state == record.JUDGED:
        stale = stored.verdict.get("stale") or {}
        instances = list(stale.get("instances", []))[:MAX_LISTED]
        listed = {"count": stale.get("count", 0), "instances": instances}
        return {**body, "state": "judged", "verdict": {**stored.verdict, "stale": listed}}
    if stored.state == record.FAILED:
        return {**body, "state": "failed", "failure": stored.failure}
    # A retry asked on demand has no command of its own until its execution sends one.
    live = stored.commands[-1] if stored.commands else ("" if clear.retry_of else clear_id)
    body["state"] = "running"
    if live:
        body["ssm"] = {"commandId": live, **command.live(rt.ssm, live).to_json()}
    return body


def retry(clear_id: str, requester: str, rt: Runtime, *, origin: str = "retry") -> dict[str, Any]:
    stored, clear = recorded(clear_id, rt)
    if stored.state == record.FAILED:
        why = f"clear {clear_id} failed before its verdict ({stored.failure or 'no reason recorded'}), so it named no stale instance to retry; nothing was sent. Clear the group again"
        raise refusals.Conflict(why, field=_ID, rule=refusals.NOTHING_TO_RETRY)
    if stored.state != record.JUDGED:
        why = f"clear {clear_id} has no verdict yet; wait for it, then retry what it missed"
        raise refusals.Conflict(why, field=_ID, rule=refusals.CLEAR_IN_PROGRESS)
    left = stored.verdict.get("stale") or {}
    stale = [str(i) for i in left.get("instances", [])]
    if not stored.verdict.get("alert") or not stale:
        why = f"clear {clear_id} ended {stored.verdict.get('kind')} and left no instance stale; nothing was sent"
        raise refusals.Conflict(why, field=_ID, rule=refusals.NOTHING_TO_RETRY)
    if clear.group not in rt.config.shared.allowed_groups:
        why = f"group {clear.group} is no longer one this stack may clear; nothing was sent"
        raise refusals.Forbidden(why, field=_ID, rule="allowed-groups")
    groups = rt.autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[clear.group])
    instances = [i for group in groups["AutoScalingGroups"] for i in group.get("Instances", [])]
    live = {i["InstanceId"] for i in instances if i["LifecycleState"] == "InService"}
    targets = [i for i in stale if i in live]
    skipped = [i for i in stale if i not in live]
    if not targets:
        why = f"none of the {len(stale)} instances clear {clear_id} left stale is InService in {clear.group} now; nothing was sent"
        raise refusals.Conflict(
            why, field=_ID, rule=refusals.NOTHING_TO_RETRY, details={"skipped": skipped}
        )
    state = guard.alarm_allows(rt)
    retry_id = str(uuid.uuid4())
    now = rt.now()
    with guard.claimed(rt, claim.group_key(clear.group), f"group {clear.group}") as taken:
        until = now + rt.config.shared.commands.lifetime + guard.MARGIN
        claim.name_holder(rt.dynamodb, rt.table, taken, retry_id, until=until)
        retried = record.Clear(
            clear_id=retry_id,
            group=clear.group,
            action=clear.action,
            prefix=clear.prefix,
            requester=requester,
            comment=f"retry of {clear_id}",
            origin=origin,
            requested_at=record.iso(now),
            retry_of=clear_id,
            targets=tuple(targets),
            claim_key=taken.key,
            message=stored.message,
        )
        record.create(rt.dynamodb, rt.table, retried)
        if not sending.start_execution(rt, retry_id):
            # Nothing was sent yet: the retry's execution sends it, and did not start.
            failure = "its execution could not be started"
            record.record_failure(rt.dynamodb, rt.table, retry_id, failure)
            why = "the retry could not be started (Lambda did not take it); nothing was sent, try again"
            raise refusals.Unavailable(why, rule="not-started")
    total = int(left.get("count", len(stale)))
    kept = f"the verdict left {total} instances stale and kept the first {len(stale)}; clear the group for the rest"
    bounded = {"reason": "stale-list-bounded", "message": kept}
    body = {
        "retryOf": clear_id,
        "commandId": retry_id,
        "group": clear.group,
        "action": clear.action,
        "prefix": clear.prefix or None,
        "retried": targets,
        "skipped": skipped,
        "warnings": [bounded] if total > len(stale) else [],
        "consoleUrl": command.console_url(rt.region, clear_id),
    }
    return sending.with_alarm(body, state)
