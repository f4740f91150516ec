"""The command record's item: the shape both functions share, bounded, and read back as written."""

from __future__ import annotations

import json
from dataclasses import replace

from apcu_clear.item import (
    MAX_DETAIL_CHARS,
    MAX_LISTED_INSTANCES,
    MAX_LISTED_PROBLEMS,
    MAX_STALE_INSTANCES,
    CommandRecord,
    RecordedProblem,
    RecordedVerdict,
)

RECORD = CommandRecord(
    command_id="5f0c4a1e-8d3b-4c2a-9e7f-1b6d2a9c3e48",
    group="web-prod",
    prefix="config:",
    requester="arn:aws:sts::123456789012:assumed-role/PlatformOps/alice",
    comment="release",
    origin="api",
    requested_at="2026-11-29T05:22:03Z",
    expires_at="2026-11-29T05:25:03Z",
)


def verdict(missing: int = 0, problems: int = 0, expected: int | None = 3) -> RecordedVerdict:
    return RecordedVerdict(
        kind="mismatch",
        alert=True,
        expected=expected,
        targeted=3,
        succeeded=2,
        missing_instances=tuple(f"i-{n:017x}" for n in range(missing)),
        problems=tuple(
            RecordedProblem(f"i-{n:017x}", "Failed", "x" * 1000) for n in range(problems)
        ),
        posted_at="2026-11-29T05:26:03Z",
        via="watchdog",
    )


def test_a_record_reads_back_as_written_with_its_verdict() -> None:
    judged = CommandRecord(**{**RECORD.__dict__, "state": "judged", "verdict": verdict(2, 1)})
    read = CommandRecord.from_item(judged.to_item())
    assert read is not None
    assert read.verdict == verdict(2, 1).bounded()
    assert read.state == "judged"
    assert read.group == "web-prod"


def test_items_expire_30_days_after_the_request() -> None:
    # 2026-12-29T05:22:03Z
    assert RECORD.to_item()["ttl"] == {"N": "1798521723"}


def test_a_verdict_on_a_fleet_of_thousands_stays_small() -> None:
    attribute = verdict(missing=2000, problems=500).to_attribute()
    fields = attribute["M"]
    assert len(fields["missingInstances"]["L"]) == MAX_LISTED_INSTANCES
    assert len(fields["problems"]["L"]) == MAX_LISTED_PROBLEMS
    details = [p["M"]["detail"]["S"] for p in fields["problems"]["L"]]
    assert {len(d) for d in details} == {MAX_DETAIL_CHARS}
    # Far below DynamoDB's 400 KB item limit
    assert len(str(attribute)) < 40_000


def test_no_count_to_hold_the_command_to_leaves_expected_out() -> None:
    fields = verdict(expected=None).to_attribute()["M"]
    assert "expected" not in fields
    assert RecordedVerdict.from_attribute({"M": fields}).expected is None
    assert verdict(expected=None).to_json()["expected"] is None


def test_an_item_the_dispatcher_did_not_write_is_no_record() -> None:
    assert CommandRecord.from_item({"commandId": {"S": "x"}, "state": {"S": "judged"}}) is None


def test_the_worst_verdict_with_a_full_stale_list_stays_far_below_400_kb() -> None:
    # Every list at its bound: 1,000 stale ids on top of the rest
    worst = replace(
        verdict(missing=2000, problems=500),
        stale_instances=tuple(f"i-{n:017x}" for n in range(5000)),
        stale_count=5000,
    )
    item = CommandRecord(**{**RECORD.__dict__, "state": "judged", "verdict": worst}).to_item()
    assert len(item["verdict"]["M"]["staleInstances"]["L"]) == MAX_STALE_INSTANCES  # type: ignore[typeddict-item]
    assert item["verdict"]["M"]["staleCount"] == {"N": "5000"}  # type: ignore[typeddict-item]
    assert len(json.dumps(item)) < 100_000


def test_a_retry_names_its_clear_and_a_clear_lists_its_retries() -> None:
    retry = replace(RECORD, origin="retry", retry_of="0a1b2c3d-0000-4000-8000-000000000001")
    item = retry.to_item()
    assert item["retryOf"] == {"S": "0a1b2c3d-0000-4000-8000-000000000001"}
    # The list of retries is only ever appended to (store.add_retries), never written whole
    assert "retries" not in item
    item["retries"] = {"L": [{"S": "r-1"}, {"S": "r-2"}]}
    read = CommandRecord.from_item(item)
    assert read is not None
    assert (read.origin, read.retry_of, read.retries) == (
        "retry",
        "0a1b2c3d-0000-4000-8000-000000000001",
        ("r-1", "r-2"),
    )
