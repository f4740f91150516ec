"""The verdict table (docs/design.md, "Verdicts") as plain functions: every row, and the edges
between rows, from facts to apcu_notifier.judge's verdict."""

from __future__ import annotations

import pytest

from apcu_clear.command import GROUP_TAG
from apcu_notifier.facts import Target, TriggeredAlarm
from apcu_notifier.judge import judge
from apcu_notifier.output import parse_cleared
from apcu_notifier.verdict import (
    LISTED,
    NOT_REACHED,
    STALE_LISTED,
    UNCONFIRMED,
    Cleared,
    OutsideInstance,
    Scaling,
    Stale,
    TargetKind,
    VerdictKind,
)
from tests.notifier.builders import (
    STOP_ALARM,
    command,
    facts,
    group,
    healthy_group,
    ids,
    invocation,
    launch,
    reset,
    reset_refused,
)


def test_ok_when_counts_match_and_every_invocation_succeeded() -> None:
    verdict = judge(healthy_group(3))
    assert verdict.kind is VerdictKind.OK
    assert not verdict.is_alert
    assert (verdict.expected, verdict.targeted, verdict.succeeded) == (3, 3, 3)
    assert verdict.missing_instances == () and verdict.problems == () and verdict.stale == ()
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
    # Nobody ran it: every InService instance is missing, and stale.
    assert verdict.missing_instances == tuple(members)
    assert verdict.stale == tuple(Stale(i, NOT_REACHED) for i in members)


def test_mismatch_when_fewer_are_in_service_than_wanted_and_none_launching() -> None:
    members = ids(3)
    verdict = judge(
        facts(
            command(target_count=3),
            [invocation(i) for i in members],
            [group("web-prod", members, desired=5)],
        )
    )
    assert verdict.kind is VerdictKind.MISMATCH and verdict.is_alert
    assert not verdict.only_launching
    assert verdict.missing_instances == () and verdict.stale == ()


@pytest.mark.parametrize("state", ["Pending", "Pending:Wait", "Pending:Proceed"])
def test_a_mismatch_only_of_launching_instances_pages_nobody(state: str) -> None:
    # They start with an empty cache: nothing is stale.
    members = ids(5)
    verdict = judge(
        facts(
            command(target_count=3),
            [invocation(i) for i in members[:3]],
            [group("web-prod", members, states=dict.fromkeys(members[3:], state))],
        )
    )
    assert verdict.kind is VerdictKind.MISMATCH
    assert verdict.only_launching and not verdict.is_alert
    assert verdict.stale == ()


def test_a_mismatch_with_an_in_service_instance_missed_is_an_alert_even_while_launching() -> None:
    members = ids(5)
    verdict = judge(
        facts(
            command(target_count=3),
            [invocation(i) for i in members[:3]],
            [group("web-prod", members, states={members[4]: "Pending"})],
        )
    )
    assert verdict.kind is VerdictKind.MISMATCH
    assert not verdict.only_launching and verdict.is_alert
    assert verdict.stale == (Stale(members[3], NOT_REACHED),)


def test_mismatch_when_an_in_service_instance_did_not_run_it_although_counts_match() -> None:
    # SSM reached 3, the group wants 3, but one of the 3 was a terminating instance.
    members = ids(4)
    ran = [members[0], members[1], members[3]]
    verdict = judge(
        facts(
            command(target_count=3),
            [invocation(i) for i in ran],
            [group("web-prod", members, desired=3, states={members[3]: "Terminating"})],
        )
    )
    assert verdict.kind is VerdictKind.MISMATCH
    assert verdict.missing_instances == (members[2],)
    assert verdict.scaling == Scaling(desired=3, in_service=3, pending=0, terminating=1)


def test_more_targets_than_desired_with_every_in_service_reached_is_ok() -> None:
    # A Standby (or warm-pool) instance keeps the group tag but not a place in DesiredCapacity.
    members = ids(4)
    verdict = judge(
        facts(
            command(target_count=4),
            [invocation(i) for i in members],
            [group("web-prod", members, desired=3, states={members[3]: "Standby"})],
        )
    )
    assert verdict.kind is VerdictKind.OK
    assert verdict.outside == (OutsideInstance(members[3], "Standby", "Success", "Success"),)


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
        ("Failed", "Undeliverable"),
        ("TimedOut", "DeliveryTimedOut"),
        ("Failed", "Access Denied"),
        ("Failed", "Failed"),
        ("TimedOut", "ExecutionTimedOut"),
        ("Failed", "Terminated"),
    ],
)
def test_partial_when_a_success_command_has_an_unsuccessful_invocation(
    status: str, details: str
) -> None:
    members = ids(3)
    verdict = judge(
        facts(
            command(target_count=3),
            [
                invocation(members[0]),
                invocation(members[1]),
                invocation(members[2], status, details, stderr="boom"),
            ],
            [group("web-prod", members)],
        )
    )
    assert verdict.kind is VerdictKind.PARTIAL
    assert [(p.instance_id, p.status, p.status_details) for p in verdict.problems] == [
        (members[2], status, details)
    ]
    assert verdict.stale == (Stale(members[2], details),)
    assert verdict.succeeded == 2
    assert verdict.cleared == Cleared(entries=24, instances=2)


