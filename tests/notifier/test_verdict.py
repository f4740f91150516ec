"""The verdict table (design.md) as plain functions: every row, and the edges between rows."""

from __future__ import annotations

import pytest

from apcu_notifier.facts import GROUP_TAG, TargetFacts, parse_answer
from apcu_notifier.verdict import Cleared, Scaling, TargetKind, VerdictKind, judge
from tests.notifier.builders import (
    command,
    facts,
    group,
    healthy_group,
    ids,
    invocation,
)


def test_ok_when_counts_match_and_every_invocation_succeeded() -> None:
    verdict = judge(healthy_group(3))
    assert verdict.kind is VerdictKind.OK
    assert not verdict.is_alert
    assert (verdict.expected, verdict.targeted, verdict.succeeded) == (3, 3, 3)
    assert verdict.missing_instances == ()
    assert verdict.problems == ()
    assert verdict.cleared == Cleared(entries=36, instances=3)
    assert verdict.scaling == Scaling(desired=3, in_service=3, pending=0, terminating=0)
    assert not verdict.scaling.is_scaling


def test_ok_for_an_empty_group_says_there_was_nothing_to_clear() -> None:
    verdict = judge(
        facts(command(target_count=0, details="No Instances In Tag"), [], [group("web-prod", [])])
    )
    assert verdict.kind is VerdictKind.OK
    assert verdict.empty_group


@pytest.mark.parametrize("details", ["Success", "No Instances In Tag"])
def test_no_targets_when_nothing_ran_while_the_group_wants_instances(details: str) -> None:
    members = ids(3)
    verdict = judge(
        facts(command(target_count=0, details=details), [], [group("web-prod", members)])
    )
    assert verdict.kind is VerdictKind.NO_TARGETS
    assert verdict.is_alert
    assert verdict.expected == 3
    # Nobody ran it: every InService instance is missing.
    assert verdict.missing_instances == tuple(members)


def test_no_instances_in_tag_is_no_targets_even_if_a_count_says_otherwise() -> None:
    members = ids(2)
    verdict = judge(
        facts(
            command(target_count=2, details="No Instances In Tag"),
            [invocation(i) for i in members],
            [group("web-prod", members)],
        )
    )
    assert verdict.kind is VerdictKind.NO_TARGETS


def test_mismatch_when_target_count_differs_from_desired_capacity() -> None:
    members = ids(3)
    verdict = judge(
        facts(
            command(target_count=3),
            [invocation(i) for i in members],
            [group("web-prod", members, desired=5)],
        )
    )
    assert verdict.kind is VerdictKind.MISMATCH
    assert verdict.expected == 5
    assert verdict.missing_instances == ()
    assert verdict.scaling is not None and verdict.scaling.is_scaling


def test_mismatch_when_an_in_service_instance_did_not_run_it_although_counts_match() -> None:
    # SSM reached 3, the group wants 3, but one of the 3 was a terminating instance
    members = ids(4)
    states = {members[3]: "Terminating"}
    ran = [members[0], members[1], members[3]]
    verdict = judge(
        facts(
            command(target_count=3),
            [invocation(i) for i in ran],
            [group("web-prod", members, desired=3, states=states)],
        )
    )
    assert verdict.kind is VerdictKind.MISMATCH
    assert verdict.missing_instances == (members[2],)
    assert verdict.scaling == Scaling(desired=3, in_service=3, pending=0, terminating=1)


def test_more_targets_than_desired_with_every_in_service_reached_is_ok() -> None:
    # A Standby (or warm-pool) instance keeps the group tag but not a place in DesiredCapacity
    members = ids(4)
    states = {members[3]: "Standby"}
    verdict = judge(
        facts(
            command(target_count=4),
            [invocation(i) for i in members],
            [group("web-prod", members, desired=3, states=states)],
        )
    )
    assert verdict.kind is VerdictKind.OK
    assert verdict.missing_instances == ()
    assert verdict.outside_in_service == (members[3],)


def test_more_targets_than_desired_but_an_in_service_instance_missed_is_a_mismatch() -> None:
    members = ids(4)
    states = {members[3]: "Standby"}
    verdict = judge(
        facts(
            command(target_count=4),
            [invocation(i) for i in (members[0], members[1], members[3], "i-0stray")],
            [group("web-prod", members, desired=3, states=states)],
        )
    )
    assert verdict.kind is VerdictKind.MISMATCH
    assert verdict.missing_instances == (members[2],)
    assert verdict.outside_in_service == (members[3], "i-0stray")


def test_missing_instances_are_sorted_and_only_in_service_ones_are_blamed() -> None:
    members = ids(5)
    states = {members[0]: "Pending:Wait", members[1]: "Terminating:Proceed"}
    verdict = judge(
        facts(
            command(target_count=1),
            [invocation(members[4])],
            [group("web-prod", list(reversed(members)), states=states)],
        )
    )
    assert verdict.missing_instances == (members[2], members[3])
    assert verdict.scaling == Scaling(desired=5, in_service=3, pending=1, terminating=1)


@pytest.mark.parametrize(
    ("status", "details"),
    [
        ("Undeliverable", "Undeliverable"),
        ("TimedOut", "DeliveryTimedOut"),
        ("Failed", "Access Denied"),
        ("Failed", "Failed"),
        ("TimedOut", "ExecutionTimedOut"),
        ("Terminated", "Terminated"),
    ],
)
def test_partial_when_a_success_command_has_an_unsuccessful_invocation(
    status: str, details: str
) -> None:
    members = ids(3)
    invocations = [
        invocation(members[0]),
        invocation(members[1]),
        invocation(members[2], status, details, stderr="boom"),
    ]
    verdict = judge(facts(command(target_count=3), invocations, [group("web-prod", members)]))
    assert verdict.kind is VerdictKind.PARTIAL
    assert [(p.instance_id, p.status, p.status_details) for p in verdict.problems] == [
        (members[2], status, details)
    ]
    assert verdict.succeeded == 2
    assert verdict.cleared == Cleared(entries=24, instances=2)


