"""Slack's two modes in the stack: webhook mode (the default) reads the webhook secret only;
app mode creates or reads the app secret, which both functions read, and only that one."""

from __future__ import annotations

import json
import re

import pytest

from apcu_clear.slack_app import AppSecretError, parse_app_secret
from apcu_dispatcher.config import SLACK_USER_ID_PATTERN
from harness import cfn_template
from tests.stack.checks import (
    DATA_KEY,
    EXISTING_APP_SECRET,
    EXISTING_SECRET,
    frozen,
    no_condition,
)
from tests.stack.deployed import REGION, DeployedStack, role_statements


@pytest.fixture(scope="module")
def stack() -> DeployedStack:
    return DeployedStack()


def secret_reads(stack: DeployedStack, role: str) -> list[list[str]]:
    """The resources of each GetSecretValue statement of a role, in order."""
    return [
        s["Resource"]
        for s in role_statements(stack.properties(role))
        if "secretsmanager:GetSecretValue" in s["Action"]
    ]


def slack_variables(stack: DeployedStack, function: str) -> dict[str, str]:
    variables = stack.properties(function)["Environment"]["Variables"]
    return {
        k: v
        for k, v in variables.items()
        if k.startswith("SLACK_") and "WEBHOOK" not in k and k != "SLACK_API_URL"
    }


def test_webhook_mode_is_the_default_and_grants_no_app_secret(stack: DeployedStack) -> None:
    assert stack.parameter("SlackMode") == "webhook"
    assert not stack.condition("SlackApp")
    assert set(stack.of_type("AWS::SecretsManager::Secret")) == {"SlackWebhookSecret"}
    assert secret_reads(stack, "DispatcherRole") == []
    assert secret_reads(stack, "NotifierRole") == [["{SlackWebhookSecret}"]]
    assert slack_variables(stack, "NotifierFunction") == {
        "SLACK_MODE": "webhook",
        "SLACK_APP_SECRET_ARN": "",
    }
    assert not {"SlackInteractivityUrl", "SlackAppSecretArn"} & set(stack.outputs)


def test_app_mode_creates_a_placeholder_secret_both_functions_read_and_refuse_until_filled() -> (
    None
):
    # Given a stack deployed in app mode without a secret of its own
    stack = DeployedStack({"SlackMode": "app", "SlackAllowedUsers": "U0123ABCD,W0ENTGRID1"})

    # Then the stack creates the app secret with placeholders
    secret = stack.properties("SlackAppSecret")
    assert json.loads(secret["SecretString"]) == {
        "botToken": "REPLACE_ME",
        "signingSecret": "REPLACE_ME",
        "channel": "REPLACE_ME",
    }
    # which both functions refuse, saying what to do
    with pytest.raises(AppSecretError, match="still holds the placeholder"):
        parse_app_secret(secret["SecretString"], "{SlackAppSecret}")
    # And each function is told the mode and the secret, the dispatcher who may press
    assert slack_variables(stack, "DispatcherFunction") == {
        "SLACK_MODE": "app",
        "SLACK_APP_SECRET_ARN": "{SlackAppSecret}",
        "SLACK_ALLOWED_USERS": "U0123ABCD,W0ENTGRID1",
    }
    assert slack_variables(stack, "NotifierFunction") == {
        "SLACK_MODE": "app",
        "SLACK_APP_SECRET_ARN": "{SlackAppSecret}",
    }
    # And each role may read that secret only, with no condition loosening it
    assert [
        frozen(s)
        for s in role_statements(stack.properties("DispatcherRole"))
        if "secretsmanager:GetSecretValue" in s["Action"]
    ] == [("Allow", ("secretsmanager:GetSecretValue",), ("{SlackAppSecret}",), no_condition())]
    # (the webhook's secret is not read in app mode: the notifier posts with the bot token)
    assert secret_reads(stack, "NotifierRole") == [["{SlackAppSecret}"]]
    # And both reach Slack's own Web API
    for function in ("DispatcherFunction", "NotifierFunction"):
        variables = stack.properties(function)["Environment"]["Variables"]
        assert variables["SLACK_API_URL"] == "https://slack.com/api/"
    # And the outputs say where to fill it and what URL Slack calls
    assert stack.outputs["SlackAppSecretArn"] == "{SlackAppSecret}"
    assert stack.outputs["SlackInteractivityUrl"] == (
        f"https://{{FlushApi}}.execute-api.{REGION}.amazonaws.com/slack/actions"
    )


def test_app_mode_with_an_existing_secret_reads_exactly_that_one() -> None:
    stack = DeployedStack({"SlackMode": "app", "SlackAppSecretArn": EXISTING_APP_SECRET})
    assert "SlackAppSecret" not in stack.resources
    assert secret_reads(stack, "DispatcherRole") == [[EXISTING_APP_SECRET]]
    assert secret_reads(stack, "NotifierRole") == [[EXISTING_APP_SECRET]]
    for function in ("DispatcherFunction", "NotifierFunction"):
        assert slack_variables(stack, function)["SLACK_APP_SECRET_ARN"] == EXISTING_APP_SECRET
    assert stack.outputs["SlackAppSecretArn"] == EXISTING_APP_SECRET