@pytest.mark.parametrize("status", ["Failed", "TimedOut"])
def test_failed_for_a_failed_or_timed_out_command(status: str) -> None:
    members = ids(2)
    verdict = judge(
        facts(
            command(status=status, target_count=2),
            [
                invocation(members[0]),
                invocation(
                    members[1], "Failed", stdout="partial\n", stderr="curl: (7) Failed to connect"
                ),
            ],
            [group("web-prod", members)],
        )
    )
    assert verdict.kind is VerdictKind.FAILED
    # The excerpt is the error output, not stdout.
    assert verdict.problems[0].excerpt == "curl: (7) Failed to connect"


def test_a_deleted_group_explains_a_failed_command_that_reached_nothing() -> None:
    verdict = judge(
        facts(command(status="Failed", target_count=0), [], [], missing_groups=["web-prod"])
    )
    assert verdict.kind is VerdictKind.GROUP_NOT_FOUND
    # Nothing to hold the command to, and nothing to retry: the group's size died with it.
    assert verdict.expected is None and verdict.stale == ()


def test_several_groups_sum_desired_capacity_and_one_short_is_a_mismatch() -> None:
    blue, green = ids(2), ids(3, start=100)
    cmd = command(target_count=5, groups=("web-blue", "web-green"))
    groups = [group("web-blue", blue), group("web-green", green)]
    ok = judge(facts(cmd, [invocation(i) for i in blue + green], groups))
    assert (ok.kind, ok.expected, ok.target.values) == (
        VerdictKind.OK,
        5,
        ("web-blue", "web-green"),
    )
    short = judge(facts(cmd, [invocation(i) for i in blue + green[:2]], groups))
    assert short.kind is VerdictKind.MISMATCH
    assert short.missing_instances == (green[2],)


def test_an_instance_id_target_is_judged_by_its_invocations() -> None:
    members = ids(2)
    targets = [Target("InstanceIds", tuple(members))]
    ok = judge(facts(command(target_count=2, targets=targets), [invocation(i) for i in members]))
    assert (ok.kind, ok.target.kind, ok.expected) == (VerdictKind.OK, TargetKind.INSTANCES, 2)
    none = judge(facts(command(target_count=0, targets=[], instance_ids=members)))
    assert none.kind is VerdictKind.NO_TARGETS
    # A retry names its instances; one it never reached stays stale.
    unreached = judge(facts(command(target_count=1, targets=targets), [invocation(members[0])]))
    assert unreached.stale == (Stale(members[1], NOT_REACHED),)


def test_another_tag_or_extra_keys_are_not_held_to_a_group() -> None:
    members = ids(2)
    for targets in (
        [Target("tag:Role", ("web",))],
        [Target(GROUP_TAG, ("web-prod",)), Target("tag:Role", ("web",))],
    ):
        verdict = judge(
            facts(command(target_count=2, targets=targets), [invocation(i) for i in members])
        )
        assert verdict.kind is VerdictKind.OK
        assert verdict.target.kind is TargetKind.OTHER
        assert verdict.scaling is None


@pytest.mark.parametrize(
    ("output", "cleared"),
    [
        ('{"status":"cleared","cleared":12}\n', 12),
        ('warming up\n{"cleared":1}\n{"cleared":7,"host":"a"}\n', 7),
        ('{"cleared":true}\n', None),
        ('{"cleared":"12"}\n', None),
        ('{"cleared":-1}\n', None),
        ('{"cache":"opcache","cleared":3}\n', None),
        ("{not json\n", None),
        ('ok\n----------ERROR-------\n{"cleared":99}', None),
        ("", None),
    ],
)
def test_the_entries_cleared_are_apcu_phps_last_json_line(output: str, cleared: int | None) -> None:
    assert parse_cleared(output) == cleared


@pytest.mark.parametrize(
    ("status", "details"),
    [
        ("TimedOut", "DeliveryTimedOut"),
        ("Failed", "Undeliverable"),
        ("Failed", "Access Denied"),
        ("Success", "Success"),
    ],
)
def test_outside_in_service_instances_are_named_not_alerted_whatever_they_did(
    status: str, details: str
) -> None:
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
    assert verdict.kind is VerdictKind.OK and not verdict.is_alert
    assert verdict.problems == ()
    assert verdict.outside == (
        OutsideInstance(members[3], "Standby", status, details),
        OutsideInstance(warm, "", status, details),
    )
    assert (verdict.succeeded, verdict.reached, verdict.expected) == (3, 3, 3)


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
    assert verdict.joined_after == (members[2],) and verdict.joined_count == 1
    assert verdict.missing_instances == ()


@pytest.mark.parametrize(
    "minutes_after, hibernation", [(-30, False), (2, True)], ids=["before", "hibernated"]
)
def test_a_missing_instance_is_a_miss_unless_its_cache_began_empty(
    minutes_after: float, hibernation: bool
) -> None:
    members = ids(3)
    verdict = judge(
        facts(
            command(target_count=2),
            [invocation(i) for i in members[:2]],
            [group("web-prod", members)],
            launches=[launch(members[2], minutes_after=minutes_after, hibernation=hibernation)],
        )
    )
    assert verdict.kind is VerdictKind.MISMATCH
    assert verdict.missing_instances == (members[2],) and verdict.joined_after == ()


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


