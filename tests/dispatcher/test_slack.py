"""POST /slack/actions within Slack's 3 seconds: the route checks the signature and who asks, hands
the request, as Slack signed it, to an asynchronous invocation of the dispatcher, and answers 200
at once. That invocation checks the signature again, does the work (the retry of a press, the
clear of a slash command), answers on the request's response_url, and a press's button gives way
to who asked. Slack is the stand-in; the asynchronous invocation runs on a thread of its own
(harness.durable_lambda), and `drain` waits for it."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from harness import slack_press
from harness.slack_web_api import CHANNEL, SIGNING_SECRET, Message, SlackWebApi
from harness.stack import GROUP, Stack, slack_event
from tests.dispatcher.conftest import commands, deployed_with, item, table_items
from tests.faults import Recorder, injected
from tests.fleet import Fleet, failed

ALLOWED = "U0APCUOPS"
OTHER = "U0SOMEONE"
# What the route may call while Slack waits: the app secret, and Lambda to hand the work on.
ROUTE_CALLS = {("secretsmanager", "GetSecretValue"), ("lambda", "Invoke")}


@pytest.fixture
def app(aws: None, slack: SlackWebApi) -> Iterator[Stack]:
    with deployed_with(slack, mode="app") as stack:
        yield stack


def alert(stack: Stack) -> tuple[str, Message, Fleet]:
    """A judged clear that left one instance stale, and its message with the retry button."""
    broken = stack.instances[0]
    fleet = Fleet({broken: [failed(), failed(), failed()]}).serve()
    clear_id = stack.clear()
    stack.outcome(clear_id)
    [message] = [m for m in stack.slack.top_level(CHANNEL) if not m.is_reply]
    assert any(b.get("block_id") == slack_press.RETRY_BLOCK_ID for b in message.blocks)
    return clear_id, message, fleet


def press(
    stack: Stack,
    clear_id: str,
    message: Message,
    *,
    user: str = ALLOWED,
    **signing: Any,
) -> dict[str, Any]:
    """A press of the message's retry button, as Slack signs and the HTTP API delivers it."""
    return slack_press.press_event(
        clear_id,
        signing_secret=signing.pop("signing_secret", SIGNING_SECRET),
        user_id=user,
        channel=CHANNEL,
        message_ts=message.ts,
        message={"text": message.text, "blocks": message.blocks},
        response_url=stack.slack.response_url(),
        **signing,
    )


def answered(stack: Stack, event: dict[str, Any]) -> tuple[int, Any, list[tuple[str, str]]]:
    """The route's answer, and the AWS calls made while it was given: those of the test's own
    thread, which answers, not those of the asynchronous invocation's thread."""
    assert threading.current_thread() is threading.main_thread()
    recorder = Recorder()
    with injected(recorder):
        started = time.monotonic()
        answer = stack.dispatch(event)
        elapsed = time.monotonic() - started
        calls = [
            call
            for call, elsewhere in zip(recorder.calls, recorder.notifier, strict=True)
            if not elsewhere
        ]
    assert elapsed < 3, f"Slack waits 3 s; the answer took {elapsed:.2f} s"
    body = answer.get("body") or ""
    return int(answer["statusCode"]), json.loads(body) if body else "", calls


