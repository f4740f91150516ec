"""How apcu-flush waits: a capped backoff, a hard deadline, a few retries of transient errors."""

from __future__ import annotations

import io
import itertools
from typing import Any

import pytest

from apcu_flush import throttle
from apcu_flush.api import Reply
from apcu_flush.exits import CliError, Exit
from apcu_flush.terminal import Progress
from apcu_flush.wait import MAX_DELAY, Waiting, delays, wait_for_verdict

RUNNING = Reply(200, {"state": "running", "ssm": {"status": "InProgress"}})
JUDGED = Reply(200, {"state": "judged", "verdict": {"kind": "ok", "alert": False}})
# What API Gateway answers when the API's throttle refuses a request.
THROTTLED = Reply(429, {"message": "Too Many Requests"})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float, _: Waiting | None = None) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _wait(replies: list[Reply | CliError], clock: Clock, timeout: float = 900) -> dict[str, Any]:
    answers = iter(replies)

    def poll() -> Reply:
        answer = next(answers)
        if isinstance(answer, CliError):
            raise answer
        return answer

    return wait_for_verdict(
        poll,
        Waiting("cmd", clock()),
        timeout=timeout,
        observe=lambda _: None,
        sleep=clock.sleep,
        clock=clock,
    )


def test_the_pauses_grow_to_a_cap_and_never_spin() -> None:
    pauses = list(itertools.islice(delays(), 30))
    assert all(1.5 <= p <= MAX_DELAY for p in pauses)
    assert pauses[0] <= 2.5 < 5 < pauses[4]
    assert max(pauses[-5:]) == pytest.approx(MAX_DELAY, rel=0.26)


def test_pipelines_started_together_poll_at_different_moments() -> None:
    # Ten pipelines of one push: their third polls are spread over more than a second.
    third = [list(itertools.islice(delays(), 3)) for _ in range(10)]
    moments = [sum(p) for p in third]
    assert max(moments) - min(moments) > 1.0


def test_throttle_pauses_have_full_jitter_under_a_doubling_ceiling() -> None:
    runs = [list(itertools.islice(throttle.backoff(), 8)) for _ in range(200)]
    for n, ceiling in enumerate([1, 2, 4, 8, 16, 20, 20, 20]):
        nth = [run[n] for run in runs]
        assert all(0 <= p <= ceiling for p in nth)
        assert min(nth) < ceiling / 4 and max(nth) > ceiling * 3 / 4, "spread from 0 to ceiling"


def test_it_polls_until_the_command_is_judged() -> None:
    clock = Clock()
    body = _wait([RUNNING, RUNNING, RUNNING, JUDGED], clock)
    assert body["state"] == "judged"
    assert len(clock.slept) == 3


def test_it_stops_at_the_deadline_without_sleeping_past_it() -> None:
    clock = Clock()
    with pytest.raises(CliError) as raised:
        _wait([RUNNING] * 1000, clock, timeout=60)
    assert raised.value.exit is Exit.TIMED_OUT
    assert sum(clock.slept) == pytest.approx(60)
    assert raised.value.body["last"] == RUNNING.body


def test_a_few_transient_failures_are_retried_then_reported() -> None:
    network = CliError(Exit.FAILED, "could not reach the API")
    clock = Clock()
    assert _wait([network, Reply(503, {}), RUNNING, JUDGED], clock)["state"] == "judged"
    with pytest.raises(CliError) as raised:
        _wait([network, Reply(502, {}), Reply(500, {"message": "Internal Server Error"})], Clock())
    assert raised.value.exit is Exit.FAILED
    assert "500" in raised.value.message


def test_throttled_reads_are_retried_with_backoff_and_do_not_end_the_wait() -> None:
    # Given API Gateway's 429 on more reads in a row than any other failure is allowed,
    clock = Clock()
    replies: list[Reply | CliError] = [RUNNING, *[THROTTLED] * 6, RUNNING, JUDGED]
    assert _wait(replies, clock)["state"] == "judged"
    # Then each 429 was waited out with a pause of the backoff, not a poll's.
    assert len(clock.slept) == 8


def test_a_throttle_that_lasts_until_the_deadline_fails_with_4_not_3() -> None:
    clock = Clock()
    with pytest.raises(throttle.Throttled) as raised:
        _wait([RUNNING, *[THROTTLED] * 1000], clock, timeout=60)
    assert raised.value.exit is Exit.FAILED
    assert sum(clock.slept) == pytest.approx(60), "it gives up at the deadline, not before"
    assert "throttled the status reads" in raised.value.message
    assert "apcu-flush status cmd --wait" in raised.value.message
    assert raised.value.body["error"]["kind"] == "throttled"
    assert raised.value.body["last"] == RUNNING.body


def test_a_refusal_ends_the_wait_at_once() -> None:
    with pytest.raises(CliError) as raised:
        _wait([Reply(404, {"error": {"status": 404, "message": "no such command"}})], Clock())
    assert raised.value.exit is Exit.REFUSED
    assert "no such command" in raised.value.message


def test_the_live_line_moves_every_second_while_it_sleeps() -> None:
    clock = Clock()
    screen = io.StringIO()
    progress = Progress(screen, live=True, clock=clock, pause=clock.sleep)
    waiting = Waiting("cmd", clock(), last=RUNNING.body)
    progress.sleep(4.5, waiting)
    assert clock.slept == [1.0, 1.0, 1.0, 1.0, 0.5]
    frames = screen.getvalue().split("\r\x1b[K")[1:]
    assert [f.split(" · ")[1] for f in frames] == ["0:01", "0:02", "0:03", "0:04", "0:04"]
    assert frames[-1] == "running (InProgress) · 0:04 · waiting for the instances"


def test_a_log_gets_a_line_per_change_only() -> None:
    clock = Clock()
    log = io.StringIO()
    progress = Progress(log, live=False, clock=clock, pause=clock.sleep)
    waiting = Waiting("cmd", clock())
    for body in (RUNNING.body, RUNNING.body, JUDGED.body):
        waiting.last = body
        progress.observe(waiting)
        clock.sleep(3)
    assert log.getvalue().splitlines() == [
        "running (InProgress) · 0:00 · waiting for the instances",
        "judged: ok · 0:06",
    ]


def test_it_waits_through_a_clears_automatic_retries_for_the_clears_verdict() -> None:
    # The first attempt ended, its automatic retry runs: the clear is still running
    retrying = Reply(
        200,
        {
            "state": "running",
            "attempt": {"commandId": "retry", "round": 1},
            "ssm": {"status": "InProgress"},
        },
    )
    clock = Clock()
    body = _wait([RUNNING, retrying, retrying, JUDGED], clock)
    assert body["state"] == "judged"
    assert len(clock.slept) == 3


def test_the_default_timeout_covers_the_first_attempt_and_every_retry_round() -> None:
    from apcu_flush.cli import DEFAULT_TIMEOUT_SECONDS

    # RetryMissed allows 3 rounds; each attempt is judged within 15 minutes
    assert DEFAULT_TIMEOUT_SECONDS >= 4 * 900
