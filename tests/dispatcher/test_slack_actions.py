"""POST /slack/actions through lambda_handler, against moto and the Slack Web API stand-in: a
signed press of the retry button by an allowed user sends the retry (read back from moto) and
updates the message; anything not signed by Slack, or pressed by someone else, sends nothing."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from slack_sdk.web import WebClient

from apcu_dispatcher import handler
from apcu_dispatcher.clients import Clients
from apcu_dispatcher.config import Config, ConfigError
from harness import slack_press
from harness.slack_web_api import BOT_TOKEN, CHANNEL, SIGNING_SECRET, SlackWebApi
from tests.dispatcher.conftest import ENV, commands_in_moto, stored_event
from tests.dispatcher.test_handler import Context, emitted
from tests.dispatcher.test_retry import UNKNOWN_ID, clear, judge, sent_after

ALLOWED_USER = "U0123ABCD"
SOMEONE_ELSE = "U0999ZZZZ"
Press = Callable[[dict[str, Any]], dict[str, Any]]


@pytest.fixture
def app_secret_arn(aws: None) -> str:
    """The app secret as an operator fills it, in moto's Secrets Manager."""
    value = {"botToken": BOT_TOKEN, "signingSecret": SIGNING_SECRET, "channel": CHANNEL}
    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    created = secrets.create_secret(
        Name="apcu-fleet-flush/slack-app", SecretString=json.dumps(value)
    )
    return str(created["ARN"])


def app_config(secret_arn: str, api_url: str, **more: str) -> Config:
    return Config.from_env(
        {
            **ENV,
            "SLACK_MODE": "app",
            "SLACK_APP_SECRET_ARN": secret_arn,
            "SLACK_API_URL": api_url,
            "SLACK_ALLOWED_USERS": f"{ALLOWED_USER}, W0ENTGRID1",
            **more,
        }
    )


@pytest.fixture
def app_mode(
    monkeypatch: pytest.MonkeyPatch,
    log: io.StringIO,
    clients: Clients,
    app_secret_arn: str,
    slack_api: SlackWebApi,
) -> Iterator[Config]:
    """The dispatcher of a stack deployed with SlackMode app: its settings, as lambda_handler
    reads them, and its per-container clients built inside this moto."""
    settings = app_config(app_secret_arn, slack_api.base_url)
    monkeypatch.setattr(handler, "config", settings)
    handler.slack_reader.cache_clear()
    yield settings
    handler.slack_reader.cache_clear()


@pytest.fixture
def press(app_mode: Config) -> Press:
    return lambda event: handler.lambda_handler(event, Context())


def posted_alert(slack_api: SlackWebApi, command_id: str) -> str:
    """The notifier's alert with its button, posted to the stand-in; its ts."""
    web = WebClient(token=BOT_TOKEN, base_url=slack_api.base_url)
    answer = web.chat_postMessage(channel=CHANNEL, **slack_press.alert_message(command_id))
    return str(answer["ts"])


def stale_clear(settings: Config, clients: Clients, web_prod: list[str]) -> str:
    """A clear of web-prod whose verdict left its last two instances stale."""
    first = clear(settings, clients)
    judge(clients, first, web_prod[1:])
    return first


def signed_press(command_id: str, ts: str, **payload: Any) -> dict[str, Any]:
    return slack_press.press_event(
        command_id,
        signing_secret=SIGNING_SECRET,
        message_ts=ts,
        message=slack_press.alert_message(command_id),
        **payload,
    )


# --- an allowed press ---------------------------------------------------------------------------


