"""What a clear costs the durable service: its operations (Lambda's quota: 3,000 per execution;
we keep an ordinary clear under 60 and a 20,000-instance one under 1,500) and the size of each
checkpoint (256 KB at most), which the in-process runner does not enforce on its own
(harness.durable_lambda refuses a larger one, as the service does)."""

from __future__ import annotations

from harness import aws_emulator
from harness.durable_lambda import CHECKPOINT_LIMIT
from harness.stack import Stack
from tests.faults import Faults, injected
from tests.fleet import DELIVERY_TIMED_OUT, Fleet

ORDINARY = 60
LARGE = 1_500


def test_an_ok_clear_stays_within_the_ordinary_budget(deployed: Stack) -> None:
    Fleet().serve()
    clear_id = deployed.clear()
    deployed.outcome(clear_id)

    assert deployed.lambda_.operations(clear_id) <= ORDINARY
    assert deployed.lambda_.largest_checkpoint[deployed.lambda_.arn_of(clear_id)] < CHECKPOINT_LIMIT


def test_a_clear_with_one_retry_round_stays_within_the_ordinary_budget(deployed: Stack) -> None:
    Fleet({deployed.instances[0]: [DELIVERY_TIMED_OUT, aws_emulator.ok(1)]}).serve()
    clear_id = deployed.clear()
    assert deployed.verdict(clear_id)["attempts"] == 2

    assert deployed.lambda_.operations(clear_id) <= ORDINARY


def test_a_large_clear_reads_its_pages_in_runs_and_resumes_from_the_last_run_read(
    aws: None, slack: object
) -> None:
    """2,000 instances, 1,000 of them stale after the first attempt and retried in one round
    of 20 commands. The invocation dies in the second run of pages: only that run is read
    again. The operations grow by one per run of 1,000 invocations, so 20,000 instances cost
    18 more than 2,000; the clear with a full retry round stays far under the large budget."""
    with Stack(slack, size=2000) as stack:  # type: ignore[arg-type]
        stale = set(stack.instances[::2])
        fleet = Fleet({i: [DELIVERY_TIMED_OUT, aws_emulator.ok(1)] for i in stale}).serve()
        pages = 2000 // 50
        with injected(
            Faults(operation="ListCommandInvocations", occurrence=30, kind="crash")
        ) as calls:
            clear_id = stack.clear()
            verdict = stack.verdict(clear_id)

        assert verdict["kind"] == "ok" and verdict["attempts"] == 2
        assert verdict["succeeded"] == 2000
        retry_pages = 1000 // 50
        # The first run of 20 pages was checkpointed; the second was read again from its start.
        # Each retry command is one page.
        assert calls.count("ListCommandInvocations", CommandId=clear_id) == pages + 10
        retries = {c for c, _ in fleet.sent} - {clear_id}
        assert len(retries) == retry_pages
        assert all(calls.count("ListCommandInvocations", CommandId=c) == 1 for c in retries)
        operations = stack.lambda_.operations(clear_id)
        assert operations <= ORDINARY + 10
        assert operations + (20_000 - 2_000) // 1_000 < LARGE
        assert stack.lambda_.largest_checkpoint[stack.lambda_.arn_of(clear_id)] < CHECKPOINT_LIMIT
