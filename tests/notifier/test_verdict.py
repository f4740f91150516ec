"""The verdict table (docs/design.md) as plain functions: every row, and the edges between rows."""

from __future__ import annotations

import pytest

from apcu_notifier.facts import GROUP_TAG, TargetFacts, parse_answer
from apcu_notifier.verdict import (
    Cleared,
    OutsideInstance,
    Scaling,
    TargetKind,
    VerdictKind,
    judge,
    unknown_command,
)
from tests.notifier.builders import (
    COMMAND_ID,
    command,
    facts,
    group,
    healthy_group,
    ids,
    invocation,
    launch,
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


def test_a_deleted_group_explains_a_failed_command_that_reached_nothing() -> None:
    verdict = judge(
        facts(command(status="Failed", target_count=0), [], [], missing_groups=["web-prod"])
    )
    assert verdict.kind is VerdictKind.GROUP_NOT_FOUND
    # Nothing to hold the command to: the group's size died with it.
    assert verdict.expected is None


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
        "VerdictNeverEnded",
        "VerdictOldCode",
        "VerdictTestEvent",
        "VerdictStopped",
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


# --- instances outside InService are information -------------------------------------------


@pytest.mark.parametrize(
    ("status", "details"),
    [
        ("TimedOut", "DeliveryTimedOut"),
        ("Undeliverable", "Undeliverable"),
        ("Failed", "Failed"),
        ("Failed", "Access Denied"),
        ("TimedOut", "ExecutionTimedOut"),
        ("Success", "Success"),
    ],
)
def test_outside_in_service_instances_are_named_not_alerted_whatever_they_did(
    status: str, details: str
) -> None:
    # Given 3 InService instances that cleared, a Standby one and an unlisted (warm-pool) one
    # whose invocations ended however they ended
    members = ids(4)
    warm = "i-0warm00000000000a"
    verdict = judge(
        facts(
            command(target_count=5),
            [invocation(i) for i in members[:3]]
            + [invocation(members[3], status, details), invocation(warm, status, details)],
            [group("web-prod", members, desired=3, states={members[3]: "Standby"})],
        )
    )
    assert verdict.kind is VerdictKind.OK
    assert not verdict.is_alert
    assert verdict.problems == ()
    assert verdict.outside == (
        OutsideInstance(members[3], "Standby", status, details),
        OutsideInstance(warm, "", status, details),
    )
    assert (verdict.succeeded, verdict.reached, verdict.expected) == (3, 3, 3)


@pytest.mark.parametrize(
    ("status", "details"), [("Failed", "Failed"), ("TimedOut", "Delivery Timed Out")]
)
def test_a_command_ssm_failed_only_because_of_instances_outside_in_service_is_ok(
    status: str, details: str
) -> None:
    members = ids(3)
    verdict = judge(
        facts(
            command(status=status, details=details, target_count=3),
            [
                invocation(members[0]),
                invocation(members[1]),
                invocation(members[2], "TimedOut", "DeliveryTimedOut"),
            ],
            [group("web-prod", members, desired=2, states={members[2]: "Standby"})],
        )
    )
    assert verdict.kind is VerdictKind.OK


def test_a_problem_on_an_in_service_instance_is_still_partial_beside_outside_ones() -> None:
    members = ids(4)
    verdict = judge(
        facts(
            command(target_count=4),
            [
                invocation(members[0]),
                invocation(members[1]),
                invocation(members[2], "Undeliverable"),
                invocation(members[3], "Failed"),
            ],
            [group("web-prod", members, desired=3, states={members[3]: "Standby"})],
        )
    )
    assert verdict.kind is VerdictKind.PARTIAL
    assert [p.instance_id for p in verdict.problems] == [members[2]]
    assert [o.instance_id for o in verdict.outside] == [members[3]]


# --- InService instances that started after the request ------------------------------------


def test_a_missing_instance_that_started_after_the_request_joined_after_the_clear() -> None:
    members = ids(3)
    verdict = judge(
        facts(
            command(target_count=2),
            [invocation(i) for i in members[:2]],
            [group("web-prod", members)],
            launches=[launch(members[2], minutes_after=2)],
        )
    )
    assert verdict.kind is VerdictKind.OK
    assert verdict.joined_after == (members[2],)
    assert verdict.missing_instances == ()
    assert (verdict.succeeded, verdict.expected) == (2, 3)


@pytest.mark.parametrize(
    "launched",
    [
        launch("i-00000000000000002", minutes_after=-30),
        launch("i-00000000000000002", minutes_after=2, hibernation=True),
        None,
    ],
    ids=["started-before", "hibernation-configured", "launch-unknown"],
)
def test_a_missing_instance_is_a_miss_unless_its_cache_began_empty(launched: object) -> None:
    members = ids(3)
    verdict = judge(
        facts(
            command(target_count=2),
            [invocation(i) for i in members[:2]],
            [group("web-prod", members)],
            launches=[launched] if launched is not None else [],  # type: ignore[list-item]
        )
    )
    assert verdict.kind is VerdictKind.MISMATCH
    assert verdict.missing_instances == (members[2],)
    assert verdict.joined_after == ()


# --- hibernated warm pools --------------------------------------------------------------------


def test_a_hibernated_warm_pool_is_said_but_not_an_alert() -> None:
    members = ids(2)
    verdict = judge(
        facts(
            command(target_count=2),
            [invocation(i) for i in members],
            [group("web-prod", members, warm_pool_state="Hibernated")],
        )
    )
    assert verdict.kind is VerdictKind.OK
    assert verdict.hibernated_warm_pools == ("web-prod",)
    stopped = judge(
        facts(
            command(target_count=2),
            [invocation(i) for i in members],
            [group("web-prod", members, warm_pool_state="Stopped")],
        )
    )
    assert stopped.hibernated_warm_pools == ()


# --- SSM's command StatusDetails, each to the verdict that tells the truth ------------------


@pytest.mark.parametrize(
    ("status", "details", "results", "kind"),
    [
        # Nothing reached: no targets, whatever status SSM gave it
        ("Success", "No Instances In Tag", [], VerdictKind.NO_TARGETS),
        ("Failed", "No Instances In Tag", [], VerdictKind.NO_TARGETS),
        ("Failed", "Failed", [], VerdictKind.NO_TARGETS),
        ("Failed", "Access Denied", [], VerdictKind.NO_TARGETS),
        ("TimedOut", "Delivery Timed Out", [], VerdictKind.NO_TARGETS),
        # Cancelled before it ran anywhere, on SSM's side
        ("Cancelled", "Rate Exceeded", [], VerdictKind.FAILED),
        ("Failed", "Rate Exceeded", ["Cancelled", "Cancelled"], VerdictKind.FAILED),
        # Some failed, too few to fail the command
        ("Failed", "Incomplete", ["Success", "Failed"], VerdictKind.PARTIAL),
        ("Success", "Incomplete", ["Success", "Failed"], VerdictKind.PARTIAL),
        # Success that hides failed deliveries
        ("Success", "Success", ["Success", "Undeliverable"], VerdictKind.PARTIAL),
        ("Success", "Success", ["Success", "Success"], VerdictKind.OK),
        # SSM failed it because InService instances failed
        ("Failed", "Failed", ["Failed", "Failed"], VerdictKind.FAILED),
        ("TimedOut", "Delivery Timed Out", ["TimedOut", "TimedOut"], VerdictKind.FAILED),
        ("TimedOut", "Execution Timed Out", ["Success", "TimedOut"], VerdictKind.FAILED),
        ("Cancelled", "Cancelled", ["Success", "Cancelled"], VerdictKind.FAILED),
        # Cancelled after every InService instance had cleared: every cache is clear
        ("Cancelled", "Cancelled", ["Success", "Success"], VerdictKind.OK),
    ],
)
def test_each_documented_status_detail_leads_to_the_truthful_verdict(
    status: str, details: str, results: list[str], kind: VerdictKind
) -> None:
    members = ids(2)
    verdict = judge(
        facts(
            command(status=status, details=details, target_count=len(results)),
            [invocation(i, r) for i, r in zip(members, results, strict=False)],
            [group("web-prod", members)],
        )
    )
    assert verdict.kind is kind


def test_no_targets_wins_over_failed_for_instance_ids_too() -> None:
    members = ids(2)
    targets = [TargetFacts("InstanceIds", tuple(members))]
    verdict = judge(facts(command(status="Failed", target_count=0, targets=targets)))
    assert verdict.kind is VerdictKind.NO_TARGETS


# --- stored test events -------------------------------------------------------------------------


def test_an_unknown_stored_test_command_is_a_test_event_not_an_alert() -> None:
    test = unknown_command("00000000-0000-4000-8000-000000000001", "Success")
    assert test.kind is VerdictKind.TEST_EVENT
    assert not test.is_alert
    real = unknown_command(COMMAND_ID, "Success")
    assert real.kind is VerdictKind.UNKNOWN_COMMAND
    assert real.is_alert