@pytest.mark.parametrize("is_base64", [True, False], ids=["base64-body", "plain-body"])
def test_a_signed_press_by_an_allowed_user_sends_the_retry_and_updates_the_message(
    press: Press,
    app_mode: Config,
    clients: Clients,
    web_prod: list[str],
    slack_api: SlackWebApi,
    log: io.StringIO,
    capsys: pytest.CaptureFixture[str],
    is_base64: bool,
) -> None:
    # Given an alert whose clear left two instances stale, with its button in the channel
    first = stale_clear(app_mode, clients, web_prod)
    ts = posted_alert(slack_api, first)

    # When an allowed user presses the button (Slack's request, as HTTP API delivers it)
    started = time.monotonic()
    event = slack_press.press_event(
        first,
        signing_secret=SIGNING_SECRET,
        message_ts=ts,
        message=slack_press.alert_message(first),
        is_base64=is_base64,
    )
    response = press(event)
    elapsed = time.monotonic() - started

    # Then Slack gets its 200 well within its 3 s
    assert response["statusCode"] == 200
    assert elapsed < 3
    # And exactly the stale instances get the same command again, named for who asked
    [command] = sent_after(clients, first)
    assert sorted(command["InstanceIds"]) == web_prod[1:]
    assert command["Comment"] == f"slack:{ALLOWED_USER} (alice): retry of {first}"
    # In app mode the retry also notifies InProgress: its start can be shown too
    assert command["NotificationConfig"]["NotificationEvents"] == [
        "InProgress",
        "Success",
        "TimedOut",
        "Cancelled",
        "Failed",
    ]
    # And the message is updated in place: the button gives way to who asked and the command
    message = slack_api.message(ts)
    assert len(message.versions) == 2
    blocks = message.blocks
    assert [b["type"] for b in blocks] == ["section", "context"]
    assert blocks[0] == slack_press.alert_message(first)["blocks"][0]
    [line] = blocks[1]["elements"]
    assert f"<@{ALLOWED_USER}>" in line["text"]
    assert command["CommandId"] in line["text"]
    assert "2 instances" in line["text"]
    # The top-level text, what notifications and screen readers show, still says what it is
    assert message.text.startswith("web-prod: 2 of 3 servers still hold the old cache")
    assert command["CommandId"] in message.text
    assert not slack_api.ephemerals
    # And the log names the press, never the secrets or the body
    logged = log.getvalue()
    [entry] = [e for e in emitted(logged) if e.get("message") == "retry sent from Slack"]
    assert entry["slack_user"] == ALLOWED_USER
    assert entry["retry_ids"] == [command["CommandId"]]
    for secret in (SIGNING_SECRET, BOT_TOKEN, event["body"], event["headers"]["x-slack-signature"]):
        assert secret not in logged
    [metric] = [m for m in emitted(capsys.readouterr().out) if "_aws" in m]
    assert metric["SlackRetryAccepted"] == [1.0]


def test_a_clear_sent_in_app_mode_notifies_in_progress_too(
    app_mode: Config, clients: Clients, web_prod: list[str]
) -> None:
    # The notifier posts the clear's message when it starts, on SSM's InProgress notification.
    in_app_mode = clear(app_mode, clients)
    judge(clients, in_app_mode, [])
    # In webhook mode nothing changes: the final statuses only.
    in_webhook_mode = clear(Config.from_env(ENV), clients)
    events = {
        c["CommandId"]: c["NotificationConfig"]["NotificationEvents"]
        for c in commands_in_moto(clients)
    }
    assert events == {
        in_app_mode: ["InProgress", "Success", "TimedOut", "Cancelled", "Failed"],
        in_webhook_mode: ["Success", "TimedOut", "Cancelled", "Failed"],
    }


@pytest.mark.parametrize("error", ["message_not_found", "not_in_channel"])
def test_a_message_slack_will_not_update_does_not_undo_the_retry(
    press: Press,
    app_mode: Config,
    clients: Clients,
    web_prod: list[str],
    slack_api: SlackWebApi,
    log: io.StringIO,
    error: str,
) -> None:
    # Given Slack refusing the update (the message deleted, the bot removed from the channel)
    first = stale_clear(app_mode, clients, web_prod)
    ts = posted_alert(slack_api, first)
    slack_api.fail_next("chat.update", error=error)

    # Then the press is still answered 200 and the retry was sent: its verdict will be posted
    assert press(signed_press(first, ts))["statusCode"] == 200
    assert len(sent_after(clients, first)) == 1
    [entry] = [
        e for e in emitted(log.getvalue()) if e.get("message") == "pressed message not updated"
    ]
    assert entry["error"] == error