@pytest.mark.parametrize("status", ["Failed", "TimedOut", "Cancelled"])
def test_failed_for_a_failed_timed_out_or_cancelled_command(status: str) -> None:
    members = ids(2)
    invocations = [
        invocation(members[0]),
        invocation(members[1], "Failed", stdout="partial\n", stderr="curl: (7) Failed to connect"),
    ]
    verdict = judge(
        facts(command(status=status, target_count=2), invocations, [group("web-prod", members)])
    )
    assert verdict.kind is VerdictKind.FAILED
    # The excerpt is the error output, not stdout.
    assert verdict.problems[0].excerpt == "curl: (7) Failed to connect"


def test_failed_wins_over_a_deleted_group() -> None:
    verdict = judge(
        facts(command(status="Failed", target_count=0), [], [], missing_groups=["web-prod"])
    )
    assert verdict.kind is VerdictKind.FAILED


def test_group_not_found_when_a_named_group_is_gone() -> None:
    members = ids(2)
    cmd = command(target_count=2, groups=("web-blue", "web-green"))
    verdict = judge(
        facts(
            cmd,
            [invocation(i) for i in members],
            [group("web-blue", members)],
            missing_groups=["web-green"],
        )
    )
    assert verdict.kind is VerdictKind.GROUP_NOT_FOUND
    assert verdict.missing_groups == ("web-green",)


def test_several_groups_sum_desired_capacity_and_union_instances() -> None:
    blue, green = ids(2), ids(3, start=100)
    cmd = command(target_count=5, groups=("web-blue", "web-green"))
    verdict = judge(
        facts(
            cmd,
            [invocation(i) for i in blue + green],
            [group("web-blue", blue), group("web-green", green)],
        )
    )
    assert verdict.kind is VerdictKind.OK
    assert verdict.expected == 5
    assert verdict.target.values == ("web-blue", "web-green")


def test_several_groups_with_one_short_is_a_mismatch() -> None:
    blue, green = ids(2), ids(3, start=100)
    cmd = command(target_count=4, groups=("web-blue", "web-green"))
    verdict = judge(
        facts(
            cmd,
            [invocation(i) for i in blue + green[:2]],
            [group("web-blue", blue), group("web-green", green)],
        )
    )
    assert verdict.kind is VerdictKind.MISMATCH
    assert verdict.missing_instances == (green[2],)


def test_instance_id_target_judged_by_invocations() -> None:
    members = ids(2)
    targets = [TargetFacts("InstanceIds", tuple(members))]
    ok = judge(facts(command(target_count=2, targets=targets), [invocation(i) for i in members]))
    assert (ok.kind, ok.target.kind, ok.expected) == (VerdictKind.OK, TargetKind.INSTANCES, 2)

    plain = judge(
        facts(
            command(target_count=2, targets=[], instance_ids=members),
            [invocation(i) for i in members],
        )
    )
    assert (plain.kind, plain.target.kind, plain.expected) == (
        VerdictKind.OK,
        TargetKind.INSTANCES,
        2,
    )

    none = judge(facts(command(target_count=0, targets=[], instance_ids=members)))
    assert none.kind is VerdictKind.NO_TARGETS

    partial = judge(
        facts(
            command(target_count=2, targets=targets),
            [invocation(members[0]), invocation(members[1], "Undeliverable")],
        )
    )
    assert partial.kind is VerdictKind.PARTIAL

    failed = judge(
        facts(
            command(status="Cancelled", target_count=2, targets=targets),
            [invocation(i, "Cancelled") for i in members],
        )
    )
    assert failed.kind is VerdictKind.FAILED


def test_another_tag_or_extra_keys_are_not_held_to_a_group() -> None:
    members = ids(2)
    for targets in (
        [TargetFacts("tag:Role", ("web",))],
        [TargetFacts(GROUP_TAG, ("web-prod",)), TargetFacts("tag:Role", ("web",))],
    ):
        verdict = judge(
            facts(command(target_count=2, targets=targets), [invocation(i) for i in members])
        )
        assert verdict.kind is VerdictKind.OK
        assert verdict.target.kind is TargetKind.OTHER
        assert verdict.scaling is None


def test_metric_names_per_kind() -> None:
    assert [k.metric_name for k in VerdictKind] == [
        "VerdictOk",
        "VerdictNoTargets",
        "VerdictMismatch",
        "VerdictPartial",
        "VerdictFailed",
        "VerdictGroupNotFound",
        "VerdictUnknownCommand",
        "VerdictUnreadable",
        "VerdictStuck",
    ]


@pytest.mark.parametrize(
    ("output", "cleared"),
    [
        ('{"status":"cleared","cleared":12}\n', 12),
        ('warming up\n{"cleared":1}\n{"cleared":7,"host":"a"}\n', 7),
        ('{"cleared":true}\n', None),
        ('{"cleared":"12"}\n', None),
        ('{"cleared":-1}\n', None),
        ("[1,2]\n", None),
        ("{not json\n", None),
        ('ok\n----------ERROR-------\n{"cleared":99}', None),
        ("", None),
    ],
)
def test_web_node_answer_is_the_last_json_line_with_an_integer_cleared(
    output: str, cleared: int | None
) -> None:
    answer = parse_answer(output)
    assert (answer.cleared if answer else None) == cleared