def test_a_press_is_answered_at_once_and_its_retry_sent_asynchronously(app: Stack) -> None:
    clear_id, message, fleet = alert(app)
    sent_before = len(fleet.sent)

    status, body, calls = answered(app, press(app, clear_id, message))

    # While Slack waits: no SSM call and no DynamoDB write, only the hand-off.
    assert (status, body) == (200, "")
    assert set(calls) <= ROUTE_CALLS and ("lambda", "Invoke") in calls, calls
    app.lambda_.drain()
    assert app.lambda_.asynchronous_errors == []
    # The asynchronous half sent the retry: a clear of its own, recorded and started.
    [said] = app.slack.responses
    assert said["response_type"] == "ephemeral" and said["replace_original"] is False
    assert said["text"].startswith(f"Retry asked by <@{ALLOWED}>: clear ")
    retry_id = said["text"].split("clear ", 1)[1].split(" ", 1)[0]
    record = item(retry_id)
    assert record is not None
    assert (record["retryOf"], record["origin"]) == (clear_id, "slack")
    assert record["requester"] == f"slack:{ALLOWED} (alice)"
    # The button gave way to who asked.
    asked = app.slack.message(message.ts).versions[-1]
    assert not any(b.get("block_id") == slack_press.RETRY_BLOCK_ID for b in asked.blocks)
    assert any(
        b.get("block_id") == "apcu_retry_asked" and f"<@{ALLOWED}>" in json.dumps(b)
        for b in asked.blocks
    )
    # The retry runs to its verdict, and the clear's message shows it.
    app.outcome(retry_id)
    assert len(fleet.sent) == sent_before + 1
    assert fleet.sent[-1][1] == [app.instances[0]]
    final = app.slack.message(message.ts)
    assert final.text != asked.text


def test_the_button_gives_way_before_the_retry_starts_so_its_verdict_is_the_last_word(
    app: Stack,
) -> None:
    """Slack slow to take the pressed message's update: nothing of the retry starts until it
    is taken, so the retry's verdict, not the button's update, is what the message ends with."""
    clear_id, message, fleet = alert(app)
    sent_before = len(fleet.sent)
    slow = app.slack.hold_next("chat.update")

    answered(app, press(app, clear_id, message))
    assert slow.arrived.wait(10)
    # While the update is held: no retry recorded, nothing sent.
    assert not [i for i in table_items() if i.get("retryOf") == clear_id]
    assert len(fleet.sent) == sent_before
    slow.release()
    app.lambda_.drain()
    [said] = app.slack.responses
    retry_id = said["text"].split("clear ", 1)[1].split(" ", 1)[0]
    app.outcome(retry_id)

    final = app.slack.message(message.ts).versions[-1]
    assert not any(b.get("block_id") == "apcu_retry_asked" for b in final.blocks), final.text
    assert app.verdict(retry_id)["alert"] is True  # the broken instance failed again


def test_a_slash_command_is_answered_on_it_at_once_and_its_clear_sent_asynchronously(
    app: Stack,
) -> None:
    event = slack_press.slash_command_event(
        "clear web-prod config:",
        signing_secret=SIGNING_SECRET,
        user_id=ALLOWED,
        response_url=app.slack.response_url("slash"),
    )

    status, body, calls = answered(app, event)

    assert status == 200
    assert body == {
        "response_type": "ephemeral",
        "text": "On it: the answer follows here in a moment.",
    }
    assert set(calls) <= ROUTE_CALLS, calls
    app.lambda_.drain()
    [command] = commands()
    assert command["Parameters"] == {"action": ["clear-apcu"], "prefix": ["config:"]}
    [said] = app.slack.responses
    assert said["text"].startswith(
        f"202: clear of the keys starting config: sent to {GROUP} (3 InService), command "
        f"{command['CommandId']}"
    )
    record = item(command["CommandId"])
    assert record is not None and record["origin"] == "slack"


def test_a_slash_command_the_validator_refuses_is_told_with_the_usage(app: Stack) -> None:
    event = slack_press.slash_command_event(
        "clear web-dev",
        signing_secret=SIGNING_SECRET,
        user_id=ALLOWED,
        response_url=app.slack.response_url("slash"),
    )

    assert answered(app, event)[0] == 200
    app.lambda_.drain()

    [said] = app.slack.responses
    assert said["text"].startswith('Refused (allowed-groups): group "web-dev" is not one')
    assert "Usage: /apcu-flush clear <group> [prefix]" in said["text"]
    assert commands() == []


