""".github/scripts/slack_secret_state.py, the deploy workflow's check of the Slack secret,
against moto: it reads the stack's SlackMode, checks the secret that mode reads (the webhook
secret, or the app secret's bot token, signing secret and channel), fails at once on the
placeholder or a value the functions would refuse, passes a filled secret and a first deploy,
and never prints a secret's value."""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from apcu_clear.slack_app import AppSecretError, parse_app_secret, parse_webhook
from harness import cfn_template

SCRIPT = Path(__file__).resolve().parents[2] / ".github" / "scripts" / "slack_secret_state.py"
REGION = "ap-northeast-1"
STACK = "apcu-fleet-flush-prod"
WEBHOOK = "https://hooks.slack.com/services/T0SECRET/B0SECRET/abcdefSECRETxyz"
BOT_TOKEN = "xoxb-1234-5678-SECRETtoken"
SIGNING_SECRET = "5ec7e75ec7e7abcdef0123456789abcd"
APP = {"botToken": BOT_TOKEN, "signingSecret": SIGNING_SECRET, "channel": "C0APCUFLUSH"}
# Marks in the test secrets' values (webhook path, bot token, signing secret) that must never
# reach the log.
NEVER_PRINTED = ("SECRET", "5ec7e7")


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("slack_secret_state", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up by name while the script is being executed.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


state_script = _load()


def _created_with(logical_id: str) -> str:
    """The SecretString template.yaml creates a Slack secret with."""
    value = cfn_template.load()["Resources"][logical_id]["Properties"]["SecretString"]
    assert isinstance(value, str)
    return value


WEBHOOK_PLACEHOLDER = _created_with("SlackWebhookSecret")
APP_PLACEHOLDER = _created_with("SlackAppSecret")


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


def _stack(mode: str | None, secrets: dict[str, str]) -> dict[str, str]:
    """A stack deployed with SlackMode `mode` (None: a stack from before the parameter) whose
    outputs name one secret per entry, {output: value}; answers {output: the secret's ARN}."""
    client = boto3.client("secretsmanager", region_name=REGION)
    arns = {
        output: str(client.create_secret(Name=f"{output}-Q1w2E3r4T5y6", SecretString=value)["ARN"])
        for output, value in secrets.items()
    }
    # The stack's parameter and outputs as template.yaml gives them; moto's CloudFormation has
    # no secret resource, so each ARN comes in through a parameter of its own.
    template: dict[str, Any] = {
        "Parameters": {output: {"Type": "String"} for output in arns},
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {output: {"Value": {"Ref": output}} for output in arns},
    }
    parameters = [{"ParameterKey": k, "ParameterValue": v} for k, v in arns.items()]
    if mode is not None:
        template["Parameters"]["SlackMode"] = {"Type": "String", "Default": "webhook"}
        parameters.append({"ParameterKey": "SlackMode", "ParameterValue": mode})
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName=STACK, TemplateBody=json.dumps(template), Parameters=parameters
    )
    return arns


