"""One verdict per command, whoever brings it (SNS, twice or late, or the watchdog), through
conditional writes on the command record (apcu_clear.store).

The winner of the claim posts and records the verdict; a post that fails gives the claim back,
so the retry posts; a second caller while the first is posting leaves it to the first (or to
the watchdog, should the first die). The claim is held for the invocation's remaining time,
so an invocation that dies mid-post cannot keep the command from ever being judged.

This replaces a separate Powertools idempotency table: that table keys on a hash of the event
and stores the function's result, so it could not share a key with the dispatcher's record,
and recording the verdict there as well would cost two more writes per verdict.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from apcu_clear import claim, store
from apcu_clear.item import RecordedProblem, RecordedVerdict, iso
from apcu_clear.store import Claim, ClaimResult
from apcu_notifier.counts import apcu_count, opcache_count
from apcu_notifier.verdict import Problem, Verdict

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from apcu_clear.item import CommandRecord

# Seconds the claim outlives the invocation's remaining time (clock skew, the final write).
CLAIM_MARGIN_SECONDS = 5.0

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Ledger:
    table: str
    client: DynamoDBClient
    clock: Clock = utc_now

    def claim(self, key: str, remaining: Callable[[], float]) -> Claim:
        return store.claim_verdict(
            self.client,
            self.table,
            key,
            now=self.clock(),
            hold_seconds=remaining() + CLAIM_MARGIN_SECONDS,
        )

    def record(self, key: str, token: str, verdict: Verdict, *, via: str) -> bool:
        return store.record_verdict(
            self.client, self.table, key, token, recorded(verdict, via, self.clock())
        )

    def release(self, key: str, token: str) -> None:
        store.release_claim(self.client, self.table, key, token)

    def end_clear(self, claim_key: str, command_id: str) -> bool:
        """End the clear's claim on its target if this command still holds it."""
        return claim.end(self.client, self.table, claim_key, command_id)

    def read(self, command_id: str) -> CommandRecord | None:
        return store.read(self.client, self.table, command_id)

    def judged(self, command_id: str) -> bool:
        return store.is_judged(self.client, self.table, command_id)

    def take_alert(self, command_id: str, attribute: str, remaining: Callable[[], float]) -> str:
        """A lease on posting the alert, held like the claim; "" when it is not ours to post."""
        return store.take_alert(
            self.client,
            self.table,
            command_id,
            now=self.clock(),
            hold_seconds=remaining() + CLAIM_MARGIN_SECONDS,
            attribute=attribute,
        )

    def complete_alert(self, command_id: str, attribute: str, token: str) -> None:
        store.complete_alert(self.client, self.table, command_id, token, self.clock(), attribute)

    def release_alert(self, command_id: str, attribute: str, token: str) -> None:
        store.release_alert(self.client, self.table, command_id, token, attribute)


def recorded(verdict: Verdict, via: str, now: dt.datetime) -> RecordedVerdict:
    return RecordedVerdict(
        kind=verdict.kind.value,
        alert=verdict.is_alert,
        expected=verdict.expected,
        targeted=verdict.targeted,
        succeeded=verdict.succeeded,
        missing_instances=verdict.missing_instances,
        problems=tuple(
            RecordedProblem(p.instance_id, p.status, _detail(p), p.reason) for p in verdict.problems
        ),
        posted_at=iso(now),
        via=via,
        apcu=apcu_count(verdict),
        opcache=opcache_count(verdict),
        # An ok verdict leaves nothing stale, whatever it counted.
        stale_instances=verdict.stale if verdict.is_alert else (),
        stale_count=len(verdict.stale) if verdict.is_alert else 0,
    )


def _detail(problem: Problem) -> str:
    details = problem.status_details if problem.status_details != problem.status else ""
    return ": ".join(part for part in (details, problem.excerpt) if part)


__all__ = ["Claim", "ClaimResult", "Ledger", "recorded"]