def test_a_press_whose_retry_is_refused_is_told_why_and_keeps_its_button(app: Stack) -> None:
    Fleet().serve()
    clear_id = app.clear()
    app.outcome(clear_id)
    [message] = app.slack.top_level(CHANNEL)

    assert answered(app, press(app, clear_id, message))[0] == 200
    app.lambda_.drain()

    [said] = app.slack.responses
    assert said["text"].startswith("Refused (nothing-to-retry): clear ")
    assert len(app.slack.message(message.ts).versions) == len(message.versions)
    assert len(commands()) == 1


def test_a_press_when_aws_throttles_the_work_is_told_to_press_again(app: Stack) -> None:
    from tests.faults import Faults

    clear_id, message, _ = alert(app)

    with injected(Faults(operation="DescribeAutoScalingGroups", occurrence=1, kind="throttle")):
        assert answered(app, press(app, clear_id, message))[0] == 200
        app.lambda_.drain()

    assert app.lambda_.asynchronous_errors == []
    [said] = app.slack.responses
    assert said["text"].startswith("Refused (aws-throttled): AWS throttled")


def test_someone_not_allowed_is_told_so_and_nothing_is_handed_on(app: Stack) -> None:
    clear_id, message, _ = alert(app)

    status, body, calls = answered(app, press(app, clear_id, message, user=OTHER))

    assert (status, body) == (200, "")
    assert ("lambda", "Invoke") not in calls
    [said] = app.slack.responses
    assert said["text"] == (
        f"You may not clear from Slack: your user id {OTHER} is not in the stack's "
        "SlackAllowedUsers. Nothing was sent."
    )
    slash = slack_press.slash_command_event(
        "clear web-prod", signing_secret=SIGNING_SECRET, user_id=OTHER
    )
    status, body, calls = answered(app, slash)
    assert status == 200 and body["response_type"] == "ephemeral"
    assert OTHER in body["text"] and ("lambda", "Invoke") not in calls
    app.lambda_.drain()
    assert len(commands()) == 2, "the clear and its automatic retry only"


# --- the signature --------------------------------------------------------------------------------

SIGNED = slack_press.form_body(slack_press.block_actions_payload(command_id="x"))


def with_headers(body: bytes, **headers: str) -> dict[str, Any]:
    return slack_event(body, headers)


def now() -> str:
    return str(int(time.time()))


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(
            lambda: slack_press.request_event(SIGNED, signing_secret="0" * 32), id="wrong-secret"
        ),
        pytest.param(
            lambda: slack_press.request_event(
                SIGNED, signing_secret=SIGNING_SECRET, timestamp=int(time.time()) - 301
            ),
            id="stale",
        ),
        pytest.param(
            lambda: slack_press.request_event(
                # A minute past the window: a loaded machine's delay must not bring it inside.
                SIGNED,
                signing_secret=SIGNING_SECRET,
                timestamp=int(time.time()) + 360,
            ),
            id="future",
        ),
        pytest.param(lambda: slack_press.request_event(SIGNED, signing_secret=None), id="missing"),
        pytest.param(
            lambda: with_headers(
                SIGNED.replace(b"block_actions", b"block_actionz"),
                **{
                    "X-Slack-Request-Timestamp": now(),
                    "X-Slack-Signature": slack_press.signature(SIGNING_SECRET, now(), SIGNED),
                },
            ),
            id="tampered-body",
        ),
        pytest.param(
            lambda: slack_press.request_event(
                SIGNED, signing_secret=SIGNING_SECRET, signature_override="v0=xyz"
            ),
            id="malformed-signature",
        ),
        pytest.param(
            lambda: with_headers(
                SIGNED,
                **{
                    "X-Slack-Request-Timestamp": "12e9",
                    "X-Slack-Signature": slack_press.signature(SIGNING_SECRET, "12e9", SIGNED),
                },
            ),
            id="malformed-timestamp",
        ),
    ],
)
def test_a_request_slack_did_not_sign_is_refused_401_with_nothing_handed_on(
    app: Stack, event: Any
) -> None:
    status, body, calls = answered(app, event())

    assert status == 401
    assert body == {
        "error": {
            "status": 401,
            "rule": "slack-signature",
            "message": "invalid or missing Slack signature",
        }
    }
    assert set(calls) <= {("secretsmanager", "GetSecretValue")}, calls
    app.lambda_.drain()
    assert app.slack.responses == [] and commands() == []