# --- requests that are not Slack's --------------------------------------------------------------


def wrong_secret(command_id: str, ts: str) -> dict[str, Any]:
    return slack_press.press_event(
        command_id, signing_secret="0123456789abcdef0123456789abcdef", message_ts=ts
    )


def stale(command_id: str, ts: str) -> dict[str, Any]:
    # A press replayed six minutes after Slack signed it.
    return slack_press.press_event(
        command_id, signing_secret=SIGNING_SECRET, message_ts=ts, timestamp=int(time.time()) - 360
    )


def unsigned(command_id: str, ts: str) -> dict[str, Any]:
    return slack_press.press_event(command_id, signing_secret=None, message_ts=ts)


def tampered(command_id: str, ts: str) -> dict[str, Any]:
    # Someone else's press, signed by Slack, with the user changed to an allowed one.
    theirs = slack_press.form_body(
        slack_press.block_actions_payload(
            command_id=command_id, user_id=SOMEONE_ELSE, message_ts=ts
        )
    )
    ours = slack_press.form_body(
        slack_press.block_actions_payload(command_id=command_id, message_ts=ts)
    )
    when = str(int(time.time()))
    return slack_press.request_event(
        ours,
        signing_secret=SIGNING_SECRET,
        timestamp=int(when),
        signature_override=slack_press.signature(SIGNING_SECRET, when, theirs),
    )


def future(command_id: str, ts: str) -> dict[str, Any]:
    return slack_press.press_event(
        command_id, signing_secret=SIGNING_SECRET, message_ts=ts, timestamp=int(time.time()) + 360
    )


def bad_timestamp(command_id: str, ts: str) -> dict[str, Any]:
    event = signed_press(command_id, ts)
    event["headers"]["x-slack-request-timestamp"] = "1764741600.5"
    return event


def non_ascii_signature(command_id: str, ts: str) -> dict[str, Any]:
    event = signed_press(command_id, ts)
    event["headers"]["x-slack-signature"] = "v0=" + "é" * 64
    return event


def not_utf8_body(command_id: str, ts: str) -> dict[str, Any]:
    # Signed over its bytes with the right secret, yet not text: never Slack's.
    body = b"payload=\xff\xfe"
    return slack_press.request_event(body, signing_secret=SIGNING_SECRET)


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (wrong_secret, "mismatch"),
        (stale, "stale-timestamp"),
        (future, "stale-timestamp"),
        (unsigned, "missing"),
        (tampered, "mismatch"),
        (bad_timestamp, "malformed-timestamp"),
        (non_ascii_signature, "malformed-signature"),
        (not_utf8_body, "malformed-body"),
    ],
    ids=[
        "wrong-signature",
        "stale-timestamp",
        "future-timestamp",
        "no-signature",
        "tampered-body",
        "bad-timestamp",
        "non-ascii-signature",
        "not-utf8-body",
    ],
)
def test_a_request_not_signed_by_slack_is_401_and_sends_nothing(
    press: Press,
    app_mode: Config,
    clients: Clients,
    web_prod: list[str],
    slack_api: SlackWebApi,
    log: io.StringIO,
    build: Callable[[str, str], dict[str, Any]],
    reason: str,
) -> None:
    first = stale_clear(app_mode, clients, web_prod)
    ts = posted_alert(slack_api, first)
    calls_before = len(slack_api.calls)

    response = press(build(first, ts))

    assert response["statusCode"] == 401
    assert json.loads(response["body"])["error"] == {
        "status": 401,
        "rule": "slack-signature",
        "message": "invalid or missing Slack signature",
    }
    assert sent_after(clients, first) == []
    assert len(slack_api.calls) == calls_before
    assert len(slack_api.message(ts).versions) == 1
    [entry] = [
        e for e in emitted(log.getvalue()) if "signature check failed" in e.get("message", "")
    ]
    assert entry["reason"] == reason


def test_a_body_that_is_not_base64_is_refused_before_the_secret_is_read(
    press: Press, app_mode: Config, secret_reads: list[str]
) -> None:
    event = signed_press(UNKNOWN_ID, "1764741600.000100")
    event["body"] = "payload=%7B%22type%22" + "!"
    response = press(event)
    assert response["statusCode"] == 400
    assert secret_reads == []


