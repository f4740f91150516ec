""".github/scripts/webhook_secret_state.py, the deploy workflow's check of the webhook secret,
against moto: it fails at once on the placeholder, passes a filled secret and a first deploy,
and never prints the secret's value."""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

SCRIPT = Path(__file__).resolve().parents[2] / ".github" / "scripts" / "webhook_secret_state.py"
REGION = "ap-northeast-1"
STACK = "apcu-fleet-flush-prod"
WEBHOOK = "https://hooks.slack.com/services/T0SECRET/B0SECRET/abcdefSECRETxyz"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("webhook_secret_state", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


state_script = _load()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        yield


def _stack_with_secret(value: str) -> str:
    arn = boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name="SlackWebhookSecret-Q1w2E3r4T5y6", SecretString=value
    )["ARN"]
    # The stack's output as template.yaml gives it; moto's CloudFormation has no secret
    # resource, so the ARN comes in through a parameter.
    template: dict[str, Any] = {
        "Parameters": {"Secret": {"Type": "String"}},
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"SlackWebhookSecretArn": {"Value": {"Ref": "Secret"}}},
    }
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName=STACK,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": "Secret", "ParameterValue": arn}],
    )
    return str(arn)


def _run(capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = state_script.main(["--stack", STACK, "--region", REGION])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_the_placeholder_fails_at_once_naming_the_secret_and_the_fix(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = _stack_with_secret(state_script.PLACEHOLDER)
    started = time.monotonic()
    code, out = _run(capsys)
    assert time.monotonic() - started < 10, "fails fast, not after the gate's timeout"
    assert code == 1
    assert out.splitlines()[0] == "placeholder"
    assert f"::error::the Slack webhook secret {arn} still holds the placeholder" in out
    assert "aws secretsmanager put-secret-value" in out


@pytest.mark.parametrize("value", [WEBHOOK, json.dumps({"url": WEBHOOK})])
def test_a_filled_secret_passes_and_its_value_is_never_printed(
    aws: None, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    _stack_with_secret(value)
    code, out = _run(capsys)
    assert (code, out) == (0, "filled\n")
    assert "SECRET" not in out


def test_a_first_deploy_has_no_stack_yet_and_passes(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys) == (0, "no stack yet\n")


def test_a_secret_it_may_not_read_fails_with_the_error_code_only(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    arn = _stack_with_secret(WEBHOOK)
    boto3.client("secretsmanager", region_name=REGION).delete_secret(
        SecretId=arn, ForceDeleteWithoutRecovery=True
    )
    code, out = _run(capsys)
    assert code == 1
    assert (
        out
        == f"::error::cannot read the Slack webhook secret of {STACK}: ResourceNotFoundException\n"
    )