@pytest.mark.parametrize(
    ("status", "details", "results", "kind"),
    [
        # Nothing reached: no targets, whatever status SSM gave it.
        ("Success", "No Instances In Tag", [], VerdictKind.NO_TARGETS),
        ("Failed", "Access Denied", [], VerdictKind.NO_TARGETS),
        ("TimedOut", "Delivery Timed Out", [], VerdictKind.NO_TARGETS),
        # Cancelled before it ran anywhere, on SSM's side.
        ("Cancelled", "Rate Exceeded", [], VerdictKind.FAILED),
        ("Failed", "Rate Exceeded", ["Cancelled", "Cancelled"], VerdictKind.FAILED),
        # Some failed, too few to fail the command.
        ("Failed", "Incomplete", ["Success", "Failed"], VerdictKind.PARTIAL),
        ("Success", "Incomplete", ["Success", "Failed"], VerdictKind.PARTIAL),
        # Success that hides failed deliveries.
        ("Success", "Success", ["Success", "Undeliverable"], VerdictKind.PARTIAL),
        ("Success", "Success", ["Success", "Success"], VerdictKind.OK),
        # SSM failed it because InService instances failed.
        ("Failed", "Failed", ["Failed", "Failed"], VerdictKind.FAILED),
        ("TimedOut", "Execution Timed Out", ["Success", "TimedOut"], VerdictKind.FAILED),
        # An operator's cancel-command is theirs: cancelled, and never retried by itself.
        ("Cancelled", "Cancelled", ["Success", "Cancelled"], VerdictKind.CANCELLED),
        # Cancelled after every InService instance had cleared: every cache is clear.
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


@pytest.mark.parametrize("state", ["ALARM", "UNKNOWN"])
def test_an_alarm_that_held_back_what_had_not_run_stopped_the_clear(state: str) -> None:
    # UNKNOWN: SSM could not read the alarm, and held the rest back all the same.
    members = ids(4)
    alarm = TriggeredAlarm(STOP_ALARM, state)
    verdict = judge(
        facts(
            command(status="Cancelled", target_count=4, alarms=[alarm]),
            [invocation(i) for i in members[:2]]
            + [invocation(i, "Cancelled") for i in members[2:]],
            [group("web-prod", members)],
        )
    )
    assert verdict.kind is VerdictKind.STOPPED and verdict.is_alert
    assert verdict.stopped_by == (alarm,)
    assert [s.instance_id for s in verdict.stale] == members[2:]


def test_an_alarm_that_fired_after_every_instance_cleared_left_nothing_stale() -> None:
    members = ids(2)
    verdict = judge(
        facts(
            command(target_count=2, alarms=[TriggeredAlarm(STOP_ALARM, "ALARM")]),
            [invocation(i) for i in members],
            [group("web-prod", members)],
        )
    )
    assert verdict.kind is VerdictKind.OK


def test_opcache_resets_that_did_not_take_are_problems_with_their_reason() -> None:
    members = ids(3)
    verdict = judge(
        facts(
            command(status="Failed", target_count=3, action="reset-opcache"),
            [
                reset(members[0]),
                reset_refused(members[1], "restricted"),
                invocation(members[2], stdout=""),
            ],
            [group("web-prod", members)],
        )
    )
    assert verdict.kind is VerdictKind.FAILED
    assert [(p.instance_id, p.reason) for p in verdict.problems] == [
        (members[1], "restricted"),
        (members[2], UNCONFIRMED),
    ]
    # A Success whose reset is unconfirmed would say the same again: not stale.
    assert [s.instance_id for s in verdict.stale] == [members[1]]
    assert verdict.reset is not None and verdict.reset.instances == 1


def test_old_code_when_every_reset_took_but_preload_or_the_file_cache_keeps_old_code() -> None:
    members = ids(3)
    verdict = judge(
        facts(
            command(target_count=3, action="reset-opcache"),
            [
                reset(members[0], caveats=("validate_timestamps",)),
                reset(members[1], caveats=("preload",)),
                reset(members[2], caveats=("file_cache",)),
            ],
            [group("web-prod", members)],
        )
    )
    assert verdict.kind is VerdictKind.OLD_CODE and verdict.is_alert
    assert verdict.reset is not None
    assert verdict.reset.old_code == (members[1], members[2])
    assert verdict.reset.validate_timestamps == 1


def test_every_list_is_bounded_and_counted_in_full() -> None:
    members = ids(STALE_LISTED + 5)
    verdict = judge(
        facts(
            command(status="Failed", target_count=len(members)),
            [invocation(i, "Failed") for i in members],
            [group("web-prod", members)],
        )
    )
    assert len(verdict.problems) == LISTED and verdict.problem_count == len(members)
    assert len(verdict.stale) == STALE_LISTED and verdict.stale_count == len(members)