def test_a_body_that_is_not_text_is_refused_400(app: Stack) -> None:
    raw = b"\xff\xfe\x00payload"
    event = slack_press.request_event(raw, signing_secret=SIGNING_SECRET)

    status, body, calls = answered(app, event)

    assert (status, body["error"]["rule"]) == (400, "slack-body")
    assert calls == []


def test_in_webhook_mode_the_route_reads_nothing_and_answers_404(deployed: Stack) -> None:
    status, body, calls = answered(
        deployed, slack_press.request_event(SIGNED, signing_secret=SIGNING_SECRET)
    )

    assert (status, body["error"]["rule"]) == (404, "slack-app-off")
    assert calls == [], "not even the secret"


def test_a_placeholder_app_secret_is_503_and_read_again_next_time(app: Stack) -> None:
    import boto3

    secret = app.env["SLACK_APP_SECRET_ARN"]
    secrets = boto3.client("secretsmanager")
    real = secrets.get_secret_value(SecretId=secret)["SecretString"]
    secrets.put_secret_value(SecretId=secret, SecretString="REPLACE_ME")
    from apcu_dispatcher import api

    api.runtime.secrets.clear_cache()  # type: ignore[no-untyped-call]
    event = slack_press.request_event(SIGNED, signing_secret=SIGNING_SECRET)

    status, body, _ = answered(app, event)
    assert (status, body["error"]["rule"]) == (503, "slack-app-secret")

    secrets.put_secret_value(SecretId=secret, SecretString=real)
    status, _, _ = answered(app, slack_press.request_event(SIGNED, signing_secret=SIGNING_SECRET))
    assert status == 200, "the filled secret is read at once"


def test_the_asynchronous_half_checks_the_signature_again(app: Stack) -> None:
    clear_id, message, fleet = alert(app)
    real = press(app, clear_id, message)
    body = base64.b64decode(real["body"]).decode()
    sent_before = len(fleet.sent)

    # Anyone allowed lambda:InvokeFunction can shape the work event; without Slack's signing
    # secret its signature cannot be right.
    crafted = {"slackRequest": {"body": body, "timestamp": now(), "signature": "v0=" + "0" * 64}}
    answer = app.dispatch(crafted)
    # Nor can a request Slack signed long ago be played again.
    old = int(time.time()) - 3600
    replayed = {
        "slackRequest": {
            "body": body,
            "timestamp": str(old),
            "signature": slack_press.signature(SIGNING_SECRET, str(old), body.encode()),
        }
    }
    again = app.dispatch(replayed)

    assert answer["body"] == {"outcome": "SlackUnauthorized"}
    assert again["body"] == {"outcome": "SlackUnauthorized"}
    assert len(fleet.sent) == sent_before and app.slack.responses == []
    assert len(app.slack.message(message.ts).versions) == len(message.versions)


def test_a_message_slack_will_not_update_does_not_undo_the_retry(app: Stack) -> None:
    clear_id, message, fleet = alert(app)
    sent_before = len(fleet.sent)
    app.slack.fail_next("chat.update", "message_not_found")

    assert answered(app, press(app, clear_id, message))[0] == 200
    app.lambda_.drain()

    [said] = app.slack.responses
    assert said["text"].startswith(f"Retry asked by <@{ALLOWED}>")
    retry_id = said["text"].split("clear ", 1)[1].split(" ", 1)[0]
    app.outcome(retry_id)
    assert len(fleet.sent) == sent_before + 1


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "view_submission", "user": {"id": ALLOWED}},
        slack_press.block_actions_payload(command_id="x", user_id=ALLOWED, action_id="other"),
    ],
    ids=["view-submission", "another-button"],
)
def test_another_signed_interaction_is_200_and_does_nothing(
    app: Stack, payload: dict[str, Any]
) -> None:
    body = slack_press.form_body(payload)

    status, answer, calls = answered(
        app, slack_press.request_event(body, signing_secret=SIGNING_SECRET)
    )

    assert (status, answer) == (200, "")
    assert ("lambda", "Invoke") not in calls
    assert app.slack.responses == [] and commands() == []


