"""Says whether the Slack secret the stack's mode reads is filled, without ever printing its value.

The deploy workflow runs this before it asks for a review of the change set and again after
the deploy: while the secret holds the placeholder the stack creates it with, or a value the
functions refuse, no verdict can be posted (src/notifier/apcu_notifier/secret.py,
src/clear/apcu_clear/slack_app.py), so every clear's verdict would wait in the notifier's
failure queue and a gate waiting for one could only time out. This fails at once instead,
saying how to fill the secret.

The stack's SlackMode parameter says which secret that is: webhook mode reads the webhook
secret (output SlackWebhookSecretArn), app mode the app secret (output SlackAppSecretArn),
JSON {"botToken", "signingSecret", "channel"}. The other mode's secret is neither read nor
required: an app-mode stack given a webhook secret nobody filled passes.

    python .github/scripts/slack_secret_state.py --stack apcu-fleet-flush-prod --region ap-northeast-1

Prints the state on its first line: "filled", "placeholder", "malformed", "unreadable" or
"no stack yet" (a first deploy creates the secret), then the mode and the secret's ARN.
Exit 0 for filled and no stack yet, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import botocore.session
from botocore.exceptions import BotoCoreError, ClientError

WEBHOOK = "webhook"
APP = "app"
# template.yaml's SlackMode default: a stack deployed before app mode existed has no such
# parameter, and reads the webhook secret.
DEFAULT_MODE = WEBHOOK

# What template.yaml's created secrets hold until someone fills them: the webhook secret's
# whole value, and each value of the app secret's JSON. tests/ci keeps them equal.
WEBHOOK_PLACEHOLDER = "REPLACE_ME_WITH_THE_SLACK_WEBHOOK_URL"
APP_PLACEHOLDER = "REPLACE_ME"

# The checks the functions make when they read the secret (parse_webhook, parse_app_secret):
# the gate passes what they accept and nothing else. tests/ci runs both on the same values.
_BOT_TOKEN = re.compile(r"xoxb-[A-Za-z0-9-]{10,}")
_SIGNING_SECRET = re.compile(r"[0-9a-f]{16,}")
_CHANNEL = re.compile(r"[CGD][A-Z0-9]{6,}")
_APP_KEYS = (
    ("botToken", _BOT_TOKEN, "a bot token, xoxb-…"),
    ("signingSecret", _SIGNING_SECRET, "the app's signing secret, hexadecimal"),
    ("channel", _CHANNEL, "a channel id such as C0123ABCD, not its name"),
)


@dataclass(frozen=True)
class Secret:
    """The secret one mode reads: the stack output naming it, and how to fill it."""

    output: str
    what: str
    how_to_fill: str


SECRETS = {
    WEBHOOK: Secret(
        output="SlackWebhookSecretArn",
        what="Slack webhook secret",
        how_to_fill=(
            "put the Slack incoming webhook URL in it (aws secretsmanager put-secret-value "
            "--secret-id {arn} --secret-string "
            '\'{{"url": "https://hooks.slack.com/services/..."}}\'; '
            'docs/deploy.md, "Before the first clear: the Slack webhook"), then re-run this job'
        ),
    ),
    APP: Secret(
        output="SlackAppSecretArn",
        what="Slack app secret",
        how_to_fill=(
            'write {{"botToken": "xoxb-…", "signingSecret": "…", "channel": "C0123ABCD"}} to a '
            "file and put it in the secret (aws secretsmanager put-secret-value --secret-id "
            '{arn} --secret-string file://slack-app.json; docs/deploy.md, "Slack app mode", '
            '"3. Fill the secret"), then re-run this job'
        ),
    ),
}


@dataclass(frozen=True)
class Found:
    state: str
    mode: str = ""
    arn: str = ""
    # What is wrong, in words that never quote the value: a key's name, an error code.
    reason: str = ""


def _code(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "ClientError"))
    return type(error).__name__


def judge_webhook(value: str) -> tuple[str, str]:
    """("filled" | "placeholder" | "malformed", why) for the webhook secret's value."""
    text = value.strip()
    if not text:
        return "malformed", "is empty"
    if text == WEBHOOK_PLACEHOLDER:
        return "placeholder", ""
    if text.startswith("{"):
        try:
            document: Any = json.loads(text)
        except ValueError:
            document = None
        url = document.get("url") if isinstance(document, dict) else None
        if not isinstance(url, str):
            return "malformed", 'is JSON without a string "url" key'
        text = url.strip()
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        return "malformed", "does not hold an http(s) URL with a host"
    if parts.scheme not in ("https", "http") or not host or any(c.isspace() for c in text):
        return "malformed", "does not hold an http(s) URL with a host"
    return "filled", ""


