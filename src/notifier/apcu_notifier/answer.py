"""What a clear's record keeps of its verdict: the answer GET /flush/{commandId} gives (and
`apcu-flush --wait` exits with), and the verdict itself, which a retry asked on demand starts
from. Both stay far below DynamoDB's 400 KB: every list is bounded, every count whole."""

from __future__ import annotations

import datetime as dt
from typing import Any

from apcu_clear.command import CACHES, DEFAULT_ACTION
from apcu_clear.record import iso
from apcu_notifier.codec import encode
from apcu_notifier.verdict import LISTED, Verdict

MAX_DETAIL_CHARS = 300


def api_verdict(verdict: Verdict, now: dt.datetime) -> dict[str, Any]:
    caches = CACHES.get(verdict.action, CACHES[DEFAULT_ACTION])
    body: dict[str, Any] = {
        "kind": verdict.kind.value,
        "alert": verdict.is_alert,
        "expected": verdict.expected,
        "targeted": verdict.targeted,
        "succeeded": verdict.succeeded,
        "missingInstances": list(verdict.missing_instances[:LISTED]),
        "problems": [
            {
                "instanceId": p.instance_id,
                "status": p.status,
                "detail": p.excerpt[:MAX_DETAIL_CHARS],
                **({"reason": p.reason} if p.reason else {}),
            }
            for p in verdict.problems[:20]
        ],
        "postedAt": iso(now),
        # How the clear learned the command had ended: SSM's notification, or its own look.
        "via": "look" if verdict.notification_missing else "sns",
        # What a retry re-sends to (the first 1,000), and how many there are in all.
        "stale": {
            "count": verdict.stale_count,
            "instances": [s.instance_id for s in verdict.stale],
        },
    }
    if verdict.clear is not None:
        body["attempts"] = verdict.clear.attempts
    if "apcu" in caches:
        c = verdict.cleared
        body["apcu"] = {"instances": c.instances if c else 0, "entries": c.entries if c else 0}
    if "opcache" in caches:
        r = verdict.reset
        body["opcache"] = {
            "instances": r.instances if r else 0,
            "scripts": r.scripts if r else 0,
            "preload": list(r.preload) if r else [],
            "fileCache": list(r.file_cache) if r else [],
            "validateTimestamps": r.validate_timestamps if r else 0,
        }
    return body


def judgement(verdict: Verdict) -> dict[str, Any]:
    value: dict[str, Any] = encode(verdict)
    return value
