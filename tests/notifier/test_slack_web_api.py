"""The Slack Web API stand-in answers slack_sdk's WebClient as Slack does: what the notifier and
the dispatcher are tested against is only as good as this."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from harness.slack_web_api import BOT_TOKEN, CHANNEL, SlackWebApi, block_kit_problems

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*web-prod* cleared"}}


def client(api: SlackWebApi, token: str = BOT_TOKEN, **kwargs: Any) -> WebClient:
    return WebClient(token=token, base_url=api.base_url, timeout=5, **kwargs)


def test_a_post_answers_ok_channel_ts_and_the_message(slack_api: SlackWebApi) -> None:
    answer = client(slack_api).chat_postMessage(channel=CHANNEL, text="cleared", blocks=[SECTION])

    assert answer["ok"] is True
    assert answer["channel"] == CHANNEL
    seconds, _, fraction = answer["ts"].partition(".")
    assert seconds.isdigit() and len(fraction) == 6
    assert answer["message"]["text"] == "cleared"
    assert answer["message"]["blocks"] == [SECTION]
    assert answer["message"]["bot_id"]
    (message,) = slack_api.messages
    assert (message.channel, message.ts, message.thread_ts) == (CHANNEL, answer["ts"], None)
    assert [(v.text, v.blocks) for v in message.versions] == [("cleared", [SECTION])]


def test_an_update_replaces_the_message_in_place_and_keeps_each_version(
    slack_api: SlackWebApi,
) -> None:
    web = client(slack_api)
    ts = web.chat_postMessage(channel=CHANNEL, text="clearing", blocks=[SECTION])["ts"]

    answer = web.chat_update(channel=CHANNEL, ts=ts, text="cleared", blocks=[])

    assert (answer["ok"], answer["channel"], answer["ts"], answer["text"]) == (
        True,
        CHANNEL,
        ts,
        "cleared",
    )
    (message,) = slack_api.messages
    assert [(v.text, v.blocks) for v in message.versions] == [
        ("clearing", [SECTION]),
        ("cleared", []),
    ]
    assert slack_api.top_level() == [message]


def test_replies_live_in_the_thread_and_a_broadcast_one_in_the_channel_too(
    slack_api: SlackWebApi,
) -> None:
    web = client(slack_api)
    parent = web.chat_postMessage(channel=CHANNEL, text="clear")["ts"]
    quiet = web.chat_postMessage(channel=CHANNEL, text="detail", thread_ts=parent)["ts"]
    loud = web.chat_postMessage(
        channel=CHANNEL, text="alert", thread_ts=parent, reply_broadcast=True
    )["ts"]

    assert [m.ts for m in slack_api.replies(parent)] == [quiet, loud]
    assert [m.ts for m in slack_api.top_level()] == [parent, loud]
    assert slack_api.message(loud).reply_broadcast is True
    with pytest.raises(SlackApiError) as lost:
        web.chat_postMessage(channel=CHANNEL, text="x", thread_ts="1700000000.999999")
    assert lost.value.response["error"] == "thread_not_found"


def test_an_ephemeral_is_answered_with_its_message_ts(slack_api: SlackWebApi) -> None:
    answer = client(slack_api).chat_postEphemeral(
        channel=CHANNEL, user="U0ALICE", text="you may not retry this clear"
    )

    assert answer["ok"] is True and answer["message_ts"]
    (ephemeral,) = slack_api.ephemerals
    assert (ephemeral.channel, ephemeral.user, ephemeral.text) == (
        CHANNEL,
        "U0ALICE",
        "you may not retry this clear",
    )
    assert slack_api.messages == []


@pytest.mark.parametrize(
    ("build", "error"),
    [
        (lambda api: (SlackWebApi(), "xoxb-0000000000-notthebot"), "invalid_auth"),
        (lambda api: (SlackWebApi(), ""), "not_authed"),
        (lambda api: (SlackWebApi(channels=("C0OTHER",)), BOT_TOKEN), "channel_not_found"),
        (lambda api: (SlackWebApi(member_of=()), BOT_TOKEN), "not_in_channel"),
    ],
    ids=["wrong-token", "no-token", "unknown-channel", "not-a-member"],
)
def test_slack_s_errors_are_ok_false_with_the_error(build: Any, error: str) -> None:
    api, token = build(None)
    with api, pytest.raises(SlackApiError) as refused:
        client(api, token=token).chat_postMessage(channel=CHANNEL, text="cleared")

    assert refused.value.response.status_code == 200
    assert refused.value.response.data == {"ok": False, "error": error}
    assert api.messages == []


def test_an_update_of_an_unknown_ts_is_message_not_found(slack_api: SlackWebApi) -> None:
    with pytest.raises(SlackApiError) as refused:
        client(slack_api).chat_update(channel=CHANNEL, ts="1700000000.000001", text="x")

    assert refused.value.response["error"] == "message_not_found"


def test_no_text_and_invalid_blocks_are_refused(slack_api: SlackWebApi) -> None:
    web = client(slack_api)
    # slack_sdk warns of a post without text before it sends it; Slack refuses it.
    with pytest.raises(SlackApiError) as empty, pytest.warns(UserWarning, match="`text`"):
        web.chat_postMessage(channel=CHANNEL, blocks=[])
    header = {"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}
    with pytest.raises(SlackApiError) as long_header:
        web.chat_postMessage(channel=CHANNEL, text="x", blocks=[header])
    misspelt = {"type": "section", "txt": {"type": "mrkdwn", "text": "x"}}
    with pytest.raises(SlackApiError) as unknown_key:
        web.chat_postMessage(channel=CHANNEL, text="x", blocks=[misspelt])

    assert empty.value.response["error"] == "no_text"
    assert long_header.value.response["error"] == "invalid_blocks"
    assert "150" in long_header.value.response["errors"][0]
    assert unknown_key.value.response["error"] == "invalid_blocks"
    assert slack_api.messages == []
    assert block_kit_problems([SECTION]) == []


def test_a_rate_limit_is_429_with_retry_after_once(slack_api: SlackWebApi) -> None:
    slack_api.fail_next("chat.postMessage", status=429, retry_after=7)
    web = client(slack_api)

    with pytest.raises(SlackApiError) as limited:
        web.chat_postMessage(channel=CHANNEL, text="cleared")
    answer = web.chat_postMessage(channel=CHANNEL, text="cleared")

    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "7"
    assert limited.value.response["error"] == "ratelimited"
    assert answer["ok"] is True
    assert len(slack_api.messages) == 1
    assert [name for name, _ in slack_api.calls] == ["chat.postMessage"] * 2


def test_slack_sdk_s_rate_limit_handler_waits_the_retry_after(slack_api: SlackWebApi) -> None:
    slack_api.fail_next("chat.update", status=429, retry_after=0)
    web = client(slack_api, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    ts = web.chat_postMessage(channel=CHANNEL, text="clearing")["ts"]

    started = time.monotonic()
    answer = web.chat_update(channel=CHANNEL, ts=ts, text="cleared")

    assert answer["ok"] is True
    # slack_sdk sleeps Retry-After plus up to a second of jitter.
    assert time.monotonic() - started < 2.5
    assert len(slack_api.method_calls("chat.update")) == 2
    assert slack_api.messages[0].text == "cleared"


def test_an_injected_error_fails_only_the_next_call_of_its_method(
    slack_api: SlackWebApi,
) -> None:
    web = client(slack_api)
    ts = web.chat_postMessage(channel=CHANNEL, text="clearing")["ts"]
    slack_api.fail_next("chat.update", error="not_in_channel")

    web.chat_postMessage(channel=CHANNEL, text="detail", thread_ts=ts)
    with pytest.raises(SlackApiError) as refused:
        web.chat_update(channel=CHANNEL, ts=ts, text="cleared")
    web.chat_update(channel=CHANNEL, ts=ts, text="cleared")

    assert refused.value.response["error"] == "not_in_channel"
    assert slack_api.message(ts).text == "cleared"


def test_form_bodies_and_a_token_parameter_are_read_as_slack_reads_them(
    slack_api: SlackWebApi,
) -> None:
    form = (
        f"token={BOT_TOKEN}&channel={CHANNEL}&text=cleared"
        f"&blocks={urllib.request.quote(json.dumps([SECTION]))}"
    ).encode()
    request = urllib.request.Request(  # noqa: S310 (the stand-in's http URL)
        f"{slack_api.base_url}chat.postMessage",
        data=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        answer = json.load(response)

    assert answer["ok"] is True
    assert slack_api.messages[0].blocks == [SECTION]
    # The token is never recorded: tests print .calls when they fail.
    assert all("token" not in params for _, params in slack_api.calls)
    assert BOT_TOKEN not in repr(slack_api.calls)
