"""What a verdict says of itself (an alert or not, its metric), and the one verdict a clear
comes to over its attempts (apcu_notifier.attempts.conclude), a retry asked on demand included."""

from __future__ import annotations

from dataclasses import replace

from apcu_notifier.attempts import ALARM, OFFLINE, conclude
from apcu_notifier.judge import judge
from apcu_notifier.verdict import (
    Cleared,
    ClearHistory,
    Retried,
    Stale,
    Verdict,
    VerdictKind,
    unknown_command,
)
from tests.notifier.builders import (
    COMMAND_ID,
    attempt,
    command,
    facts,
    group,
    ids,
    invocation,
)


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
        "VerdictCancelled",
    ]


def test_only_ok_a_test_event_and_a_group_still_launching_are_not_alerts() -> None:
    quiet = {VerdictKind.OK, VerdictKind.TEST_EVENT}
    for kind in VerdictKind:
        assert Verdict(kind=kind).is_alert is (kind not in quiet)
    assert not Verdict(kind=VerdictKind.MISMATCH, only_launching=True).is_alert


def test_an_unknown_stored_test_command_is_a_test_event_not_an_alert() -> None:
    test = unknown_command("00000000-0000-4000-8000-000000000001", "Success")
    assert test.kind is VerdictKind.TEST_EVENT and not test.is_alert
    real = unknown_command(COMMAND_ID, "Success")
    assert real.kind is VerdictKind.UNKNOWN_COMMAND and real.is_alert


def test_still_stale_leaves_out_what_a_later_attempt_cleared_and_what_left_service() -> None:
    history = ClearHistory(
        COMMAND_ID,
        (
            Retried("i-1", ("Failed",), cleared_on=2),
            Retried("i-2", ("Failed", "Failed")),
            Retried("i-3", ("Undeliverable",), note="left"),
            Retried("i-4", ("Delivery Timed Out",), note="offline"),
        ),
        attempts=2,
    )
    assert [r.instance_id for r in history.still_stale] == ["i-2", "i-4"]


def _first(stale_said: str = "DeliveryTimedOut") -> Verdict:
    """A clear's first attempt: 2 of 3 cleared (12 entries each), the third left stale."""
    members = ids(3)
    return judge(
        facts(
            command(target_count=3),
            [
                invocation(members[0]),
                invocation(members[1]),
                invocation(members[2], "TimedOut", stale_said),
            ],
            [group("web-prod", members)],
        )
    )


def test_a_retry_that_clears_what_the_first_attempt_left_makes_the_clear_ok() -> None:
    late = ids(3)[2]
    verdict = conclude(_first(), [attempt(2, [invocation(late, cleared=3)])], {})
    assert verdict.kind is VerdictKind.OK and verdict.stale == ()
    assert verdict.succeeded == 3 and verdict.problem_count == 0
    # Every attempt's entries count, and every instance that removed them.
    assert verdict.cleared == Cleared(entries=12 + 12 + 3, instances=3)
    assert verdict.clear == ClearHistory(
        COMMAND_ID, (Retried(late, ("DeliveryTimedOut",), cleared_on=2),), attempts=2
    )


def test_a_retry_that_fails_again_keeps_every_attempts_words_and_the_alert() -> None:
    late = ids(3)[2]
    again = attempt(2, [invocation(late, "Failed", stderr="curl: (7)")])
    verdict = conclude(_first(), [again], {})
    assert verdict.kind is VerdictKind.PARTIAL
    assert verdict.stale == (Stale(late, "Failed"),)
    assert verdict.clear is not None
    assert verdict.clear.instances == (Retried(late, ("DeliveryTimedOut", "Failed")),)


def test_an_instance_left_out_of_a_round_says_why() -> None:
    late = ids(3)[2]
    verdict = conclude(_first(), [], {late: OFFLINE})
    assert verdict.clear is not None
    assert verdict.clear.instances == (Retried(late, ("DeliveryTimedOut",), note=OFFLINE),)
    assert verdict.clear.attempts == 1


def test_a_retry_asked_on_demand_goes_on_from_its_clears_history() -> None:
    # The clear: its automatic retry failed too. Then someone pressed the button.
    late = ids(3)[2]
    clear = conclude(_first(), [attempt(2, [invocation(late, "TimedOut", "DeliveryTimedOut")])], {})
    retried = conclude(clear, [attempt(3, [invocation(late, cleared=5)])], {})
    assert retried.kind is VerdictKind.OK
    assert retried.target == clear.target and retried.command_id == COMMAND_ID
    assert retried.clear == ClearHistory(
        COMMAND_ID,
        (Retried(late, ("DeliveryTimedOut", "DeliveryTimedOut"), cleared_on=3),),
        attempts=3,
    )
    assert retried.cleared == Cleared(entries=12 + 12 + 5, instances=3)


def test_a_retry_asked_on_demand_keeps_what_earlier_attempts_cleared() -> None:
    members = ids(4)
    first = judge(
        facts(
            command(target_count=4),
            [invocation(members[0])]
            + [invocation(i, "TimedOut", "DeliveryTimedOut") for i in members[1:]],
            [group("web-prod", members)],
        )
    )
    # The automatic round cleared one; the second stayed stale; the third's agent was offline.
    clear = conclude(
        first,
        [attempt(2, [invocation(members[1]), invocation(members[2], "Failed")])],
        {members[3]: OFFLINE},
    )
    # The retry on demand clears both that are left.
    retried = conclude(clear, [attempt(3, [invocation(members[2]), invocation(members[3])])], {})
    assert retried.clear is not None and retried.clear.attempts == 3
    assert retried.clear.instances == (
        Retried(members[1], ("DeliveryTimedOut",), cleared_on=2),
        Retried(members[2], ("DeliveryTimedOut", "Failed"), cleared_on=3),
        Retried(members[3], ("DeliveryTimedOut",), cleared_on=3),
    )
    assert retried.kind is VerdictKind.OK and retried.stale == ()
    assert retried.cleared == Cleared(entries=12 * 4, instances=4)


def test_a_round_the_stop_alarm_held_ends_the_clear_stopped_and_is_not_retried() -> None:
    late = ids(3)[2]
    verdict = conclude(_first(), [], {late: ALARM})
    assert verdict.kind is VerdictKind.PARTIAL
    assert verdict.clear is not None and verdict.clear.instances[0].note == ALARM
    held = attempt(2, [invocation(late, "Cancelled")])
    assert held.stopped_by is not None and held.stopped_by.kind is VerdictKind.CANCELLED
    stopped = conclude(_first(), [held], {})
    assert stopped.kind is VerdictKind.CANCELLED
    assert stopped.stale == (Stale(late, "Cancelled"),)


def test_without_any_attempt_the_first_verdict_stands() -> None:
    first = _first()
    assert conclude(first, [], {}) is first
    assert replace(first, clear=None) == first
