"""`make demo SLACK=app`: one clear living in one Slack message, on this machine.

The same embedded AWS and real functions as the other scenarios, with the stack in Slack app
mode: the Slack Web API stand-in (harness/slack_web_api.py) plays Slack on 127.0.0.1, and the
local HTTP API (local/api_gateway.py) carries the button's press, signed as Slack signs it, to
the dispatcher's POST /slack/actions.

    the clear starts      -> one message is posted (chat.postMessage)
    one instance fails    -> the message is updated to the alert (chat.update), a thread reply
                             notifies the channel, and the alert carries the retry button
    someone not allowed   -> presses: an ephemeral "you may not", nothing sent
    an allowed user       -> presses: the retry is sent and the message says who asked
    the retry clears      -> the same message is updated to ok; still one top-level message

The notifier runs with no automatic retry round (RETRY_MISSED=0) so that the alert, and its
button, is what the first command leaves.
"""

from __future__ import annotations

import json
import time
import urllib.request

from harness import slack_press
from harness.slack_web_api import BOT_TOKEN, CHANNEL, SIGNING_SECRET, Message, SlackWebApi
from local.api_gateway import ApiGateway, in_fresh_process
from local.embedded_aws import REGION, EmbeddedAws
from local.run import EVENTS, GROUP, GROUP_SIZE, OUT, function_env, invoke, sns_event
from local.scenarios import everyone_clears, one_fails
from local.slack_receiver import render
from local.steps import step

ALLOWED_USER = "U0APCUOPS"
OUTSIDER = "U0APCUDEV"
TOTAL = 9


class AppDemoFailed(Exception):
    pass


def app_secret(aws: EmbeddedAws) -> str:
    """The app secret as an operator fills it (docs/deploy.md), with the stand-in's values."""
    value = json.dumps({"botToken": BOT_TOKEN, "signingSecret": SIGNING_SECRET, "channel": CHANNEL})
    answer = aws.client("secretsmanager").create_secret(
        Name="apcu-fleet-flush-slack-app-local", SecretString=value
    )
    return str(answer["ARN"])


def app_env(env: dict[str, str], secret_arn: str, slack: SlackWebApi) -> dict[str, str]:
    return {
        **env,
        "SLACK_MODE": "app",
        "SLACK_APP_SECRET_ARN": secret_arn,
        "SLACK_API_URL": slack.base_url,
        "SLACK_ALLOWED_USERS": ALLOWED_USER,
    }


def show(message: Message, what: str) -> None:
    print(f"        {what}:", flush=True)
    print(render({"text": message.text, "blocks": message.blocks}, indent="        │ "))


def press(api: ApiGateway, command_id: str, user: str, message: Message) -> int:
    """Press the retry button as Slack would: a signed form POST to the interactivity URL."""
    payload = slack_press.block_actions_payload(
        command_id=command_id,
        user_id=user,
        user_name="ops" if user == ALLOWED_USER else "dev",
        channel=message.channel,
        message_ts=message.ts,
        message={
            "type": "message",
            "ts": message.ts,
            "text": message.text,
            "blocks": message.blocks,
        },
    )
    body = slack_press.form_body(payload)
    timestamp = str(int(time.time()))
    request = urllib.request.Request(  # noqa: S310 - the local API on 127.0.0.1
        api.url.removesuffix("/flush") + slack_press.PATH,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": slack_press.signature(SIGNING_SECRET, timestamp, body),
        },
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
        return int(answer.status)


