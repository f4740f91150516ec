"""Clear again what a clear's verdict left stale (POST /flush/{commandId}/retry, the Slack button).

What is sent comes from the clear's record only (its group, action and prefix, and the stale
instances its verdict named) and from the group as it is now (which of them are InService):
nothing from the request reaches the fleet. A retry is a clear of its own, with an id of its
own: it takes the group's claim as a clear does, and its durable execution sends the commands,
waits for them and judges them on top of the verdict it repairs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from apcu_clear import claim, command, record
from apcu_clear.errors import CLEAR_IN_PROGRESS, NOTHING_TO_RETRY, Conflict, Forbidden, Unavailable
from apcu_dispatcher import guard, sending
from apcu_dispatcher.runtime import Runtime
from apcu_dispatcher.status import unknown


@dataclass(frozen=True)
class Retry:
    clear_id: str
    body: dict[str, Any]


def retry(clear_id: str, requester: str, rt: Runtime, *, origin: str = "retry") -> Retry:
    stored = record.read(rt.dynamodb, rt.table, clear_id)
    if stored is None or stored.clear is None:
        raise unknown(clear_id)
    clear = stored.clear
    if stored.state != record.JUDGED:
        raise Conflict(
            f"clear {clear_id} has no verdict yet; wait for it, then retry what it missed",
            field="commandId",
            rule=CLEAR_IN_PROGRESS,
        )
    stale = [str(i) for i in (stored.verdict.get("stale") or {}).get("instances", [])]
    if not stored.verdict.get("alert") or not stale:
        raise Conflict(
            f"clear {clear_id} ended {stored.verdict.get('kind')} and left no instance stale; nothing was sent",
            field="commandId",
            rule=NOTHING_TO_RETRY,
        )
    if clear.group not in rt.config.shared.allowed_groups:
        raise Forbidden(
            f"group {clear.group} is no longer one this stack may clear; nothing was sent",
            field="commandId",
            rule="allowed-groups",
        )
    pages = rt.autoscaling.get_paginator("describe_auto_scaling_groups").paginate(
        AutoScalingGroupNames=[clear.group]
    )
    live = {
        i["InstanceId"]
        for page in pages
        for group in page.get("AutoScalingGroups", [])
        for i in group.get("Instances", [])
        if i.get("LifecycleState") == "InService"
    }
    targets = [i for i in stale if i in live]
    skipped = [i for i in stale if i not in live]
    if not targets:
        raise Conflict(
            f"none of the {len(stale)} instances clear {clear_id} left stale is InService in {clear.group} now; "
            "nothing was sent",
            field="commandId",
            rule=NOTHING_TO_RETRY,
            details={"skipped": skipped},
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
            record.record_failure(
                rt.dynamodb, rt.table, retry_id, "its execution could not be started"
            )
            raise Unavailable(
                "the retry could not be started (Lambda did not take it); nothing was sent, try again",
                rule="not-started",
            )
    total = int((stored.verdict.get("stale") or {}).get("count", len(stale)))
    bounded = {
        "reason": "stale-list-bounded",
        "message": f"the verdict left {total} instances stale and kept the first {len(stale)}; clear the group for the rest",
    }
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
    return Retry(retry_id, sending.with_alarm(body, state))
