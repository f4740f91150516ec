"""Posting to the webhook: a real HTTP server on 127.0.0.1 answering as Slack does."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field

import pytest
import requests

from apcu_notifier.slack import Delivery, RetryPolicy, SlackRejected, SlackUnavailable, post
from tests.notifier.conftest import WEBHOOK_PATH, Slack

PAYLOAD = {"text": "hello", "blocks": []}
DEFAULT_POLICY = RetryPolicy()


@dataclass
class Clock:
    """The Lambda's remaining time, spent by the (fake) sleeps the poster asks for."""

    budget: float = 60.0
    slept: list[float] = field(default_factory=list)

    def remaining(self) -> float:
        return self.budget - sum(self.slept)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def send(
    slack: Slack, clock: Clock, policy: RetryPolicy = DEFAULT_POLICY, url: str | None = None
) -> Delivery:
    with requests.Session() as session:
        return post(
            PAYLOAD,
            url=url or slack.url,
            session=session,
            remaining=clock.remaining,
            policy=policy,
            sleep=clock.sleep,
            jitter=lambda: 1.0,
        )


def test_posts_the_payload_as_json(slack: Slack) -> None:
    slack.answer()
    assert send(slack, Clock()) == Delivery(attempts=1)
    request, _ = slack.server.log[0]
    assert request.headers["Content-Type"].startswith("application/json")
    assert slack.message() == PAYLOAD


def test_429_waits_for_retry_after_then_posts(slack: Slack) -> None:
    slack.answer("rate_limited", status=429, headers={"Retry-After": "3"})
    slack.answer()
    clock = Clock()

    assert send(slack, clock) == Delivery(attempts=2)
    assert clock.slept == [3.0]
    assert len(slack.messages()) == 2


def test_429_storm_is_bounded_by_attempts(slack: Slack) -> None:
    slack.server.expect_request(WEBHOOK_PATH, method="POST").respond_with_data(
        "rate_limited", status=429, headers={"Retry-After": "1"}
    )
    clock = Clock()

    with pytest.raises(SlackUnavailable, match=r"after 5 attempts \(last: HTTP 429"):
        send(slack, clock)
    assert clock.slept == [1.0, 1.0, 1.0, 1.0]
    assert len(slack.messages()) == 5


def test_retry_after_longer_than_the_time_left_raises_without_sleeping(slack: Slack) -> None:
    slack.answer("rate_limited", status=429, headers={"Retry-After": "30"})
    clock = Clock(budget=10)

    with pytest.raises(
        SlackUnavailable, match="asked to wait 30 s, more than this invocation has left"
    ):
        send(slack, clock)
    assert clock.slept == []


def test_500_then_200_backs_off_then_posts(slack: Slack) -> None:
    slack.answer("internal_error", status=500)
    slack.answer("ok")
    clock = Clock()

    assert send(slack, clock) == Delivery(attempts=2)
    assert clock.slept == [0.5]


def test_5xx_backoff_grows_and_stops(slack: Slack) -> None:
    slack.server.expect_request(WEBHOOK_PATH, method="POST").respond_with_data("x", status=503)
    clock = Clock()

    with pytest.raises(SlackUnavailable, match=r"last: HTTP 503"):
        send(slack, clock)
    assert clock.slept == [0.5, 1.0, 2.0, 4.0]


def test_backoff_stops_when_the_lambda_runs_out_of_time(slack: Slack) -> None:
    slack.server.expect_request(WEBHOOK_PATH, method="POST").respond_with_data("x", status=502)
    clock = Clock(budget=4.0)

    with pytest.raises(SlackUnavailable, match="no time left"):
        send(slack, clock)
    # 2 s remain after the 2 s margin: the 0.5 and 1.0 waits fit, the 2.0 one does not.
    assert clock.slept == [0.5, 1.0]
    assert len(slack.messages()) == 3


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, "invalid_payload"),
        (403, "action_prohibited"),
        (404, "channel_not_found"),
        (404, "no_service"),
        (410, "channel_is_archived"),
    ],
)
def test_permanent_errors_raise_at_once_naming_slacks_code(
    slack: Slack, status: int, body: str
) -> None:
    slack.answer(body, status=status)
    clock = Clock()

    with pytest.raises(SlackRejected) as raised:
        send(slack, clock)

    assert str(raised.value) == f"Slack rejected the message: HTTP {status} {body}"
    assert (raised.value.status, raised.value.code) == (status, body)
    assert clock.slept == []
    assert len(slack.messages()) == 1


def test_a_body_that_is_not_a_code_is_not_repeated(slack: Slack) -> None:
    slack.answer(f"<html>{slack.url}</html>", status=400)
    with pytest.raises(SlackRejected, match=r"HTTP 400 \(no error code\)$"):
        send(slack, Clock())


def test_redirects_are_not_followed(slack: Slack) -> None:
    slack.answer("", status=302, headers={"Location": "http://127.0.0.1:9/elsewhere"})
    with pytest.raises(SlackRejected, match="HTTP 302"):
        send(slack, Clock())


def test_a_read_timeout_after_the_message_was_sent_is_unconfirmed_not_retried(
    slack: Slack,
) -> None:
    # Given a Slack that takes the message but answers later than the read timeout
    slack.respond_slowly(0.5)
    clock = Clock()
    policy = RetryPolicy(max_attempts=2, read_timeout=0.1)

    # When it is posted, Then it is sent once, reported unconfirmed, and not sent again
    assert send(slack, clock, policy) == Delivery(attempts=1, confirmed=False)
    slack.drain()
    assert len(slack.messages()) == 1
    assert clock.slept == []


def test_each_attempt_ends_within_the_time_left_less_the_margin(slack: Slack) -> None:
    # Given 3 s left, of which the margin keeps 2 s back, and a Slack that never answers in time
    slack.respond_slowly(3.0)
    clock = Clock(budget=3.0)
    policy = RetryPolicy(read_timeout=10.0, connect_timeout=3.05, margin=2.0)
    started = time.monotonic()

    # Then the attempt gave up reading within the second left
    assert send(slack, clock, policy).confirmed is False
    assert time.monotonic() - started < 1.5


def test_connection_refused_is_retried_then_raised(slack: Slack) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port any more.
    url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
    clock = Clock()

    with pytest.raises(
        SlackUnavailable, match=r"after 3 attempts \(last: ConnectionError\)"
    ) as raised:
        send(slack, clock, RetryPolicy(max_attempts=3), url=url)
    assert url not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__context__ is None
    assert clock.slept == [0.5, 1.0]