@pytest.mark.parametrize("text", ["", "clear", "flush web-prod", "clear web-prod a: b"])
def test_a_slash_command_not_as_the_usage_says_is_told_the_usage(app: Stack, text: str) -> None:
    event = slack_press.slash_command_event(
        text, signing_secret=SIGNING_SECRET, user_id=ALLOWED, response_url=app.slack.response_url()
    )

    assert answered(app, event)[0] == 200
    app.lambda_.drain()

    [said] = app.slack.responses
    assert (
        said["text"]
        == "Usage: /apcu-flush clear <group> [prefix], e.g. /apcu-flush clear web-prod config:"
    )
    assert commands() == []


def test_a_slash_command_while_a_clear_runs_is_told_which(app: Stack) -> None:
    running = app.clear()
    event = slack_press.slash_command_event(
        "clear web-prod",
        signing_secret=SIGNING_SECRET,
        user_id=ALLOWED,
        response_url=app.slack.response_url(),
    )

    answered(app, event)
    app.lambda_.drain()

    [said] = app.slack.responses
    assert said["text"].startswith("Refused (clear-in-progress): a clear of group web-prod")
    assert running in said["text"]
    assert len(commands()) == 1


def test_a_slash_commands_text_is_read_as_typed_not_as_slack_escaped_it() -> None:
    from apcu_dispatcher.slack import unescape

    # Slack sends "a<b & c>d" as "a&lt;b &amp; c&gt;d"; a typed "&lt;" arrives "&amp;lt;".
    assert unescape("a&lt;b &amp; c&gt;d") == "a<b & c>d"
    assert unescape("&amp;lt;") == "&lt;"


def test_the_stored_press_is_signed_as_slack_signs_and_presses_the_notifiers_button() -> None:
    from apcu_clear.slack_app import RETRY_ACTION_ID, RETRY_BLOCK_ID
    from tests.dispatcher.conftest import stored_event

    event = stored_event("slack-press-retry.json")
    body = base64.b64decode(event["body"])
    assert event["headers"]["x-slack-signature"] == slack_press.signature(
        SIGNING_SECRET, event["headers"]["x-slack-request-timestamp"], body
    )
    assert (slack_press.RETRY_BLOCK_ID, slack_press.RETRY_ACTION_ID) == (
        RETRY_BLOCK_ID,
        RETRY_ACTION_ID,
    )


def test_webhook_mode_never_imports_slack_sdk() -> None:
    # The cold start of the default mode pays for slack_sdk never, even when the Slack route is
    # called.
    import subprocess
    import sys
    from pathlib import Path

    from harness.stack import environment

    folder = Path(__file__).resolve().parents[2] / "src" / "dispatcher"
    event = json.dumps(slack_press.request_event(SIGNED, signing_secret=SIGNING_SECRET))
    code = (
        "import json, sys, types, app\n"
        "context = types.SimpleNamespace(function_name='d', memory_limit_in_mb=256,\n"
        "    invoked_function_arn='arn:aws:lambda:us-east-1:123456789012:function:d',\n"
        "    aws_request_id='r', get_remaining_time_in_millis=lambda: 30000)\n"
        f"answer = app.lambda_handler(json.loads({event!r}), context)\n"
        "print(answer['statusCode'], any(m.startswith('slack_sdk') for m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=folder,
        env={
            **environment(),
            "PYTHONPATH": str(folder.parent / "clear"),
            "PATH": "/usr/bin:/bin",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "POWERTOOLS_TRACE_DISABLED": "true",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.splitlines()[-1].split() == ["404", "False"]