# --- signed, but not someone allowed ---------------------------------------------------------


def test_a_press_by_someone_not_allowed_is_told_so_and_sends_nothing(
    press: Press, app_mode: Config, clients: Clients, web_prod: list[str], slack_api: SlackWebApi
) -> None:
    first = stale_clear(app_mode, clients, web_prod)
    ts = posted_alert(slack_api, first)

    response = press(signed_press(first, ts, user_id=SOMEONE_ELSE, user_name="mallory"))

    assert response["statusCode"] == 200
    assert sent_after(clients, first) == []
    [ephemeral] = slack_api.ephemerals
    assert (ephemeral.channel, ephemeral.user) == (CHANNEL, SOMEONE_ELSE)
    assert ephemeral.text.startswith("You may not ask for a retry")
    assert SOMEONE_ELSE in ephemeral.text
    assert len(slack_api.message(ts).versions) == 1


def test_an_empty_allowed_list_allows_no_one(
    press: Press,
    app_mode: Config,
    clients: Clients,
    web_prod: list[str],
    slack_api: SlackWebApi,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        handler, "config", dataclasses.replace(app_mode, slack_allowed_users=frozenset())
    )
    first = stale_clear(app_mode, clients, web_prod)
    ts = posted_alert(slack_api, first)

    assert press(signed_press(first, ts))["statusCode"] == 200
    assert sent_after(clients, first) == []
    [ephemeral] = slack_api.ephemerals
    assert ephemeral.user == ALLOWED_USER


# --- the retry's refusals -----------------------------------------------------------------------


def api_refusal(settings: Config, clients: Clients, command_id: str) -> tuple[int, str]:
    """What POST /flush/{commandId}/retry answers for the same clear."""
    event = stored_event("api-retry.json")
    event["pathParameters"] = {"commandId": command_id}
    response = handler.handle(event, settings, clients).response
    return response["statusCode"], json.loads(response["body"])["error"]["message"]


@pytest.mark.parametrize("case", ["running", "ok", "unknown", "not-a-command-id"])
def test_the_retrys_refusals_are_told_in_the_api_s_words_and_send_nothing(
    press: Press,
    app_mode: Config,
    clients: Clients,
    web_prod: list[str],
    slack_api: SlackWebApi,
    case: str,
) -> None:
    # Given a clear still running, one that ended ok, an id this stack never sent, or junk
    if case == "unknown":
        command_id = UNKNOWN_ID
    elif case == "not-a-command-id":
        command_id = "i-0abc; rm -rf /"
    else:
        command_id = clear(app_mode, clients)
        if case == "ok":
            judge(clients, command_id, [])
    ts = posted_alert(slack_api, command_id)
    before = commands_in_moto(clients)

    response = press(signed_press(command_id, ts))

    # Then Slack gets its 200, the presser reads what the API would have said, nothing is sent
    assert response["statusCode"] == 200
    status, message = api_refusal(app_mode, clients, command_id)
    assert status == {"running": 409, "ok": 409, "unknown": 404, "not-a-command-id": 400}[case]
    [ephemeral] = slack_api.ephemerals
    assert ephemeral.user == ALLOWED_USER
    assert ephemeral.text.startswith("The retry was refused: ")
    assert message in ephemeral.text
    assert commands_in_moto(clients) == before
    assert len(slack_api.message(ts).versions) == 1