_RESOURCE_TOKEN = re.compile(r"\{([A-Za-z0-9]+)(?:\.[A-Za-z0-9.]+)?\}")


def references_to_uncreated(stack: DeployedStack) -> set[str]:
    """Logical ids that created resources or outputs refer to but the stack does not create:
    CloudFormation refuses such a template, since the Ref has nothing to resolve to."""
    created = stack.resources
    text = json.dumps([created, stack.outputs])
    # Only the template's own resources: a route's {commandId} is not one.
    known = set(stack.template["Resources"])
    return {name for name in _RESOURCE_TOKEN.findall(text) if name in known - set(created)}


@pytest.mark.parametrize(
    ("parameters", "created", "output"),
    [
        ({"SlackMode": "webhook"}, "SlackWebhookSecret", "SlackWebhookSecretArn"),
        ({"SlackMode": "app"}, "SlackAppSecret", "SlackAppSecretArn"),
        # A secret given for the other mode changes nothing: only the mode's own is created.
        (
            {"SlackMode": "app", "SlackWebhookSecretArn": EXISTING_SECRET},
            "SlackAppSecret",
            "SlackAppSecretArn",
        ),
        (
            {"SlackMode": "webhook", "SlackAppSecretArn": EXISTING_APP_SECRET},
            "SlackWebhookSecret",
            "SlackWebhookSecretArn",
        ),
    ],
    ids=["webhook", "app", "app-with-a-webhook-arn", "webhook-with-an-app-arn"],
)
def test_each_mode_creates_only_the_slack_secret_it_reads(
    parameters: dict[str, str], created: str, output: str
) -> None:
    # Given a stack deployed in one Slack mode without a secret of its own for that mode
    stack = DeployedStack(parameters)
    # Then it creates that mode's secret and no other: no placeholder nobody reads
    assert set(stack.of_type("AWS::SecretsManager::Secret")) == {created}
    # And the outputs point to that secret only, the one an operator must fill
    secret_outputs = {
        name for name in stack.outputs if name.startswith("Slack") and "Secret" in name
    }
    assert secret_outputs == {output}
    assert stack.outputs[output] == "{" + created + "}"
    # And nothing the stack creates refers to the secret it left out
    assert references_to_uncreated(stack) == set()


def test_app_mode_gives_the_notifier_no_webhook_secret() -> None:
    # The notifier posts with the bot token in app mode and starts without a webhook secret
    # (src/notifier/apcu_notifier/config.py); an ARN here would name a secret nobody created.
    stack = DeployedStack({"SlackMode": "app"})
    variables = stack.properties("NotifierFunction")["Environment"]["Variables"]
    assert variables["SLACK_WEBHOOK_SECRET_ARN"] == ""


def test_an_app_secret_arn_without_app_mode_is_neither_granted_nor_given() -> None:
    stack = DeployedStack({"SlackAppSecretArn": EXISTING_APP_SECRET})
    assert secret_reads(stack, "DispatcherRole") == []
    assert slack_variables(stack, "DispatcherFunction")["SLACK_APP_SECRET_ARN"] == ""


@pytest.mark.parametrize(
    ("mode", "secret_arn", "via_secrets_manager"),
    [("app", "", True), ("app", EXISTING_APP_SECRET, True), ("webhook", "", False)],
)
def test_the_dispatcher_decrypts_through_secrets_manager_only_for_the_app_secret(
    mode: str, secret_arn: str, via_secrets_manager: bool
) -> None:
    # A given app secret may be under the data key too (docs/deploy.md); webhook mode's
    # dispatcher reads no secret at all.
    stack = DeployedStack(
        {"SlackMode": mode, "SlackAppSecretArn": secret_arn, "DataKmsKeyArn": DATA_KEY}
    )
    [key] = [
        s
        for s in role_statements(stack.properties("DispatcherRole"))
        if "kms:Decrypt" in s["Action"]
    ]
    services = key["Condition"]["StringEquals"]["kms:ViaService"]
    assert (f"secretsmanager.{REGION}.amazonaws.com" in services) is via_secrets_manager
    if mode == "app" and not secret_arn:
        assert stack.properties("SlackAppSecret")["KmsKeyId"] == DATA_KEY


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("", True),
        ("U0123ABCD", True),
        ("U0123ABCD,W0ENTGRID1", True),
        ("U0123ABCD, W0ENTGRID1", True),
        ("alice", False),
        ("U0123ABCD,", False),
        ("<@U0123ABCD>", False),
        ("C0APCUFLUSH", False),
    ],
)
def test_slack_allowed_users_takes_user_ids_as_the_dispatcher_does(
    value: str, accepted: bool
) -> None:
    spec = cfn_template.load()["Parameters"]["SlackAllowedUsers"]
    assert bool(re.fullmatch(spec["AllowedPattern"], value)) is accepted
    if accepted:
        # Whatever CloudFormation lets through, the dispatcher starts with.
        for user in filter(None, (u.strip() for u in value.split(","))):
            assert re.fullmatch(SLACK_USER_ID_PATTERN, user)


def test_the_slack_mode_is_one_of_two() -> None:
    spec = cfn_template.load()["Parameters"]["SlackMode"]
    assert spec["AllowedValues"] == ["webhook", "app"]
    assert spec["Default"] == "webhook"