def judge_app(value: str) -> tuple[str, str]:
    """("filled" | "placeholder" | "malformed", why) for the app secret's value."""
    if not value.strip():
        return "malformed", "is empty"
    try:
        document: Any = json.loads(value)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        return "malformed", (
            'is not a JSON object {"botToken": "xoxb-…", "signingSecret": "…", "channel": "C…"}'
        )
    values = [document.get(name) for name, _, _ in _APP_KEYS]
    if APP_PLACEHOLDER in (v for v in values if isinstance(v, str)):
        return "placeholder", ""
    wrong = [
        f"{name} ({what})"
        for (name, pattern, what), found in zip(_APP_KEYS, values, strict=True)
        if not (isinstance(found, str) and pattern.fullmatch(found.strip()))
    ]
    if wrong:
        return "malformed", f"lacks a valid {', '.join(wrong)}"
    return "filled", ""


JUDGES = {WEBHOOK: judge_webhook, APP: judge_app}


def state(cloudformation: Any, secretsmanager: Any, stack: str) -> Found:
    """What the secret the stack's SlackMode reads holds, as a state and never as its value.

    Raises ClientError or BotoCoreError when the stack itself cannot be read."""
    try:
        found = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as error:
        # CloudFormation answers ValidationError "Stack with id ... does not exist".
        if _code(error) == "ValidationError" and "does not exist" in str(error):
            return Found("no stack yet")
        raise
    parameters = {
        p["ParameterKey"]: p.get("ParameterValue", "") for p in found[0].get("Parameters", [])
    }
    outputs = {o["OutputKey"]: o["OutputValue"] for o in found[0].get("Outputs", [])}
    mode = parameters.get("SlackMode") or DEFAULT_MODE
    if mode not in SECRETS:
        return Found("unknown mode", mode, reason=f"SlackMode {mode!r} is neither webhook nor app")
    arn = outputs.get(SECRETS[mode].output, "")
    if not arn:
        # A stack whose first change set is not executed yet, or whose creation rolled back,
        # has no outputs: the deploy creates the secret, and the check after it reads it.
        return Found("no stack yet", mode)
    try:
        reply = secretsmanager.get_secret_value(SecretId=arn)
    except ClientError as error:
        return Found("unreadable", mode, arn, _code(error))
    value = reply.get("SecretString")
    if not isinstance(value, str):
        return Found("malformed", mode, arn, "holds binary data, not a string")
    # Only this judgement ever sees the value; it is neither kept nor printed.
    judged, why = JUDGES[mode](value)
    return Found(judged, mode, arn, why)


def _explain(found: Found, stack: str) -> str:
    """The ::error:: line for a state that fails the run."""
    if found.state == "unknown mode":
        return f"::error::the stack {stack}'s {found.reason}: this check knows no secret for it"
    secret = SECRETS[found.mode]
    where = f"the {secret.what} {found.arn}"
    if found.state == "unreadable":
        return (
            f"::error::cannot read {where} of {stack}: {found.reason}. The role running this "
            'job needs secretsmanager:GetSecretValue on it (docs/deploy.md, "Deploying from '
            'GitHub Actions")'
        )
    if found.state == "placeholder":
        what = "still holds the placeholder the stack created it with"
    else:
        what = found.reason
    return (
        f"::error::{where} {what}, so no verdict can be posted and every clear's would wait "
        "in the notifier's failure queue: " + secret.how_to_fill.format(arn=found.arn)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--stack", required=True)
    parser.add_argument("--region", required=True)
    args = parser.parse_args(argv)
    session = botocore.session.get_session()
    try:
        found = state(
            session.create_client("cloudformation", region_name=args.region),
            session.create_client("secretsmanager", region_name=args.region),
            args.stack,
        )
    except (ClientError, BotoCoreError) as error:
        # The code only: a message could quote more than this script means to show.
        print(f"::error::cannot read the stack {args.stack}: {_code(error)}")
        return 1
    print(found.state)
    if found.mode in SECRETS:
        print(f"SlackMode {found.mode}: the {SECRETS[found.mode].what} {found.arn or '(none yet)'}")
    if found.state in ("filled", "no stack yet"):
        return 0
    print(_explain(found, args.stack))
    return 1


if __name__ == "__main__":
    sys.exit(main())