def test_a_retry_while_the_stop_alarm_fires_is_told_and_sends_nothing(
    press: Press,
    app_mode: Config,
    clients: Clients,
    web_prod: list[str],
    slack_api: SlackWebApi,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = stale_clear(app_mode, clients, web_prod)
    ts = posted_alert(slack_api, first)
    # Given the stack's stop alarm firing by the time someone presses
    alarm = "web-prod-database-struggling"
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    cloudwatch.put_metric_alarm(
        AlarmName=alarm,
        Namespace="AWS/RDS",
        MetricName="CPUUtilization",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=80.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="CPU 97%")
    monkeypatch.setattr(handler, "config", dataclasses.replace(app_mode, stop_alarm_name=alarm))
    handler.clients.cache_clear()

    assert press(signed_press(first, ts))["statusCode"] == 200

    assert sent_after(clients, first) == []
    [ephemeral] = slack_api.ephemerals
    assert alarm in ephemeral.text
    assert "CPU 97%" in ephemeral.text


# --- what is ignored ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        {"action_id": "something_else"},
        {"block_id": "another_block"},
    ],
    ids=["other-action", "other-block"],
)
def test_another_signed_interaction_is_200_and_does_nothing(
    press: Press,
    app_mode: Config,
    clients: Clients,
    web_prod: list[str],
    slack_api: SlackWebApi,
    log: io.StringIO,
    payload: dict[str, str],
) -> None:
    first = stale_clear(app_mode, clients, web_prod)
    ts = posted_alert(slack_api, first)
    calls = len(slack_api.calls)

    assert press(signed_press(first, ts, **payload))["statusCode"] == 200

    assert sent_after(clients, first) == []
    assert len(slack_api.calls) == calls
    assert any(
        "not a press of the retry button" in e.get("message", "") for e in emitted(log.getvalue())
    )


def test_a_signed_view_submission_is_200_and_does_nothing(
    press: Press, app_mode: Config, clients: Clients, slack_api: SlackWebApi
) -> None:
    body = slack_press.form_body({"type": "view_submission", "user": {"id": ALLOWED_USER}})
    response = press(slack_press.request_event(body, signing_secret=SIGNING_SECRET))
    assert response["statusCode"] == 200
    assert commands_in_moto(clients) == []
    assert slack_api.calls == []


# --- the slash command ---------------------------------------------------------------------


def reply_of(response: dict[str, Any]) -> str:
    assert response["statusCode"] == 200
    body = json.loads(response["body"])
    assert body["response_type"] == "ephemeral"
    return str(body["text"])


def test_a_slash_command_by_an_allowed_user_clears_the_group(
    press: Press, app_mode: Config, clients: Clients, web_prod: list[str], slack_api: SlackWebApi
) -> None:
    event = slack_press.slash_command_event("clear web-prod config:", signing_secret=SIGNING_SECRET)

    reply = reply_of(press(event))

    [command] = commands_in_moto(clients)
    assert command["Targets"] == [{"Key": "tag:aws:autoscaling:groupName", "Values": ["web-prod"]}]
    assert command["Parameters"] == {"action": ["clear-apcu"], "prefix": ["config:"]}
    assert command["Comment"] == f"slack:{ALLOWED_USER} (alice)"
    assert command["NotificationConfig"]["NotificationEvents"][0] == "InProgress"
    assert reply.startswith(
        "202: clear of the keys starting config: sent to web-prod (3 InService)"
    )
    assert command["CommandId"] in reply
    # The answer is the HTTP response itself: no Web API call
    assert slack_api.calls == []


@pytest.mark.parametrize(
    ("text", "user", "starts"),
    [
        ("clear web-prod", SOMEONE_ELSE, "You may not clear from Slack"),
        ("clear web-prod rm;-rf", ALLOWED_USER, "400 pattern: "),
        ("clear web-secret", ALLOWED_USER, "400 allowed-groups: "),
        ("flush web-prod", ALLOWED_USER, "Usage: /apcu-flush clear <group> [prefix]"),
        ("", ALLOWED_USER, "Usage: /apcu-flush clear <group> [prefix]"),
    ],
    ids=["someone-else", "bad-prefix", "group-not-allowed", "unknown-verb", "no-text"],
)
def test_a_slash_command_that_is_refused_sends_nothing_and_says_why(
    press: Press,
    app_mode: Config,
    clients: Clients,
    web_prod: list[str],
    text: str,
    user: str,
    starts: str,
) -> None:
    event = slack_press.slash_command_event(text, signing_secret=SIGNING_SECRET, user_id=user)
    assert reply_of(press(event)).startswith(starts)
    assert commands_in_moto(clients) == []