def run_app(aws: EmbeddedAws, lang: str) -> str:
    """The flow above; returns the clear's final verdict."""
    started = time.monotonic()
    aws.reset()
    log = OUT / "slack-app.log"
    log.write_text("", encoding="utf-8")
    console_event = json.loads((EVENTS / "dispatcher" / "console-clear-all.json").read_text())
    with SlackWebApi(bot_token=BOT_TOKEN, channels=(CHANNEL,)) as slack:
        # The webhook is not used in app mode; the stack still has its secret.
        stack = aws.deploy(group=GROUP, size=GROUP_SIZE, webhook_url=slack.base_url)
        secret_arn = app_secret(aws)
        dispatcher_env = app_env(function_env(aws, stack, "dispatcher", lang), secret_arn, slack)
        notifier_env = app_env(function_env(aws, stack, "notifier", lang), secret_arn, slack)
        step(
            1,
            TOTAL,
            f"deployed in app mode: group {stack.group}; Slack Web API on {slack.base_url}",
        )

        answer = invoke("dispatcher", console_event, dispatcher_env, log).get("result", {})
        first = answer.get("body", {}).get("commandId")
        if answer.get("statusCode") != 202 or not first:
            raise AppDemoFailed(f"dispatcher answered {json.dumps(answer)}")
        events = aws.client("ssm").list_commands(CommandId=first)["Commands"][0]
        step(
            2,
            TOTAL,
            f"dispatcher: command {first} sent; SSM notifies "
            f"{', '.join(events['NotificationConfig']['NotificationEvents'])}",
        )

        invoke("notifier", sns_event(aws, stack, first, "InProgress"), notifier_env, log)
        posted = slack.top_level(CHANNEL)
        if len(posted) != 1:
            raise AppDemoFailed(f"the clear's start posted {len(posted)} messages, expected 1")
        [message] = posted
        step(3, TOTAL, f"SNS InProgress: the notifier posts the clear's message (ts {message.ts})")
        show(message, "posted")

        outcome = one_fails(aws, stack, first)
        result = invoke("notifier", sns_event(aws, stack, first, outcome.status), notifier_env, log)
        if not result.get("ok"):
            raise AppDemoFailed(f"notifier raised {result['errorType']}: {result['errorMessage']}")
        message = slack.message(message.ts)
        replies = slack.replies(message.ts)
        broadcast = [r for r in replies if r.reply_broadcast]
        step(
            4,
            TOTAL,
            f"fleet: {outcome.summary}; the notifier updates the message in place, "
            f"{len(replies)} thread repl{'y' if len(replies) == 1 else 'ies'}, "
            f"{len(broadcast)} also sent to the channel",
        )
        show(message, "updated")
        for reply in broadcast:
            show(reply, "thread reply, also sent to the channel")

        with ApiGateway(in_fresh_process(dispatcher_env, log), region=REGION) as api:
            status = press(api, first, OUTSIDER, message)
            sent = len(aws.client("ssm").list_commands()["Commands"])
            if status != 200 or sent != 1 or len(slack.ephemerals) != 1:
                raise AppDemoFailed(
                    f"a press by {OUTSIDER}: HTTP {status}, {sent} command(s), "
                    f"{len(slack.ephemerals)} ephemeral message(s)"
                )
            [ephemeral] = slack.ephemerals
            step(
                5,
                TOTAL,
                f"{OUTSIDER} (not in SLACK_ALLOWED_USERS) presses: HTTP {status}, "
                f"only they see: {ephemeral.text!r}; nothing sent",
            )

            status = press(api, first, ALLOWED_USER, message)
        commands = aws.client("ssm").list_commands()["Commands"]
        retries = [c["CommandId"] for c in commands if c["CommandId"] != first]
        if status != 200 or len(retries) != 1:
            raise AppDemoFailed(f"an allowed press: HTTP {status}, retries {retries}")
        [retry] = retries
        message = slack.message(message.ts)
        step(
            6,
            TOTAL,
            f"{ALLOWED_USER} presses: HTTP {status}; retry {retry} sent; the message says so",
        )
        show(message, "updated")

        again = everyone_clears(aws, stack, retry)
        result = invoke("notifier", sns_event(aws, stack, retry, again.status), notifier_env, log)
        verdicts = [o.get("verdict") for o in result.get("result", {}).get("outcomes", [])]
        message = slack.message(message.ts)
        step(
            7,
            TOTAL,
            f"fleet: {again.summary}; the notifier's verdict {verdicts}: the same message updated",
        )
        show(message, "updated")

        own = [m for m in slack.top_level(CHANNEL) if not m.is_reply]
        # Every Web API call the functions made, in order (the token left out).
        (OUT / "slack-app.calls.json").write_text(
            json.dumps(slack.calls, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
        )
        step(
            8,
            TOTAL,
            f"{len(own)} message of its own in the channel, {len(message.versions)} versions of "
            f"it, {len(slack.replies(message.ts))} thread replies (the alert's also sent to the "
            "channel), "
            f"{time.monotonic() - started:.1f} s from the request",
        )
        (OUT / "slack-app.slack.json").write_text(
            json.dumps(
                [{"text": v.text, "blocks": v.blocks} for v in message.versions],
                ensure_ascii=False,
                indent=2,
            ),
            encoding="utf-8",
        )
        verdict = verdicts[0] if len(verdicts) == 1 else "none"
        if len(own) != 1 or verdict != "ok":
            raise AppDemoFailed(f"{len(own)} messages of the clear's own, verdict {verdict}")
        step(
            TOTAL,
            TOTAL,
            f"verdict {verdict}, one message from start to end (logs: {log.relative_to(OUT.parent.parent)})",
        )
        return str(verdict)
