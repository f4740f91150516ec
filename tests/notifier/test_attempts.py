"""A clear's attempts, without AWS: whom another attempt may clear, and the one verdict a clear
comes to once its last attempt is judged (apcu_notifier.attempts)."""

from __future__ import annotations

from dataclasses import replace

from apcu_notifier.attempts import (
    CLAIM,
    LEFT,
    NOT_RETRYABLE,
    OFFLINE,
    Attempt,
    conclude,
    plan,
    still_stale,
    worth_retrying,
)
from apcu_notifier.facts import TriggeredAlarm
from apcu_notifier.verdict import (
    NOT_REACHED,
    Cleared,
    Problem,
    Stale,
    Verdict,
    VerdictKind,
)


def ids(n: int, start: int = 0) -> list[str]:
    return [f"i-{k:017x}" for k in range(start, start + n)]


def first_attempt(
    stale: dict[str, str], *, kind: VerdictKind = VerdictKind.PARTIAL, listed: int | None = None
) -> Verdict:
    """A first attempt that left these instances stale (instance -> what SSM said)."""
    problems = tuple(
        Problem(i, "Failed", said, "") for i, said in sorted(stale.items()) if said != NOT_REACHED
    )
    missing = tuple(i for i, said in sorted(stale.items()) if said == NOT_REACHED)
    shown = listed if listed is not None else len(problems)
    return Verdict(
        kind=kind,
        command_id="5f0c4a1e-8d3b-4c2a-9e7f-1b6d2a9c3e48",
        expected=len(stale) + 2,
        succeeded=2,
        problems=problems[:shown],
        problem_count=len(problems),
        missing_instances=missing,
        missing_count=len(missing),
        stale=tuple(Stale(i, said) for i, said in sorted(stale.items())),
        stale_count=len(stale),
        cleared=Cleared(entries=20, instances=2),
    )


def test_only_instances_in_service_online_and_worth_it_are_retried() -> None:
    a, b, c, d = ids(4)
    found = plan(
        [
            Stale(a, "Delivery Timed Out"),
            Stale(b, "Access Denied"),
            Stale(c, "Undeliverable"),
            Stale(d, NOT_REACHED),
        ],
        in_service=[a, b, c],
        online=[a, b],
    )
    assert found.targets == (a,)
    assert found.left_out == {b: NOT_RETRYABLE, c: OFFLINE, d: LEFT}


def test_an_operators_stop_is_not_worth_retrying() -> None:
    stale = {ids(1)[0]: "Cancelled"}
    assert worth_retrying(first_attempt(stale))
    assert not worth_retrying(first_attempt(stale, kind=VerdictKind.CANCELLED))
    assert not worth_retrying(first_attempt(stale, kind=VerdictKind.STOPPED))
    assert "Cancelled" not in plan([Stale("i-1", "Cancelled")], ["i-1"], ["i-1"]).targets


def test_a_retry_that_clears_everything_makes_the_clear_ok() -> None:
    a, b = ids(2)
    first = first_attempt({a: "Delivery Timed Out", b: NOT_REACHED})
    retry = Attempt(2, (a, b), (), Cleared(entries=5, instances=2))

    verdict = conclude(first, [retry], {})

    assert verdict.kind is VerdictKind.OK and not verdict.is_alert
    assert verdict.stale_count == verdict.problem_count == verdict.missing_count == 0
    assert verdict.succeeded == 4
    assert verdict.cleared == Cleared(entries=25, instances=4), "every attempt's entries count"
    assert verdict.clear is not None and verdict.clear.attempts == 2
    assert [(r.instance_id, r.outcomes, r.cleared_on) for r in verdict.clear.instances] == [
        (a, ("Delivery Timed Out",), 2),
        (b, (NOT_REACHED,), 2),
    ]


def test_counts_come_down_by_every_instance_cleared_even_past_the_listed_ones() -> None:
    """A verdict lists at most LISTED problems; a retry that clears 1,000 of them must bring
    the count to zero, not take off only the ones listed."""
    many = dict.fromkeys(ids(1000), "Delivery Timed Out")
    first = first_attempt(many, listed=100)
    retry = Attempt(2, tuple(many), ())

    verdict = conclude(first, [retry], {})

    assert verdict.problem_count == 0 and verdict.kind is VerdictKind.OK


def test_what_stays_stale_is_named_with_every_attempt_and_why_it_was_not_retried() -> None:
    a, b, c = ids(3)
    first = first_attempt({a: "Failed", b: "Undeliverable", c: "Access Denied"})
    retry = Attempt(2, (a,), (Stale(a, "Failed"),))

    verdict = conclude(first, [retry], {b: OFFLINE, c: NOT_RETRYABLE})

    assert verdict.is_alert and verdict.kind is VerdictKind.PARTIAL
    assert [s.instance_id for s in verdict.stale] == [a, b, c]
    assert verdict.clear is not None
    rows = {r.instance_id: r for r in verdict.clear.instances}
    assert rows[a].outcomes == ("Failed", "Failed") and not rows[a].cleared_on
    assert rows[b].note == OFFLINE and rows[c].note == NOT_RETRYABLE


def test_a_retry_the_stop_alarm_held_ends_the_clear_stopped() -> None:
    a = ids(1)[0]
    first = first_attempt({a: "Delivery Timed Out"})
    alarm = (TriggeredAlarm("database-load", "ALARM"),)
    held = replace(first_attempt({a: "Cancelled"}, kind=VerdictKind.STOPPED), stopped_by=alarm)
    retry = Attempt(2, (a,), (Stale(a, "Cancelled"),), stopped_by=held)

    verdict = conclude(first, [retry], {})

    assert verdict.kind is VerdictKind.STOPPED and verdict.stopped_by == alarm


def test_a_clear_that_lost_its_group_says_so() -> None:
    a = ids(1)[0]
    verdict = conclude(first_attempt({a: "Delivery Timed Out"}), [], {a: CLAIM})
    assert verdict.clear is not None and verdict.clear.instances[0].note == CLAIM
    assert verdict.is_alert


def test_still_stale_follows_each_attempt() -> None:
    a, b = ids(2)
    first = first_attempt({a: "Failed", b: "Failed"})
    retry = Attempt(2, (a, b), (Stale(b, "Undeliverable"),))
    assert still_stale(first, [retry]) == (Stale(b, "Undeliverable"),)


def test_a_retry_asked_later_goes_on_with_the_clears_history() -> None:
    a, b = ids(2)
    automatic = Attempt(2, (a, b), (Stale(b, "Failed"),))
    clear = conclude(first_attempt({a: "Delivery Timed Out", b: "Failed"}), [automatic], {})
    assert clear.is_alert and [s.instance_id for s in clear.stale] == [b]

    asked = Attempt(3, (b,), ())
    verdict = conclude(clear, [asked], {})

    assert verdict.kind is VerdictKind.OK
    assert verdict.clear is not None and verdict.clear.attempts == 3
    rows = {r.instance_id: r for r in verdict.clear.instances}
    assert rows[a].cleared_on == 2 and rows[b].cleared_on == 3
    assert rows[b].outcomes == ("Failed", "Failed")