def test_a_slash_command_while_a_clear_runs_gets_the_apis_409(
    press: Press, app_mode: Config, clients: Clients, web_prod: list[str]
) -> None:
    running = clear(app_mode, clients)
    event = slack_press.slash_command_event("clear web-prod", signing_secret=SIGNING_SECRET)

    reply = reply_of(press(event))

    assert reply.startswith("409 clear-in-progress: ")
    assert running in reply
    assert [c["CommandId"] for c in commands_in_moto(clients)] == [running]


def test_an_unsigned_slash_command_is_401_and_sends_nothing(
    press: Press, app_mode: Config, clients: Clients, web_prod: list[str]
) -> None:
    response = press(slack_press.slash_command_event("clear web-prod", signing_secret=None))
    assert response["statusCode"] == 401
    assert commands_in_moto(clients) == []


# --- webhook mode ------------------------------------------------------------------------------


@pytest.fixture
def secret_reads(aws: None) -> Iterator[list[str]]:
    """Every Secrets Manager call made by a client of boto3's default session from now on."""
    calls: list[str] = []
    boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register(
        "before-call.secrets-manager", lambda model, **_: calls.append(model.name)
    )
    handler.slack_reader.cache_clear()
    yield calls
    handler.slack_reader.cache_clear()
    boto3.DEFAULT_SESSION = None


