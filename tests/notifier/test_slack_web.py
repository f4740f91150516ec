"""App mode's Web API calls (apcu_notifier.slack_web) against the stand-in: what is retried,
within what time, and what is raised."""

from __future__ import annotations

import socket

import pytest

from apcu_notifier.budget import SLACK_POLICY
from apcu_notifier.slack import SlackUnavailable
from apcu_notifier.slack_web import SlackAppRejected, SlackWeb, build_web
from harness.slack_web_api import BOT_TOKEN, CHANNEL, SlackWebApi

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "cleared"}}]


def web(base_url: str) -> SlackWeb:
    built = build_web(base_url, "arn:aws:secretsmanager:us-east-1:1:secret:app", SLACK_POLICY)
    built.jitter = lambda: 1.0
    return built


def post(client: SlackWeb, sleeps: list[float], left: float = 60.0) -> str:
    return client.post(
        token=BOT_TOKEN,
        channel=CHANNEL,
        text="cleared",
        blocks=BLOCKS,
        remaining=lambda: left,
        policy=SLACK_POLICY,
        sleep=sleeps.append,
    ).ts


def test_a_server_error_is_retried_after_a_backoff(slack_api: SlackWebApi) -> None:
    slack_api.fail_next("chat.postMessage", status=503)
    sleeps: list[float] = []

    ts = post(web(slack_api.base_url), sleeps)

    assert sleeps == [SLACK_POLICY.base_delay]
    assert [m.ts for m in slack_api.messages] == [ts]


def test_a_refusal_it_has_no_fix_for_names_its_status_and_code(slack_api: SlackWebApi) -> None:
    # A SLACK_API_URL that is not the Web API's base
    with pytest.raises(SlackAppRejected, match="HTTP 200 unknown_method"):
        post(web(slack_api.base_url + "v2/"), [])


def test_a_slack_that_cannot_be_reached_is_retried_then_unavailable_without_the_token() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps: list[float] = []

    with pytest.raises(SlackUnavailable) as unavailable:
        post(web(f"http://127.0.0.1:{port}/api/"), sleeps)

    assert len(sleeps) == SLACK_POLICY.max_attempts - 1
    assert BOT_TOKEN not in str(unavailable.value)


def test_no_attempt_starts_without_time_left(slack_api: SlackWebApi) -> None:
    with pytest.raises(SlackUnavailable, match="no time left"):
        post(web(slack_api.base_url), [], left=SLACK_POLICY.margin)
    assert slack_api.calls == []


def test_a_refusal_keeps_no_chain_to_slack_sdks_error_which_holds_the_token(
    slack_api: SlackWebApi,
) -> None:
    slack_api.fail_next("chat.postMessage", error="not_in_channel")
    with pytest.raises(SlackAppRejected) as refused:
        post(web(slack_api.base_url), [])
    # slack_sdk's SlackApiError keeps the request's headers, Authorization: Bearer xoxb-…
    assert refused.value.__context__ is None and refused.value.__cause__ is None
    assert BOT_TOKEN not in repr(refused.value)