def _run(capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = state_script.main(["--stack", STACK, "--region", REGION])
    captured = capsys.readouterr()
    out = captured.out + captured.err
    for secret in NEVER_PRINTED:
        assert secret not in out, "a secret's value reached the log"
    return code, out


# ------------------------------------------------------------------------------ webhook mode


@pytest.mark.parametrize("value", [WEBHOOK, json.dumps({"url": WEBHOOK})], ids=["url", "json"])
@pytest.mark.parametrize("mode", ["webhook", None], ids=["webhook", "before-slack-mode"])
def test_webhook_mode_a_filled_secret_passes(
    aws: None, capsys: pytest.CaptureFixture[str], value: str, mode: str | None
) -> None:
    # A stack deployed before SlackMode existed reads the webhook secret, as it always did.
    arns = _stack(mode, {"SlackWebhookSecretArn": value})
    assert _run(capsys) == (
        0,
        f"filled\nSlackMode webhook: the Slack webhook secret {arns['SlackWebhookSecretArn']}\n",
    )


def test_webhook_mode_the_placeholder_fails_at_once_naming_the_secret_and_the_fix(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = _stack("webhook", {"SlackWebhookSecretArn": WEBHOOK_PLACEHOLDER})["SlackWebhookSecretArn"]
    started = time.monotonic()
    code, out = _run(capsys)
    assert time.monotonic() - started < 10, "fails fast, not after a gate's timeout"
    assert code == 1
    assert out.splitlines()[0] == "placeholder"
    assert f"::error::the Slack webhook secret {arn} still holds the placeholder" in out
    assert f"aws secretsmanager put-secret-value --secret-id {arn}" in out


def test_webhook_mode_a_value_the_notifier_refuses_fails(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = _stack("webhook", {"SlackWebhookSecretArn": json.dumps({"URL": WEBHOOK})})[
        "SlackWebhookSecretArn"
    ]
    code, out = _run(capsys)
    assert code == 1
    assert out.splitlines()[0] == "malformed"
    assert f'::error::the Slack webhook secret {arn} is JSON without a string "url" key' in out


def test_webhook_mode_a_missing_secret_fails_with_the_error_code_only(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = _stack("webhook", {"SlackWebhookSecretArn": WEBHOOK})["SlackWebhookSecretArn"]
    boto3.client("secretsmanager", region_name=REGION).delete_secret(
        SecretId=arn, ForceDeleteWithoutRecovery=True
    )
    code, out = _run(capsys)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "unreadable"
    assert lines[2].startswith(
        f"::error::cannot read the Slack webhook secret {arn} of {STACK}: ResourceNotFoundException."
    )


# ------------------------------------------------------------------------------ app mode


def test_app_mode_a_filled_secret_passes(aws: None, capsys: pytest.CaptureFixture[str]) -> None:
    arn = _stack("app", {"SlackAppSecretArn": json.dumps(APP)})["SlackAppSecretArn"]
    assert _run(capsys) == (0, f"filled\nSlackMode app: the Slack app secret {arn}\n")


def test_app_mode_the_placeholder_the_stack_creates_fails_at_once_naming_the_fix(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = _stack("app", {"SlackAppSecretArn": APP_PLACEHOLDER})["SlackAppSecretArn"]
    code, out = _run(capsys)
    assert code == 1
    assert out.splitlines()[0] == "placeholder"
    assert f"::error::the Slack app secret {arn} still holds the placeholder" in out
    assert f"put-secret-value --secret-id {arn} --secret-string file://slack-app.json" in out


def test_app_mode_one_value_still_the_placeholder_fails(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    _stack("app", {"SlackAppSecretArn": json.dumps({**APP, "channel": "REPLACE_ME"})})
    code, out = _run(capsys)
    assert (code, out.splitlines()[0]) == (1, "placeholder")


@pytest.mark.parametrize(
    "value",
    [
        # JSON cut short, with the token in it
        json.dumps(APP)[:-1],
        # the bot token alone, as someone might paste it
        BOT_TOKEN,
        json.dumps([APP]),
        # Secrets Manager keeps no empty string; blanks are as empty
        " \n",
    ],
    ids=["truncated", "token-only", "list", "blank"],
)
def test_app_mode_a_secret_that_is_not_a_json_object_fails(
    aws: None, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    arn = _stack("app", {"SlackAppSecretArn": value})["SlackAppSecretArn"]
    code, out = _run(capsys)
    assert code == 1
    assert out.splitlines()[0] == "malformed"
    assert f"::error::the Slack app secret {arn} is " in out


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"channel": None}, "channel"),
        ({"botToken": None}, "botToken"),
        ({"signingSecret": None}, "signingSecret"),
        ({"channel": ""}, "channel"),
        # a channel's name where its id belongs, a user token where the bot's belongs
        ({"channel": "#ops-alerts"}, "channel"),
        ({"botToken": "xoxp-1234-5678-SECRETtoken"}, "botToken"),
    ],
    ids=["no-channel", "no-bot-token", "no-signing-secret", "empty-channel", "name", "user-token"],
)
def test_app_mode_a_missing_or_wrong_key_fails_naming_the_key(
    aws: None, capsys: pytest.CaptureFixture[str], change: dict[str, str | None], named: str
) -> None:
    value = {k: v for k, v in {**APP, **change}.items() if v is not None}
    arn = _stack("app", {"SlackAppSecretArn": json.dumps(value)})["SlackAppSecretArn"]
    code, out = _run(capsys)
    assert code == 1
    assert out.splitlines()[0] == "malformed"
    error = next(line for line in out.splitlines() if line.startswith("::error::"))
    assert error.startswith(f"::error::the Slack app secret {arn} lacks a valid {named} (")
    others = {"botToken", "signingSecret", "channel"} - {named}
    assert not any(f"{other} (" in error for other in others), "only the wrong key is named"


@pytest.mark.parametrize("webhook_output", [True, False], ids=["webhook-output", "no-webhook"])
def test_app_mode_neither_reads_nor_requires_the_webhook_secret(
    aws: None, capsys: pytest.CaptureFixture[str], webhook_output: bool
) -> None:
    # Given an app-mode stack whose webhook secret, if it has one, nobody filled
    secrets = {"SlackAppSecretArn": json.dumps(APP)}
    if webhook_output:
        secrets["SlackWebhookSecretArn"] = WEBHOOK_PLACEHOLDER
    arn = _stack("app", secrets)["SlackAppSecretArn"]
    # Then the check reads the app secret only, and passes
    assert _run(capsys) == (0, f"filled\nSlackMode app: the Slack app secret {arn}\n")


def test_app_mode_an_app_secret_it_may_not_read_fails_naming_the_permission(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = _stack("app", {"SlackAppSecretArn": json.dumps(APP)})["SlackAppSecretArn"]
    boto3.client("secretsmanager", region_name=REGION).delete_secret(
        SecretId=arn, ForceDeleteWithoutRecovery=True
    )
    code, out = _run(capsys)
    assert code == 1
    assert out.splitlines()[0] == "unreadable"
    assert f"cannot read the Slack app secret {arn} of {STACK}" in out
    assert "secretsmanager:GetSecretValue" in out


# ------------------------------------------------------------------------------ either mode


def test_a_first_deploy_has_no_stack_yet_and_passes(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys) == (0, "no stack yet\n")


def test_a_stack_without_the_secrets_output_yet_passes(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # A stack whose first change set is still under review has no outputs yet; the check
    # after the deploy reads the secret the deploy created.
    _stack("app", {})
    assert _run(capsys) == (0, "no stack yet\nSlackMode app: the Slack app secret (none yet)\n")


def test_the_outputs_read_are_the_ones_the_template_gives_in_each_mode() -> None:
    outputs = cfn_template.load()["Outputs"]
    webhook = outputs[state_script.SECRETS["webhook"].output]
    app = outputs[state_script.SECRETS["app"].output]
    assert webhook["Condition"] == "SlackWebhook"
    assert app["Condition"] == "SlackApp"
    assert {"Ref": "SlackWebhookSecret"} in webhook["Value"]["Fn::If"]
    assert {"Ref": "SlackAppSecret"} in app["Value"]["Fn::If"]


def test_the_placeholders_are_the_ones_the_template_creates_the_secrets_with() -> None:
    assert state_script.WEBHOOK_PLACEHOLDER == WEBHOOK_PLACEHOLDER
    assert set(json.loads(APP_PLACEHOLDER).values()) == {state_script.APP_PLACEHOLDER}


# ------------------------------------------------------------------------------ as the functions


def _function_says(parse: Any, error: type[Exception], value: str) -> str:
    try:
        parse(value, "arn")
    except error as refused:
        return "placeholder" if "placeholder" in str(refused) else "malformed"
    return "filled"


@pytest.mark.parametrize(
    "value",
    [
        json.dumps(APP),
        json.dumps({k: f"  {v} " for k, v in APP.items()}),
        json.dumps({**APP, "channel": "G0PRIVATE1"}),
        json.dumps({**APP, "extra": "ignored"}),
        APP_PLACEHOLDER,
        json.dumps({**APP, "signingSecret": "REPLACE_ME"}),
        json.dumps({**APP, "signingSecret": SIGNING_SECRET.upper()}),
        json.dumps({**APP, "botToken": "xoxb-short"}),
        json.dumps({**APP, "channel": 12345}),
        json.dumps({**APP, "channel": "c0apcuflush"}),
        json.dumps({k: v for k, v in APP.items() if k != "channel"}),
        json.dumps(APP)[:-1],
        "null",
        "  ",
    ],
)
def test_an_app_secret_passes_exactly_when_the_functions_accept_it(value: str) -> None:
    judged, _ = state_script.judge_app(value)
    assert judged == _function_says(parse_app_secret, AppSecretError, value)


@pytest.mark.parametrize(
    "value",
    [
        WEBHOOK,
        f"  {WEBHOOK}\n",
        json.dumps({"url": WEBHOOK}),
        WEBHOOK_PLACEHOLDER,
        json.dumps({"URL": WEBHOOK}),
        json.dumps({"url": 5}),
        "{not json",
        "hooks.slack.com/services/T0/B0/x",
        "https://hooks.slack.com/services/T0/B0/x y",
        "",
    ],
)
def test_a_webhook_secret_passes_exactly_when_the_notifier_accepts_it(value: str) -> None:
    judged, _ = state_script.judge_webhook(value)
    assert judged == _function_says(parse_webhook, AppSecretError, value)