def test_in_webhook_mode_the_route_is_404_and_reads_no_secret(
    log: io.StringIO,
    clients: Clients,
    web_prod: list[str],
    app_secret_arn: str,
    slack_api: SlackWebApi,
    secret_reads: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a stack in webhook mode (the default), even one whose app secret exists
    settings = Config.from_env({**ENV, "SLACK_APP_SECRET_ARN": app_secret_arn})
    assert not settings.slack.is_app
    monkeypatch.setattr(handler, "config", settings)
    first = stale_clear(settings, clients, web_prod)

    # When a correctly signed press arrives
    response = handler.lambda_handler(signed_press(first, "1764741600.000100"), Context())

    # Then it is 404, the secret is never read, nothing is sent and Slack is not called
    assert response["statusCode"] == 404
    assert secret_reads == []
    assert sent_after(clients, first) == []
    assert slack_api.calls == []

    # While the same press in app mode reads it (so this test can see a read)
    monkeypatch.setattr(handler, "config", app_config(app_secret_arn, slack_api.base_url))
    handler.lambda_handler(signed_press(first, "1764741600.000100"), Context())
    assert secret_reads == ["GetSecretValue"]


def test_webhook_mode_never_imports_slack_sdk() -> None:
    # The cold start of the default mode must not pay for slack_sdk, even when the Slack
    # route is called, nor for the route's module until a Slack request comes.
    folder = Path(handler.__file__).resolve().parents[1]
    event = json.dumps(slack_press.press_event(UNKNOWN_ID, signing_secret=SIGNING_SECRET))
    code = (
        "import json, sys, app\n"
        "cold = 'apcu_dispatcher.slack_actions' in sys.modules\n"
        "from apcu_dispatcher import handler\n"
        f"answer = handler.handle(json.loads({event!r}), handler.config, None)\n"
        "sdk = any(m.startswith('slack_sdk') for m in sys.modules)\n"
        "print(answer.response['statusCode'], sdk, cold)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=folder,
        env={**ENV, "PYTHONPATH": str(folder.parent / "clear"), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.splitlines()[-1].split() == ["404", "False", "False"]


# --- settings -----------------------------------------------------------------------------------


def test_allowed_users_are_slack_user_ids() -> None:
    config = Config.from_env({**ENV, "SLACK_ALLOWED_USERS": " U0123ABCD,,W0ENTGRID1 "})
    assert config.slack_allowed_users == frozenset({"U0123ABCD", "W0ENTGRID1"})
    assert Config.from_env(ENV).slack_allowed_users == frozenset()


@pytest.mark.parametrize(
    "value", ["alice", "alice@example.com", "u0123abcd", "C0APCUFLUSH", "<@U0123ABCD>"]
)
def test_a_name_in_the_allowed_users_is_refused_at_start(value: str) -> None:
    with pytest.raises(
        ConfigError, match="SLACK_ALLOWED_USERS must be comma-separated Slack user ids"
    ):
        Config.from_env({**ENV, "SLACK_ALLOWED_USERS": f"U0123ABCD,{value}"})


def test_app_mode_without_its_secret_is_refused_at_start() -> None:
    with pytest.raises(ConfigError, match="SLACK_APP_SECRET_ARN"):
        Config.from_env({**ENV, "SLACK_MODE": "app"})


def test_an_unfilled_app_secret_fails_the_press_without_saying_its_value(
    monkeypatch: pytest.MonkeyPatch,
    log: io.StringIO,
    clients: Clients,
    slack_api: SlackWebApi,
) -> None:
    # Given the secret the stack created, still holding its placeholder
    secrets = boto3.client("secretsmanager", region_name="us-east-1")
    placeholder = {"botToken": "REPLACE_ME", "signingSecret": "REPLACE_ME", "channel": "REPLACE_ME"}
    arn = secrets.create_secret(Name="created", SecretString=json.dumps(placeholder))["ARN"]
    monkeypatch.setattr(handler, "config", app_config(arn, slack_api.base_url))
    handler.slack_reader.cache_clear()

    # Then a press gets 503 and is checked no further; the log says what to do. (No alert:
    # the notifier cannot post a message with a button either, and that is what alerts.)
    response = handler.lambda_handler(signed_press(UNKNOWN_ID, "1764741600.000100"), Context())
    assert response["statusCode"] == 503
    assert json.loads(response["body"])["error"]["rule"] == "slack-app-secret"
    assert commands_in_moto(clients) == []
    assert slack_api.calls == []
    logged = log.getvalue()
    assert "still holds the placeholder REPLACE_ME" in logged
    assert "request failed" not in logged

    # And once the operator fills it, the next press reads it at once (not 15 minutes later)
    filled = {"botToken": BOT_TOKEN, "signingSecret": SIGNING_SECRET, "channel": CHANNEL}
    secrets.put_secret_value(SecretId=arn, SecretString=json.dumps(filled))
    response = handler.lambda_handler(signed_press(UNKNOWN_ID, "1764741600.000100"), Context())
    assert response["statusCode"] == 200
    [ephemeral] = slack_api.ephemerals
    assert "no clear" in ephemeral.text
    assert SIGNING_SECRET not in log.getvalue()
    handler.slack_reader.cache_clear()


def test_the_stored_press_event_is_what_the_harness_builds() -> None:
    stored = stored_event("slack-press-retry.json")
    body = base64.b64decode(stored["body"])
    assert stored["headers"]["x-slack-signature"] == slack_press.signature(
        SIGNING_SECRET, stored["headers"]["x-slack-request-timestamp"], body
    )
    assert stored["routeKey"] == slack_press.ROUTE_KEY


def test_the_press_is_of_the_button_the_notifier_posts() -> None:
    # The harness's alert carries the notifier's own button (block, action, value).
    from apcu_notifier.app_messages import retry_button
    from apcu_notifier.config import Language

    ours = slack_press.alert_message(UNKNOWN_ID)["blocks"][-1]
    theirs = retry_button(UNKNOWN_ID, 2, Language.EN)
    assert ours["block_id"] == theirs["block_id"] == "apcu_retry"
    [our_button], [their_button] = ours["elements"], theirs["elements"]
    assert (our_button["action_id"], our_button["value"]) == (
        their_button["action_id"],
        their_button["value"],
    )
    assert our_button["text"]["text"] == their_button["text"]["text"]


def test_a_slash_commands_text_is_read_as_typed_not_as_slack_escaped_it() -> None:
    from apcu_dispatcher.slack_command import unescape

    # Slack sends "a<b & c>d" as "a&lt;b &amp; c&gt;d"; a typed "&lt;" arrives "&amp;lt;".
    assert unescape("a&lt;b &amp; c&gt;d") == "a<b & c>d"
    assert unescape("&amp;lt;") == "&lt;"
