"""What `sam deploy` would create from template.yaml, checked offline after the SAM transform.

Every test here guards a promise of the stack: least privilege, an API nobody can call
anonymously, no notification lost, the one script the fleet may run. Each compares with
exact values, so a loosened policy or a dropped setting fails the build.
"""

from __future__ import annotations

import json
import re
from importlib.metadata import version
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from apcu_clear.item import CommandRecord
from apcu_clear.slack_app import AppSecretError, parse_app_secret
from apcu_dispatcher.config import SLACK_USER_ID_PATTERN
from harness import cfn_template
from tests.stack import deployed
from tests.stack.deployed import (
    ACCOUNT_ID,
    REGION,
    DeployedStack,
    _transformed,
    role_statements,
    statements,
)

REPO = Path(__file__).resolve().parents[2]
# The public layer of the Powertools release the tests run with (tests/stack/test_powertools_pin.py).
POWERTOOLS_LAYER_PARAMETER = (
    f"/aws/service/powertools/python/arm64/python3.13/{version('aws-lambda-powertools')}"
)
EXISTING_SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:team/slack-webhook-AbCdEf"
SECRET_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/11111111-2222-3333-4444-555555555555"
TOPIC_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/66666666-7777-8888-9999-000000000000"
ALARM_TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:on-call"

# Actions whose service defines no resource type (Service Authorization Reference), the
# only ones allowed on Resource "*".
NO_RESOURCE_LEVEL_ACTIONS = {
    "autoscaling:DescribeAutoScalingGroups",
    "ec2:DescribeInstances",
    "ssm:DescribeInstanceInformation",
    "ssm:ListCommands",
    "ssm:ListCommandInvocations",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
}


# Resources whose one PolicyDocument grants something.
POLICY_RESOURCES = {
    "AWS::IAM::Policy",
    "AWS::IAM::RolePolicy",
    "AWS::IAM::ManagedPolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::SNS::TopicPolicy",
}


@pytest.fixture(scope="module")
def stack() -> DeployedStack:
    """The stack with its defaults and the one required parameter."""
    return DeployedStack()


def arn(service: str, rest: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT_ID}:{rest}"


def frozen(statement: dict[str, Any]) -> tuple[str, tuple[str, ...], tuple[str, ...], str]:
    """A statement as a comparable value: effect, actions, resources, condition."""
    return (
        statement["Effect"],
        tuple(sorted(statement["Action"])),
        tuple(sorted(statement["Resource"])),
        json.dumps(statement.get("Condition"), sort_keys=True),
    )


def no_condition() -> str:
    return json.dumps(None)


def condition(value: dict[str, Any]) -> str:
    return json.dumps(value, sort_keys=True)


CLAIM_ITEMS_ONLY = condition({"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["claim#*"]}})


def every_policy_document(stack: DeployedStack) -> list[tuple[str, dict[str, Any]]]:
    documents: list[tuple[str, dict[str, Any]]] = []
    for logical_id, resource in stack.resources.items():
        properties = resource["Properties"]
        if resource["Type"] == "AWS::IAM::Role":
            documents += [(logical_id, p["PolicyDocument"]) for p in properties.get("Policies", [])]
        elif resource["Type"] in POLICY_RESOURCES:
            documents.append((logical_id, properties["PolicyDocument"]))
    return documents


# ------------------------------------------------------------------------------ functions


@pytest.mark.parametrize(
    ("function", "code_folder"),
    [("DispatcherFunction", "src/dispatcher/"), ("NotifierFunction", "src/notifier/")],
)
def test_each_function_is_built_from_its_folder_with_app_lambda_handler(
    function: str, code_folder: str
) -> None:
    sam_properties = cfn_template.load()["Resources"][function]["Properties"]
    assert sam_properties["CodeUri"] == code_folder
    assert sam_properties["Handler"] == "app.lambda_handler"
    app = REPO / code_folder / "app.py"
    assert "lambda_handler" in app.read_text(encoding="utf-8"), f"{app} must export lambda_handler"


@pytest.mark.parametrize("function", ["DispatcherFunction", "NotifierFunction"])
def test_each_function_runs_python313_on_arm64_with_powertools_from_its_public_parameter(
    stack: DeployedStack, function: str
) -> None:
    properties = stack.properties(function)
    assert properties["Runtime"] == "python3.13"
    assert properties["Architectures"] == ["arm64"]
    # The layer's ARN is read from the public parameter at deploy time, for this very
    # architecture, Python version and Powertools release; no ARN pinned to a region.
    assert properties["Layers"] == [f"ssm:{POWERTOOLS_LAYER_PARAMETER}"]
    assert stack.template["Parameters"]["PowertoolsLayerArn"]["Type"] == (
        "AWS::SSM::Parameter::Value<String>"
    )
    assert properties["MemorySize"] <= 512
    # The dispatcher answers HTTP API requests, which API Gateway cuts off at 30 s; the
    # notifier pages through a large fleet's invocations (docs/deploy.md, "Large fleets").
    assert properties["Timeout"] <= (30 if function == "DispatcherFunction" else 120)


def test_functions_log_to_their_own_groups_with_a_retention(stack: DeployedStack) -> None:
    for function, group in [
        ("DispatcherFunction", "DispatcherLogGroup"),
        ("NotifierFunction", "NotifierLogGroup"),
    ]:
        assert stack.properties(function)["LoggingConfig"]["LogGroup"] == "{" + group + "}"
        assert stack.properties(group)["RetentionInDays"] == "90"


def test_dispatcher_environment_is_the_configuration_contract(stack: DeployedStack) -> None:
    assert stack.properties("DispatcherFunction")["Environment"]["Variables"] == {
        "POWERTOOLS_SERVICE_NAME": "dispatcher",
        "POWERTOOLS_METRICS_NAMESPACE": "ApcuFleetFlush",
        "LOG_LEVEL": "INFO",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "NOTIFICATION_TOPIC_ARN": "{NotificationTopic}",
        "NOTIFICATION_ROLE_ARN": "{NotificationRole.Arn}",
        "DOCUMENT_NAME": "{FlushDocument}",
        "ALLOWED_GROUPS": "web-prod,web-staging",
        "MAX_CONCURRENCY": "50%",
        "DELIVERY_TIMEOUT_SECONDS": "120",
        "COMMANDS_TABLE": "{CommandsTable}",
        "WATCHDOG_GROUP": "{WatchdogScheduleGroup}",
        "WATCHDOG_ROLE_ARN": "{WatchdogRole.Arn}",
        "WATCHDOG_TARGET_ARN": "{NotifierFunction.Arn}",
        "WATCHDOG_DEAD_LETTER_ARN": "{WatchdogDeadLetterQueue.Arn}",
        "EXECUTION_TIMEOUT_SECONDS": "60",
        "STOP_ALARM_NAME": "",
        "WARM_POOL_HOOK_NAME": "apcu-fleet-flush-warm-pool",
        "SLACK_MODE": "webhook",
        "SLACK_APP_SECRET_ARN": "",
        "SLACK_ALLOWED_USERS": "",
    }


def test_notifier_environment_is_the_configuration_contract(stack: DeployedStack) -> None:
    assert stack.properties("NotifierFunction")["Environment"]["Variables"] == {
        "POWERTOOLS_SERVICE_NAME": "notifier",
        "POWERTOOLS_METRICS_NAMESPACE": "ApcuFleetFlush",
        "LOG_LEVEL": "INFO",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "SLACK_WEBHOOK_SECRET_ARN": "{SlackWebhookSecret}",
        "SLACK_MODE": "webhook",
        "SLACK_APP_SECRET_ARN": "",
        "MESSAGE_LANGUAGE": "en",
        "ALERT_MENTION": "",
        "CLEAR_ON_WARM_POOL_EXIT": "true",
        "WARM_POOL_UNCLEARED": "continue",
        "COMMANDS_TABLE": "{CommandsTable}",
        "DOCUMENT_NAME": "{FlushDocument}",
        "RETRY_MISSED": "1",
        "STOP_ALARM_NAME": "",
        "WATCHDOG_GROUP": "{WatchdogScheduleGroup}",
        "WATCHDOG_ROLE_ARN": "{WatchdogRole.Arn}",
        "WATCHDOG_DEAD_LETTER_ARN": "{WatchdogDeadLetterQueue.Arn}",
    }


def test_operator_settings_reach_the_functions() -> None:
    # Given the prod-like settings an operator passes at deploy time
    stack = DeployedStack(
        {
            "AllowedGroups": "web-prod",
            "MessageLanguage": "ja",
            "AlertMention": "<!here>",
            "MaxConcurrency": "25%",
            "DeliveryTimeoutSeconds": "300",
            "LogLevel": "DEBUG",
        }
    )
    # Then each function sees them
    dispatcher = stack.properties("DispatcherFunction")["Environment"]["Variables"]
    notifier = stack.properties("NotifierFunction")["Environment"]["Variables"]
    assert dispatcher["ALLOWED_GROUPS"] == "web-prod"
    assert dispatcher["MAX_CONCURRENCY"] == "25%"
    assert dispatcher["DELIVERY_TIMEOUT_SECONDS"] == "300"
    assert notifier["MESSAGE_LANGUAGE"] == "ja"
    assert notifier["ALERT_MENTION"] == "<!here>"
    assert dispatcher["LOG_LEVEL"] == notifier["LOG_LEVEL"] == "DEBUG"


@pytest.mark.parametrize("function", ["DispatcherFunction", "NotifierFunction"])
def test_tracing_is_off_by_default_and_the_code_is_told_so(
    stack: DeployedStack, function: str
) -> None:
    # PassThrough: Lambda records its own segment only for an upstream sampled request, and
    # the function, told by POWERTOOLS_TRACE_DISABLED, does not even load the X-Ray SDK.
    properties = stack.properties(function)
    assert properties["TracingConfig"] == {"Mode": "PassThrough"}
    assert properties["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == "true"
    role = function.replace("Function", "Role")
    actions = {a for s in role_statements(stack.properties(role)) for a in frozen(s)[1]}
    assert not {a for a in actions if a.startswith("xray:")}


@pytest.mark.parametrize("function", ["DispatcherFunction", "NotifierFunction"])
def test_active_tracing_traces_each_function_and_lets_it_write_traces(function: str) -> None:
    stack = DeployedStack({"Tracing": "Active"})
    properties = stack.properties(function)
    assert properties["TracingConfig"] == {"Mode": "Active"}
    assert properties["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == "false"
    role = function.replace("Function", "Role")
    granted = {frozen(s) for s in role_statements(stack.properties(role))}
    # X-Ray defines no resource type for these actions: "*" is the only form.
    assert (
        "Allow",
        ("xray:PutTelemetryRecords", "xray:PutTraceSegments"),
        ("*",),
        no_condition(),
    ) in granted


def test_notifier_runs_one_at_a_time_to_stay_under_slacks_rate_limit(
    stack: DeployedStack,
) -> None:
    assert int(stack.properties("NotifierFunction")["ReservedConcurrentExecutions"]) == 1
    assert "ReservedConcurrentExecutions" not in stack.properties("DispatcherFunction")


def test_notifier_concurrency_can_be_left_unreserved_for_small_accounts() -> None:
    stack = DeployedStack({"NotifierReservedConcurrency": "none"})
    assert "ReservedConcurrentExecutions" not in stack.properties("NotifierFunction")


# ------------------------------------------------------------------------------ IAM


def test_no_policy_in_the_stack_grants_a_wildcard_action() -> None:
    for parameters in ({}, {"SlackWebhookSecretArn": EXISTING_SECRET}):
        stack = DeployedStack(
            {
                **parameters,
                "SlackWebhookSecretKmsKeyArn": SECRET_KEY,
                "NotificationTopicKmsKeyArn": TOPIC_KEY,
            }
        )
        for owner, document in every_policy_document(stack):
            for statement in statements(document):
                assert "NotAction" not in statement, owner
                assert "NotResource" not in statement, owner
                for action in statement["Action"]:
                    assert "*" not in action and "?" not in action, (owner, action)


def test_star_resources_only_for_actions_without_resource_level_permissions() -> None:
    stack = DeployedStack({"NotificationTopicKmsKeyArn": TOPIC_KEY})
    for owner, document in every_policy_document(stack):
        for statement in statements(document):
            if statement["Effect"] == "Allow" and "*" in statement["Resource"]:
                assert set(statement["Action"]) <= NO_RESOURCE_LEVEL_ACTIONS, (owner, statement)


def test_no_role_carries_a_managed_policy(stack: DeployedStack) -> None:
    # SAM's generated role would bring AWSLambdaBasicExecutionRole (every log group of the
    # account); every permission must be one of the statements checked below.
    for logical_id, role in stack.of_type("AWS::IAM::Role").items():
        assert "ManagedPolicyArns" not in role, logical_id
    assert set(stack.of_type("AWS::IAM::Role")) == {
        "DispatcherRole",
        "NotifierRole",
        "NotificationRole",
        "WatchdogRole",
    }
    assert not stack.of_type("AWS::IAM::Policy")
    assert not stack.of_type("AWS::IAM::ManagedPolicy")
    # The one policy apart from its role (it would close a dependency circle inside it).
    assert set(stack.of_type("AWS::IAM::RolePolicy")) == {"WatchdogInvokePolicy"}


@pytest.mark.parametrize(
    ("role", "function"),
    [("DispatcherRole", "DispatcherFunction"), ("NotifierRole", "NotifierFunction")],
)
def test_function_roles_are_assumable_by_lambda_only(
    stack: DeployedStack, role: str, function: str
) -> None:
    assert stack.properties(function)["Role"] == "{" + role + ".Arn}"
    trust = statements(stack.properties(role)["AssumeRolePolicyDocument"])
    assert trust == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": ["sts:AssumeRole"],
        }
    ]


def test_dispatcher_may_do_exactly_what_a_dispatch_needs(stack: DeployedStack) -> None:
    granted = {frozen(s) for s in role_statements(stack.properties("DispatcherRole"))}
    assert granted == {
        (
            "Allow",
            ("logs:CreateLogStream", "logs:PutLogEvents"),
            (arn("logs", "log-group:{DispatcherLogGroup}:log-stream:*"),),
            no_condition(),
        ),
        ("Allow", ("ssm:SendCommand",), (arn("ssm", "document/{FlushDocument}"),), no_condition()),
        (
            "Allow",
            ("ssm:SendCommand",),
            (arn("ec2", "instance/*"),),
            condition(
                {
                    "StringEquals": {
                        "ssm:resourceTag/aws:autoscaling:groupName": ["web-prod", "web-staging"]
                    }
                }
            ),
        ),
        ("Allow", ("sqs:SendMessage",), ("{WarmPoolExitFailureQueue.Arn}",), no_condition()),
        COMPLETE_ALLOWED_GROUPS,
        (
            "Allow",
            ("iam:PassRole",),
            ("{NotificationRole.Arn}",),
            condition({"StringEquals": {"iam:PassedToService": "ssm.amazonaws.com"}}),
        ),
        (
            "Allow",
            (
                "autoscaling:DescribeAutoScalingGroups",
                "ssm:DescribeInstanceInformation",
                "ssm:ListCommands",
            ),
            ("*",),
            no_condition(),
        ),
        # The record is written with UpdateItem (apcu_clear.store.put_sent), a retry added to
        # its clear with UpdateItem, and a clear's retries read in one BatchGetItem.
        (
            "Allow",
            ("dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:UpdateItem"),
            ("{CommandsTable.Arn}",),
            no_condition(),
        ),
        # The claim on a clear's target: claim items only, never a command's record
        (
            "Allow",
            ("dynamodb:DeleteItem", "dynamodb:PutItem"),
            ("{CommandsTable.Arn}",),
            CLAIM_ITEMS_ONLY,
        ),
        ("Allow", ("ssm:ListCommands",), ("*",), no_condition()),
        (
            "Allow",
            ("scheduler:CreateSchedule",),
            (arn("scheduler", "schedule/{WatchdogScheduleGroup}/*"),),
            no_condition(),
        ),
        (
            "Allow",
            ("iam:PassRole",),
            ("{WatchdogRole.Arn}",),
            condition({"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}),
        ),
    }


def test_a_stop_alarm_reaches_the_dispatcher_with_only_the_read_it_needs(
    stack: DeployedStack,
) -> None:
    # Given a stack deployed with a stop alarm
    braked = DeployedStack({"StopAlarmName": "web-prod-database"})
    # Then the dispatcher is told its name, and may read alarms: on "*", because CloudWatch
    # returns a composite alarm only to a DescribeAlarms granted on "*"
    variables = braked.properties("DispatcherFunction")["Environment"]["Variables"]
    assert variables["STOP_ALARM_NAME"] == "web-prod-database"
    without = {frozen(s) for s in role_statements(stack.properties("DispatcherRole"))}
    braked_role = {frozen(s) for s in role_statements(braked.properties("DispatcherRole"))}
    assert braked_role - without == {
        ("Allow", ("cloudwatch:DescribeAlarms",), ("*",), no_condition())
    }
    assert without <= braked_role
    # And DescribeAlarms reads only: nothing the dispatcher can change in CloudWatch.
    assert not any("cloudwatch" in action for s in without for action in s[1])


def test_dispatcher_sends_only_its_own_document_and_only_to_allowed_groups(
    stack: DeployedStack,
) -> None:
    send = [
        s
        for s in role_statements(stack.properties("DispatcherRole"))
        if "ssm:SendCommand" in s["Action"]
    ]
    documents = [r for s in send for r in s["Resource"] if ":document/" in r]
    assert documents == [arn("ssm", "document/{FlushDocument}")]
    assert stack.properties("DispatcherFunction")["Environment"]["Variables"]["DOCUMENT_NAME"] == (
        "{FlushDocument}"
    )
    for statement in send:
        if any(":instance/" in r for r in statement["Resource"]):
            # The instance side of SendCommand is only allowed on the allowed groups' tag.
            assert statement["Condition"] == {
                "StringEquals": {
                    "ssm:resourceTag/aws:autoscaling:groupName": ["web-prod", "web-staging"]
                }
            }
    instance_statements = [s for s in send if any(":instance/" in r for r in s["Resource"])]
    assert len(instance_statements) == 1


def test_dispatcher_passes_only_the_notification_role_to_ssm_and_the_watchdog_role_to_scheduler(
    stack: DeployedStack,
) -> None:
    passes = [
        s
        for s in role_statements(stack.properties("DispatcherRole"))
        if "iam:PassRole" in s["Action"]
    ]
    assert passes == [
        {
            "Sid": "PassTheNotificationRoleToSsm",
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": ["{NotificationRole.Arn}"],
            "Condition": {"StringEquals": {"iam:PassedToService": "ssm.amazonaws.com"}},
        },
        {
            "Sid": "PassTheWatchdogRoleToScheduler",
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": ["{WatchdogRole.Arn}"],
            "Condition": {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
        },
    ]
    passed = stack.properties("DispatcherFunction")["Environment"]["Variables"]
    assert passed["NOTIFICATION_ROLE_ARN"] == "{NotificationRole.Arn}"
    assert passed["WATCHDOG_ROLE_ARN"] == "{WatchdogRole.Arn}"


def test_notifier_may_do_exactly_what_a_verdict_needs(stack: DeployedStack) -> None:
    granted = {frozen(s) for s in role_statements(stack.properties("NotifierRole"))}
    assert granted == {
        COMPLETE_ALLOWED_GROUPS,
        (
            "Allow",
            ("logs:CreateLogStream", "logs:PutLogEvents"),
            (arn("logs", "log-group:{NotifierLogGroup}:log-stream:*"),),
            no_condition(),
        ),
        (
            "Allow",
            (
                "autoscaling:DescribeAutoScalingGroups",
                "ssm:ListCommandInvocations",
                "ssm:ListCommands",
            ),
            ("*",),
            no_condition(),
        ),
        # Only when InService instances are missing: did they start after the clear?
        ("Allow", ("ec2:DescribeInstances",), ("*",), no_condition()),
        ("Allow", ("secretsmanager:GetSecretValue",), ("{SlackWebhookSecret}",), no_condition()),
        (
            "Allow",
            ("dynamodb:GetItem", "dynamodb:UpdateItem"),
            ("{CommandsTable.Arn}",),
            no_condition(),
        ),
        # Ends a clear's claim: claim items only
        ("Allow", ("dynamodb:DeleteItem",), ("{CommandsTable.Arn}",), CLAIM_ITEMS_ONLY),
        ("Allow", ("sqs:SendMessage",), ("{NotifierFailureQueue.Arn}",), no_condition()),
        # A command still running past its expiry: the next watchdog, in the stack's group.
        (
            "Allow",
            ("scheduler:CreateSchedule",),
            (arn("scheduler", "schedule/{WatchdogScheduleGroup}/*"),),
            no_condition(),
        ),
        (
            "Allow",
            ("iam:PassRole",),
            ("{WatchdogRole.Arn}",),
            condition({"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}),
        ),
        # A clear converges: the stack's document, to instances of allowed groups only, with
        # the notification role passed to SSM only, and only to agents that are Online.
        ("Allow", ("ssm:SendCommand",), (arn("ssm", "document/{FlushDocument}"),), no_condition()),
        (
            "Allow",
            ("ssm:SendCommand",),
            (arn("ec2", "instance/*"),),
            condition(
                {
                    "StringEquals": {
                        "ssm:resourceTag/aws:autoscaling:groupName": ["web-prod", "web-staging"]
                    }
                }
            ),
        ),
        (
            "Allow",
            ("iam:PassRole",),
            ("{NotificationRole.Arn}",),
            condition({"StringEquals": {"iam:PassedToService": "ssm.amazonaws.com"}}),
        ),
        ("Allow", ("ssm:DescribeInstanceInformation",), ("*",), no_condition()),
    }


def test_the_notifier_sends_what_the_dispatcher_may_send_and_nothing_more(
    stack: DeployedStack,
) -> None:
    # The same document and group-tag statements as the dispatcher's: a retry the notifier
    # sends on its own can reach nothing a clear could not.
    def sends(role: str) -> set[tuple[Any, ...]]:
        return {
            (frozen(s)[2], frozen(s)[3])
            for s in role_statements(stack.properties(role))
            if "ssm:SendCommand" in s["Action"]
        }

    assert sends("NotifierRole") == sends("DispatcherRole")
    assert len(sends("NotifierRole")) == 2


def test_the_notifier_reads_the_stop_alarm_only_when_there_is_one(stack: DeployedStack) -> None:
    def reads(template: DeployedStack) -> list[Any]:
        return [
            s
            for s in role_statements(template.properties("NotifierRole"))
            if "cloudwatch:DescribeAlarms" in s["Action"]
        ]

    assert reads(stack) == []
    braked = DeployedStack({"StopAlarmName": "db-cpu-high"})
    assert [s["Resource"] for s in reads(braked)] == [["*"]]
    variables = braked.properties("NotifierFunction")["Environment"]["Variables"]
    assert variables["STOP_ALARM_NAME"] == "db-cpu-high"


def test_the_notifier_passes_only_the_watchdog_role_and_only_to_scheduler(
    stack: DeployedStack,
) -> None:
    passes = [
        s
        for s in role_statements(stack.properties("NotifierRole"))
        if "iam:PassRole" in s["Action"]
    ]
    assert passes[1:] == [
        {
            "Sid": "PassTheNotificationRoleToSsm",
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": ["{NotificationRole.Arn}"],
            "Condition": {"StringEquals": {"iam:PassedToService": "ssm.amazonaws.com"}},
        }
    ]
    assert passes[:1] == [
        {
            "Sid": "PassTheWatchdogRoleToScheduler",
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": ["{WatchdogRole.Arn}"],
            "Condition": {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
        }
    ]


def test_an_existing_webhook_secret_is_read_by_its_arn_and_none_is_created() -> None:
    # Given an operator who keeps the webhook in a secret of their own
    stack = DeployedStack({"SlackWebhookSecretArn": EXISTING_SECRET})
    # Then the stack creates no secret, and the notifier reads exactly that one
    assert not stack.of_type("AWS::SecretsManager::Secret")
    variables = stack.properties("NotifierFunction")["Environment"]["Variables"]
    assert variables["SLACK_WEBHOOK_SECRET_ARN"] == EXISTING_SECRET
    reads = [
        s
        for s in role_statements(stack.properties("NotifierRole"))
        if "secretsmanager:GetSecretValue" in s["Action"]
    ]
    assert [s["Resource"] for s in reads] == [[EXISTING_SECRET]]
    assert stack.outputs["SlackWebhookSecretArn"] == EXISTING_SECRET
    assert not [
        s for s in role_statements(stack.properties("NotifierRole")) if "kms:Decrypt" in s["Action"]
    ]


def test_a_customer_key_on_the_existing_secret_is_usable_through_secrets_manager_only() -> None:
    stack = DeployedStack(
        {"SlackWebhookSecretArn": EXISTING_SECRET, "SlackWebhookSecretKmsKeyArn": SECRET_KEY}
    )
    decrypts = [
        s for s in role_statements(stack.properties("NotifierRole")) if "kms:Decrypt" in s["Action"]
    ]
    assert len(decrypts) == 1
    assert decrypts[0]["Action"] == ["kms:Decrypt"]
    assert decrypts[0]["Resource"] == [SECRET_KEY]
    assert decrypts[0]["Condition"] == {
        "StringEquals": {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}
    }


def test_the_created_webhook_secret_says_what_to_put_in_it(stack: DeployedStack) -> None:
    (secret,) = stack.of_type("AWS::SecretsManager::Secret").values()
    assert not secret["SecretString"].startswith("https://"), "a placeholder, never a real URL"
    assert "plain string" in secret["Description"]
    assert '{"url": "..."}' in secret["Description"]
    assert stack.outputs["SlackWebhookSecretArn"] == "{SlackWebhookSecret}"


# ------------------------------------------------------------------------------ Slack app mode

EXISTING_APP_SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:team/slack-app-GhIjKl"
DATA_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/0a1b2c3d-0000-4000-8000-000000000000"


def secret_reads(stack: DeployedStack, role: str) -> list[list[str]]:
    """The resources of each GetSecretValue statement of a role, in order."""
    return [
        s["Resource"]
        for s in role_statements(stack.properties(role))
        if "secretsmanager:GetSecretValue" in s["Action"]
    ]


def slack_variables(stack: DeployedStack, function: str) -> dict[str, str]:
    variables = stack.properties(function)["Environment"]["Variables"]
    return {k: v for k, v in variables.items() if k.startswith("SLACK_") and "WEBHOOK" not in k}


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


def test_notification_role_is_for_ssm_of_this_account_and_may_only_publish_to_the_topic(
    stack: DeployedStack,
) -> None:
    role = stack.properties("NotificationRole")
    assert statements(role["AssumeRolePolicyDocument"]) == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ssm.amazonaws.com"},
            "Action": ["sts:AssumeRole"],
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}},
        }
    ]
    assert {frozen(s) for s in role_statements(role)} == {
        ("Allow", ("sns:Publish",), ("{NotificationTopic}",), no_condition())
    }


def test_an_encrypted_topic_adds_only_its_own_key_to_the_notification_role() -> None:
    stack = DeployedStack({"NotificationTopicKmsKeyArn": TOPIC_KEY})
    assert stack.properties("NotificationTopic")["KmsMasterKeyId"] == TOPIC_KEY
    assert {frozen(s) for s in role_statements(stack.properties("NotificationRole"))} == {
        ("Allow", ("sns:Publish",), ("{NotificationTopic}",), no_condition()),
        ("Allow", ("kms:Decrypt", "kms:GenerateDataKey"), (TOPIC_KEY,), no_condition()),
    }


# ------------------------------------------------------------------------------ API


def api_operations(api: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): operation
        for path, item in api["Body"]["paths"].items()
        for method, operation in item.items()
    }


IAM_ROUTES = (
    ("post", "/flush"),
    ("get", "/flush/{commandId}"),
    ("post", "/flush/{commandId}/retry"),
)
# Slack cannot sign SigV4: the dispatcher checks Slack's signature before anything else
# (tests/dispatcher/test_slack_actions.py).
SLACK_ROUTE = ("post", "/slack/actions")
ROUTES = (*IAM_ROUTES, SLACK_ROUTE)


def test_every_route_but_slacks_needs_a_sigv4_signature(stack: DeployedStack) -> None:
    (api,) = stack.of_type("AWS::ApiGatewayV2::Api").values()
    operations = api_operations(api)
    assert set(operations) == set(ROUTES)
    for route in IAM_ROUTES:
        assert operations[route]["security"] == [{"AWS_IAM": []}]
    # SAM's spelling of "no authorizer" under a default one (HttpApiFunctionAuth, Authorizer NONE)
    assert operations[SLACK_ROUTE]["security"] == [{"NONE": []}]
    scheme = api["Body"]["components"]["securitySchemes"]["AWS_IAM"]
    assert scheme["x-amazon-apigateway-authtype"] == "awsSigv4"
    # Routes declared outside the OpenAPI body must not slip past IAM either.
    for route in stack.of_type("AWS::ApiGatewayV2::Route").values():
        assert route["AuthorizationType"] == "AWS_IAM"
    for url in stack.of_type("AWS::Lambda::Url").values():
        assert url["AuthType"] == "AWS_IAM"


def test_every_api_route_invokes_the_dispatcher(stack: DeployedStack) -> None:
    (api,) = stack.of_type("AWS::ApiGatewayV2::Api").values()
    for route in ROUTES:
        integration = api_operations(api)[route]["x-amazon-apigateway-integration"]
        assert "{DispatcherFunction.Arn}" in integration["uri"]
        assert integration["payloadFormatVersion"] == "2.0"
    permissions = [
        p
        for p in stack.of_type("AWS::Lambda::Permission").values()
        if p["FunctionName"] == "{DispatcherFunction}"
        and p["Principal"] == "apigateway.amazonaws.com"
    ]
    assert sorted(p["SourceArn"] for p in permissions) == [
        arn("execute-api", "{FlushApi}/*/GET/flush/*"),
        arn("execute-api", "{FlushApi}/*/POST/flush"),
        arn("execute-api", "{FlushApi}/*/POST/flush/*/retry"),
        arn("execute-api", "{FlushApi}/*/POST/slack/actions"),
    ]
    assert stack.outputs["ApiUrl"] == (
        f"https://{{FlushApi}}.execute-api.{REGION}.amazonaws.com/flush"
    )


def test_the_api_is_throttled_and_logs_who_called_it(stack: DeployedStack) -> None:
    (api_stage,) = stack.of_type("AWS::ApiGatewayV2::Stage").values()
    route_settings = api_stage["DefaultRouteSettings"]
    # A caller's retry loop must not become a stream of fleet-wide clears.
    assert route_settings["ThrottlingRateLimit"] <= 1
    assert route_settings["ThrottlingBurstLimit"] <= 2
    logs = api_stage["AccessLogSettings"]
    assert logs["DestinationArn"] == "{ApiAccessLogGroup.Arn}"
    entry = json.loads(re.sub(r"\$context\.[A-Za-z.]+", "x", logs["Format"]))
    assert logs["Format"].count("$context.identity.userArn") == 1
    assert {"requestId", "caller", "route", "status"} <= set(entry)


def test_the_api_access_log_group_is_a_vended_log_group_named_after_the_stack(
    stack: DeployedStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Groups under /aws/vendedlogs/ share one entry of the account's CloudWatch Logs resource
    # policy; any other name adds an entry of its own, and that policy has a size limit.
    log_group = stack.properties("ApiAccessLogGroup")
    assert log_group["LogGroupName"] == (
        "/aws/vendedlogs/apcu-fleet-flush/apcu-fleet-flush/api-access"
    )
    assert log_group["RetentionInDays"] == "90"
    # A second stack in the same account (prod beside staging) gets a group of its own.
    monkeypatch.setitem(deployed.PSEUDO_PARAMETERS, "AWS::StackName", "apcu-fleet-flush-prod")
    assert DeployedStack().properties("ApiAccessLogGroup")["LogGroupName"] == (
        "/aws/vendedlogs/apcu-fleet-flush/apcu-fleet-flush-prod/api-access"
    )


# ------------------------------------------------------------------------------ warm pool

WARM_POOL_EXIT_PATTERN = {
    "source": ["aws.autoscaling"],
    "detail-type": ["EC2 Instance Launch Successful"],
    "detail": {
        "Origin": ["WarmPool"],
        "Destination": ["AutoScalingGroup"],
        "AutoScalingGroupName": ["web-prod", "web-staging"],
    },
}


def test_an_instance_leaving_an_allowed_groups_warm_pool_invokes_the_dispatcher(
    stack: DeployedStack,
) -> None:
    rule = stack.properties("WarmPoolExitRule")
    assert rule["State"] == "ENABLED"
    assert rule["EventPattern"] == WARM_POOL_EXIT_PATTERN
    assert rule["Targets"] == [
        {
            "Id": "dispatcher",
            "Arn": "{DispatcherFunction.Arn}",
            "RetryPolicy": {"MaximumEventAgeInSeconds": 3600},
            "DeadLetterConfig": {"Arn": "{WarmPoolExitFailureQueue.Arn}"},
        }
    ]
    # On unless turned off
    assert stack.parameter("ClearOnWarmPoolExit") == "true"


def test_the_warm_pool_pattern_follows_the_allowed_groups() -> None:
    stack = DeployedStack({"AllowedGroups": "web-prod"})
    pattern = stack.properties("WarmPoolExitRule")["EventPattern"]
    assert pattern["detail"]["AutoScalingGroupName"] == ["web-prod"]


def test_only_the_api_and_the_warm_pool_rule_may_invoke_the_dispatcher(
    stack: DeployedStack,
) -> None:
    permissions = [
        (p["Principal"], p["SourceArn"], p["Action"])
        for p in stack.of_type("AWS::Lambda::Permission").values()
        if p["FunctionName"] == "{DispatcherFunction}"
    ]
    assert sorted(permissions) == [
        (
            "apigateway.amazonaws.com",
            arn("execute-api", "{FlushApi}/*/GET/flush/*"),
            "lambda:InvokeFunction",
        ),
        (
            "apigateway.amazonaws.com",
            arn("execute-api", "{FlushApi}/*/POST/flush"),
            "lambda:InvokeFunction",
        ),
        (
            "apigateway.amazonaws.com",
            arn("execute-api", "{FlushApi}/*/POST/flush/*/retry"),
            "lambda:InvokeFunction",
        ),
        (
            "apigateway.amazonaws.com",
            arn("execute-api", "{FlushApi}/*/POST/slack/actions"),
            "lambda:InvokeFunction",
        ),
        ("events.amazonaws.com", "{WarmPoolExitRule.Arn}", "lambda:InvokeFunction"),
        ("events.amazonaws.com", "{WarmPoolHookRule.Arn}", "lambda:InvokeFunction"),
    ]


def test_clearing_on_warm_pool_exit_can_be_turned_off() -> None:
    stack = DeployedStack({"ClearOnWarmPoolExit": "false", "WarmPoolHookName": ""})
    # The notifier is told, so that no message promises a clear that will not come.
    variables = stack.properties("NotifierFunction")["Environment"]["Variables"]
    assert variables["CLEAR_ON_WARM_POOL_EXIT"] == "false"
    assert not stack.of_type("AWS::Events::Rule")
    assert not {
        "WarmPoolExitInvokeConfig",
        "WarmPoolExitFailureQueue",
        "WarmPoolExitFailureQueuePolicy",
        "WarmPoolExitFailureQueueAlarm",
    } & set(stack.resources)
    role = role_statements(stack.properties("DispatcherRole"))
    assert not [s for s in role if "sqs:SendMessage" in s["Action"]]
    principals = [p["Principal"] for p in stack.of_type("AWS::Lambda::Permission").values()]
    assert "events.amazonaws.com" not in principals


def test_the_warm_pool_clear_reaches_only_instances_of_allowed_groups(
    stack: DeployedStack,
) -> None:
    # The dispatcher sends to one instance id; IAM authorises SendCommand on that instance's
    # ARN only when it carries an allowed group's tag, whatever the event said.
    instance_statements = [
        s
        for s in role_statements(stack.properties("DispatcherRole"))
        if "ssm:SendCommand" in s["Action"] and any(":instance/" in r for r in s["Resource"])
    ]
    assert instance_statements == [
        {
            "Sid": "SendOnlyToAllowedGroups",
            "Effect": "Allow",
            "Action": ["ssm:SendCommand"],
            "Resource": [arn("ec2", "instance/*")],
            "Condition": {
                "StringEquals": {
                    "ssm:resourceTag/aws:autoscaling:groupName": WARM_POOL_EXIT_PATTERN["detail"][
                        "AutoScalingGroupName"
                    ]
                }
            },
        }
    ]


HOOK_ARNS = [
    "arn:*:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/web-prod",
    "arn:*:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/web-staging",
]
COMPLETE_ALLOWED_GROUPS = (
    "Allow",
    ("autoscaling:CompleteLifecycleAction",),
    tuple(HOOK_ARNS),
    condition({"StringEquals": {"aws:RequestedRegion": REGION, "aws:ResourceAccount": ACCOUNT_ID}}),
)


def test_the_stacks_launch_hook_on_an_allowed_group_invokes_the_dispatcher(
    stack: DeployedStack,
) -> None:
    rule = stack.properties("WarmPoolHookRule")
    assert rule["EventPattern"] == {
        "source": ["aws.autoscaling"],
        "detail-type": ["EC2 Instance-launch Lifecycle Action"],
        "detail": {
            "LifecycleHookName": ["apcu-fleet-flush-warm-pool"],
            "AutoScalingGroupName": ["web-prod", "web-staging"],
        },
    }
    [target] = rule["Targets"]
    assert target["Arn"] == "{DispatcherFunction.Arn}"
    assert target["DeadLetterConfig"] == {"Arn": "{WarmPoolExitFailureQueue.Arn}"}
    # The stack creates no hook: the groups are not its own.
    assert not stack.of_type("AWS::AutoScaling::LifecycleHook")


def test_both_functions_may_complete_launch_actions_of_the_allowed_groups_only(
    stack: DeployedStack,
) -> None:
    for role in ("DispatcherRole", "NotifierRole"):
        granted = [
            s for s in role_statements(stack.properties(role)) if "autoscaling:Complete" in str(s)
        ]
        assert [frozen(s) for s in granted] == [COMPLETE_ALLOWED_GROUPS], role
    # Without a hook name neither may, and no rule is created.
    off = DeployedStack({"WarmPoolHookName": ""})
    for role in ("DispatcherRole", "NotifierRole"):
        assert "CompleteLifecycleAction" not in str(role_statements(off.properties(role)))
    assert "WarmPoolHookRule" not in off.resources


def test_what_an_uncleared_held_instance_becomes_is_the_operators_choice() -> None:
    stack = DeployedStack({"WarmPoolUncleared": "abandon", "WarmPoolHookName": "my-hook"})
    notifier = stack.properties("NotifierFunction")["Environment"]["Variables"]
    dispatcher = stack.properties("DispatcherFunction")["Environment"]["Variables"]
    assert notifier["WARM_POOL_UNCLEARED"] == "abandon"
    assert dispatcher["WARM_POOL_HOOK_NAME"] == "my-hook"
    assert stack.properties("WarmPoolHookRule")["EventPattern"]["detail"]["LifecycleHookName"] == [
        "my-hook"
    ]


def test_a_warm_pool_clear_that_fails_is_kept_and_raises_an_alarm(stack: DeployedStack) -> None:
    # EventBridge invokes the dispatcher asynchronously: Lambda retries twice, then keeps the
    # event with its error; what EventBridge cannot deliver lands in the same queue.
    config = stack.properties("WarmPoolExitInvokeConfig")
    assert config == {
        "FunctionName": "{DispatcherFunction}",
        "Qualifier": "$LATEST",
        "MaximumRetryAttempts": 2,
        "MaximumEventAgeInSeconds": 3600,
        "DestinationConfig": {"OnFailure": {"Destination": "{WarmPoolExitFailureQueue.Arn}"}},
    }
    policy = stack.properties("WarmPoolExitFailureQueuePolicy")
    assert policy["Queues"] == ["{WarmPoolExitFailureQueue}"]
    assert statements(policy["PolicyDocument"]) == [
        {
            "Sid": "EventBridgeDeadLettersFromTheWarmPoolRulesOnly",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": ["sqs:SendMessage"],
            "Resource": ["{WarmPoolExitFailureQueue.Arn}"],
            "Condition": {
                "ArnEquals": {"aws:SourceArn": ["{WarmPoolExitRule.Arn}", "{WarmPoolHookRule.Arn}"]}
            },
        }
    ]
    alarms = alarms_on(stack, "AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert [a["Dimensions"] for a in alarms.values() if fires_on_the_first(a)].count(
        [{"Name": "QueueName", "Value": "{WarmPoolExitFailureQueue.QueueName}"}]
    ) == 1


# ------------------------------------------------------------------------------ nothing lost


def test_notifier_retries_twice_then_keeps_the_event_in_its_failure_queue(
    stack: DeployedStack,
) -> None:
    config = stack.properties("NotifierFunctionEventInvokeConfig")
    assert config["FunctionName"] == "{NotifierFunction}"
    assert config["Qualifier"] == "$LATEST"
    assert config["MaximumRetryAttempts"] == 2
    assert 60 <= config["MaximumEventAgeInSeconds"] <= 6 * 3600
    assert config["DestinationConfig"] == {
        "OnFailure": {"Destination": "{NotifierFailureQueue.Arn}"}
    }
    sends = [
        s
        for s in role_statements(stack.properties("NotifierRole"))
        if "sqs:SendMessage" in s["Action"]
    ]
    assert [s["Resource"] for s in sends] == [["{NotifierFailureQueue.Arn}"]]


def test_sns_delivers_to_the_notifier_and_keeps_what_it_cannot_deliver(
    stack: DeployedStack,
) -> None:
    (subscription,) = stack.of_type("AWS::SNS::Subscription").values()
    assert subscription == {
        "Endpoint": "{NotifierFunction.Arn}",
        "Protocol": "lambda",
        "TopicArn": "{NotificationTopic}",
        "RedrivePolicy": {"deadLetterTargetArn": "{NotificationDeadLetterQueue.Arn}"},
    }
    sns_permissions = [
        p
        for p in stack.of_type("AWS::Lambda::Permission").values()
        if p["Principal"] == "sns.amazonaws.com"
    ]
    assert sns_permissions == [
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": "{NotifierFunction}",
            "Principal": "sns.amazonaws.com",
            "SourceArn": "{NotificationTopic}",
        }
    ]


def test_only_the_notification_topic_may_put_messages_in_the_dead_letter_queue(
    stack: DeployedStack,
) -> None:
    queue_policy = stack.properties("NotificationDeadLetterQueuePolicy")
    assert queue_policy["Queues"] == ["{NotificationDeadLetterQueue}"]
    assert statements(queue_policy["PolicyDocument"]) == [
        {
            "Sid": "SnsRedrivesFromTheNotificationTopicOnly",
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": ["sqs:SendMessage"],
            "Resource": ["{NotificationDeadLetterQueue.Arn}"],
            "Condition": {"ArnEquals": {"aws:SourceArn": "{NotificationTopic}"}},
        }
    ]


def test_queues_are_encrypted_and_keep_messages_for_14_days(stack: DeployedStack) -> None:
    queues = stack.of_type("AWS::SQS::Queue")
    assert set(queues) == {
        "NotifierFailureQueue",
        "NotificationDeadLetterQueue",
        "WatchdogDeadLetterQueue",
        "WarmPoolExitFailureQueue",
    }
    for queue in queues.values():
        assert queue["SqsManagedSseEnabled"] is True
        assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_topic_is_a_standard_topic_because_ssm_cannot_publish_to_fifo(
    stack: DeployedStack,
) -> None:
    (topic,) = stack.of_type("AWS::SNS::Topic").values()
    assert not topic.get("FifoTopic", False)
    assert "KmsMasterKeyId" not in topic


def alarms_on(stack: DeployedStack, namespace: str, metric: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: alarm
        for logical_id, alarm in stack.of_type("AWS::CloudWatch::Alarm").items()
        if alarm["Namespace"] == namespace and alarm["MetricName"] == metric
    }


def fires_on_the_first(alarm: dict[str, Any]) -> bool:
    return bool(
        alarm["Threshold"] == 0
        and alarm["ComparisonOperator"] == "GreaterThanThreshold"
        and alarm["EvaluationPeriods"] == 1
        and alarm["Period"] <= 300
        and alarm["TreatMissingData"] == "notBreaching"
    )


def test_a_message_in_either_queue_raises_an_alarm(stack: DeployedStack) -> None:
    alarms = alarms_on(stack, "AWS/SQS", "ApproximateNumberOfMessagesVisible")
    watched = {
        alarm["Dimensions"][0]["Value"] for alarm in alarms.values() if fires_on_the_first(alarm)
    }
    assert watched == {"{" + queue + ".QueueName}" for queue in stack.of_type("AWS::SQS::Queue")}


def test_an_error_in_either_function_raises_an_alarm(stack: DeployedStack) -> None:
    alarms = alarms_on(stack, "AWS/Lambda", "Errors")
    watched = {
        alarm["Dimensions"][0]["Value"]
        for alarm in alarms.values()
        if fires_on_the_first(alarm) and alarm["Statistic"] == "Sum"
    }
    assert watched == {"{DispatcherFunction}", "{NotifierFunction}"}


def test_a_failed_event_that_could_not_reach_the_failure_queue_raises_an_alarm(
    stack: DeployedStack,
) -> None:
    alarms = alarms_on(stack, "AWS/Lambda", "DestinationDeliveryFailures")
    assert [a["Dimensions"] for a in alarms.values() if fires_on_the_first(a)] == [
        [{"Name": "FunctionName", "Value": "{NotifierFunction}"}]
    ]


def test_alarms_notify_the_given_topic_and_nothing_when_none_is_given(
    stack: DeployedStack,
) -> None:
    alarms = stack.of_type("AWS::CloudWatch::Alarm")
    assert alarms
    assert all("AlarmActions" not in alarm for alarm in alarms.values())
    with_topic = DeployedStack({"AlarmTopicArn": ALARM_TOPIC})
    for alarm in with_topic.of_type("AWS::CloudWatch::Alarm").values():
        assert alarm["AlarmActions"] == [ALARM_TOPIC]


# ------------------------------------------------------------------------------ the watchdog


def test_commands_table_is_keyed_by_command_id_on_demand_encrypted_and_expires_items(
    stack: DeployedStack,
) -> None:
    table = stack.properties("CommandsTable")
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": "commandId", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "commandId", "AttributeType": "S"}]
    # The attribute apcu_clear writes its expiry into (30 days after the request)
    assert table["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert (
        "ttl" in CommandRecord("c", "g", "", "r", "", "api", "2026-01-01T00:00:00Z", "x").to_item()
    )
    assert table["SSESpecification"] == {"SSEEnabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert not stack.of_type("AWS::DynamoDB::Table").keys() - {"CommandsTable"}


def test_watchdog_role_is_for_scheduler_of_this_account_and_may_only_invoke_the_notifier(
    stack: DeployedStack,
) -> None:
    role = stack.properties("WatchdogRole")
    assert statements(role["AssumeRolePolicyDocument"]) == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "scheduler.amazonaws.com"},
            "Action": ["sts:AssumeRole"],
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}},
        }
    ]
    # The dead-letter queue is written with the schedule's role too (EventBridge Scheduler
    # user guide, configuring a schedule's dead-letter queue).
    invoke = stack.properties("WatchdogInvokePolicy")
    assert invoke["RoleName"] == "{WatchdogRole}"
    granted = role_statements(role) + statements(invoke["PolicyDocument"])
    assert {frozen(s) for s in granted} == {
        ("Allow", ("lambda:InvokeFunction",), ("{NotifierFunction.Arn}",), no_condition()),
        ("Allow", ("sqs:SendMessage",), ("{WatchdogDeadLetterQueue.Arn}",), no_condition()),
    }


def test_the_schedules_live_in_the_stacks_group_and_target_the_notifier(
    stack: DeployedStack,
) -> None:
    assert set(stack.of_type("AWS::Scheduler::ScheduleGroup")) == {"WatchdogScheduleGroup"}
    variables = stack.properties("DispatcherFunction")["Environment"]["Variables"]
    assert variables["WATCHDOG_GROUP"] == "{WatchdogScheduleGroup}"
    assert variables["WATCHDOG_TARGET_ARN"] == "{NotifierFunction.Arn}"
    assert variables["WATCHDOG_DEAD_LETTER_ARN"] == "{WatchdogDeadLetterQueue.Arn}"


def test_the_dispatchers_execution_timeout_is_the_documents(stack: DeployedStack) -> None:
    # The watchdog fires after expiry = delivery timeout + this; a shorter value would call a
    # healthy command stuck.
    variables = stack.properties("DispatcherFunction")["Environment"]["Variables"]
    [step] = stack.properties("FlushDocument")["Content"]["mainSteps"]
    assert variables["EXECUTION_TIMEOUT_SECONDS"] == step["inputs"]["timeoutSeconds"]


def test_both_functions_ship_the_clear_package_from_their_makefiles() -> None:
    resources = cfn_template.load()["Resources"]
    for function, folder in (
        ("DispatcherFunction", "dispatcher"),
        ("NotifierFunction", "notifier"),
    ):
        assert resources[function]["Metadata"]["BuildMethod"] == "makefile"
        makefile = (REPO / "src" / folder / "Makefile").read_text(encoding="utf-8")
        assert f"build-{function}:" in makefile
        assert "../clear/apcu_clear" in makefile
        assert '"$(CLEAR_PACKAGE)"' in makefile


def test_a_lost_notification_and_an_unarmed_watchdog_each_raise_an_alarm(
    stack: DeployedStack,
) -> None:
    notifier_service = stack.properties("NotifierFunction")["Environment"]["Variables"][
        "POWERTOOLS_SERVICE_NAME"
    ]
    for metric, service in (
        ("NotificationMissing", notifier_service),
        # The dispatcher's Metrics name their service themselves (tests/dispatcher/test_watchdog.py).
        ("WatchdogNotArmed", "apcu-dispatcher"),
    ):
        alarms = alarms_on(stack, "ApcuFleetFlush", metric)
        assert [a["Dimensions"] for a in alarms.values() if fires_on_the_first(a)] == [
            [{"Name": "service", "Value": service}]
        ], metric


# ------------------------------------------------------------------------------ the document


def flush_document(stack: DeployedStack) -> dict[str, Any]:
    return stack.properties("FlushDocument")


def test_document_is_a_command_document_updated_in_place_by_new_versions(
    stack: DeployedStack,
) -> None:
    document = flush_document(stack)
    assert document["DocumentType"] == "Command"
    assert document["DocumentFormat"] == "YAML"
    assert document["UpdateMethod"] == "NewVersion"
    assert document["Content"]["schemaVersion"] == "2.2"
    (step,) = document["Content"]["mainSteps"]
    assert step["action"] == "aws:runShellScript"
    assert step["precondition"] == {"StringEquals": ["platformType", "Linux"]}


def test_dispatcher_knows_the_documents_execution_timeout(stack: DeployedStack) -> None:
    # A command lives at most the delivery timeout plus the script's timeoutSeconds; the
    # dispatcher looks that far back for a clear still running.
    (step,) = flush_document(stack)["Content"]["mainSteps"]
    variables = stack.properties("DispatcherFunction")["Environment"]["Variables"]
    assert variables["EXECUTION_TIMEOUT_SECONDS"] == step["inputs"]["timeoutSeconds"] == "60"


def test_document_takes_an_action_and_a_prefix_checked_with_the_dispatchers_pattern(
    stack: DeployedStack,
) -> None:
    from apcu_dispatcher.validation import DOCUMENT_PREFIX_PATTERN, PREFIX_PATTERN

    parameters = flush_document(stack)["Content"]["parameters"]
    assert set(parameters) == {"action", "prefix"}
    action = parameters["action"]
    # SSM refuses any other action before the script runs.
    assert action["allowedPattern"] == "^(clear-apcu|reset-opcache|clear-all)$"
    assert action["type"] == "String"
    assert action["default"] == "clear-apcu"
    assert action["interpolationType"] == "ENV_VAR"
    prefix = parameters["prefix"]
    assert prefix["allowedPattern"] == DOCUMENT_PREFIX_PATTERN == "^$|" + PREFIX_PATTERN
    assert PREFIX_PATTERN == "^[A-Za-z0-9_.:-]{1,64}$"
    assert prefix["type"] == "String"
    assert prefix["default"] == ""
    assert prefix["interpolationType"] == "ENV_VAR"


@pytest.mark.parametrize("value", ["", "users:", "cache.v2_a-b", "x" * 64])
def test_document_pattern_accepts_a_prefix_or_nothing(stack: DeployedStack, value: str) -> None:
    pattern = flush_document(stack)["Content"]["parameters"]["prefix"]["allowedPattern"]
    assert re.search(pattern, value)


@pytest.mark.parametrize(
    "value", ["a b", "a'b", '"', "$(id)", "`id`", "a;reboot", "a\nb", "x" * 65, "ключ"]
)
def test_document_pattern_refuses_anything_a_shell_could_read_as_code(
    stack: DeployedStack, value: str
) -> None:
    pattern = flush_document(stack)["Content"]["parameters"]["prefix"]["allowedPattern"]
    assert not re.search(pattern, value)


def flush_script_template(stack: DeployedStack) -> str:
    """The runCommand as written in the template, before CloudFormation's Fn::Sub."""
    raw_steps = stack.template["Resources"]["FlushDocument"]["Properties"]["Content"]["mainSteps"]
    (command,) = raw_steps[0]["inputs"]["runCommand"]
    script = command["Fn::Sub"]
    assert isinstance(script, str)
    return script


def test_script_fails_the_invocation_on_any_error(stack: DeployedStack) -> None:
    script = flush_script_template(stack)
    assert script.splitlines()[0] == "set -eu"
    curls = [
        line for line in script.splitlines() if "curl" in line and not line.lstrip().startswith("#")
    ]
    # APCu with and without a prefix, OPcache's reset and its confirmation.
    assert len(curls) == 4
    for line in curls:
        # -f fails on an HTTP error; --fail-with-body also prints opcache.php's reason.
        assert " curl -fsS " in line or " curl -sS --fail-with-body " in line
        assert "--max-time " in line


def test_script_runs_curl_in_the_container_without_asking_for_a_terminal(
    stack: DeployedStack,
) -> None:
    script = flush_script_template(stack)
    assert "container='${ContainerName}'" in script
    execs = [
        line.strip() for line in script.splitlines() if "docker exec" in line and "echo" not in line
    ]
    # One way into the container, through which every curl goes (on_node); with no option
    # at all between `exec` and the container: in particular no -t or -it, which asks for a
    # terminal SSM does not have.
    assert execs == ['docker exec "$container" "$@"']
    curls = [
        line
        for line in script.splitlines()
        if "curl " in line and not line.lstrip().startswith("#")
    ]
    assert len(curls) == 4
    assert all("on_node curl " in line for line in curls), curls
    assert " -t " not in script and " -it " not in script and "--tty" not in script


def test_script_uses_only_the_container_name_and_port_parameters(stack: DeployedStack) -> None:
    script = flush_script_template(stack)
    substituted = set(re.findall(r"\$\{(?!!)([^}]*)\}", script))
    assert substituted == {"ContainerName", "ApcuPort"}
    assert "url='http://127.0.0.1:${ApcuPort}/apcu.php'" in script
    assert "opcache_url='http://127.0.0.1:${ApcuPort}/opcache.php'" in script
    # After CloudFormation's Fn::Sub: the parameters filled in, `${!X}` turned into `${X}`.
    deployed = deployed_script(DeployedStack({"ContainerName": "php-web", "ApcuPort": "9123"}))
    assert "container='php-web'" in deployed
    # Empty, for nginx and php-fpm installed on the instance itself
    on_host = deployed_script(DeployedStack({"ContainerName": "", "ApcuPort": "9123"}))
    assert "container=''" in on_host
    assert "url='http://127.0.0.1:9123/apcu.php'" in deployed
    assert 'if [ -z "${SSM_prefix+x}" ]; then' in deployed
    assert 'if [ -z "${SSM_action+x}" ]; then' in deployed
    assert "${!" not in deployed


def deployed_script(stack: DeployedStack) -> str:
    (command,) = stack.properties("FlushDocument")["Content"]["mainSteps"][0]["inputs"][
        "runCommand"
    ]
    assert isinstance(command, str)
    return command


def test_the_shared_template_reader_gives_the_script_cloudformation_deploys() -> None:
    # The web node test and the local run take the script from harness.cfn_template;
    # it must be the very script CloudFormation would put in the document.
    values = {"ContainerName": "php-web", "ApcuPort": "9123"}
    assert cfn_template.flush_script(values).rstrip("\n") == deployed_script(
        DeployedStack(values)
    ).rstrip("\n")


@pytest.mark.parametrize(
    ("parameter", "good", "bad"),
    [
        (
            "ContainerName",
            # Empty: nginx and php-fpm installed on the instance, no container
            ["nginx", "web_1.php-fpm", "a", ""],
            ["-rm", "a b", "nginx;id", "$(id)", "'", "x" * 129, " ", "nginx\n"],
        ),
        ("ApcuPort", ["80", "8099", "65535"], ["", "0", "080", "80 ", "8O", "123456"]),
        (
            "AllowedGroups",
            ["web-prod", "web-prod,web-staging", "awseb-e-abc123-stack-AWSEBAutoScalingGroup-X1"],
            ["", "web prod", "web-prod,", ",web", "${aws:username}", "*", "web-prod, web-staging"],
        ),
        (
            "MaxConcurrency",
            ["1", "10", "50%", "5%", "100%"],
            ["0", "0%", "101%", "50 %", "-1", "1000%"],
        ),
        (
            "AlertMention",
            [
                "",
                "<!here>",
                "<!channel>",
                "<@U012AB3CD>",
                "<!subteam^S012AB3CD>",
                "<!here> <@U012AB3CD>",
            ],
            [
                "@here",
                "here",
                "<https://example.com|click>",
                "<!here>;",
                " <!here>",
                "<!here><!channel>",
            ],
        ),
        (
            "SlackWebhookSecretArn",
            ["", EXISTING_SECRET],
            [
                "slack-webhook",
                f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:team/slack-webhook",
            ],
        ),
    ],
)
def test_stack_parameters_refuse_values_that_would_break_or_widen_the_stack(
    stack: DeployedStack, parameter: str, good: list[str], bad: list[str]
) -> None:
    pattern = stack.template["Parameters"][parameter]["AllowedPattern"]
    # CloudFormation matches AllowedPattern against the whole value.
    for value in good:
        assert re.fullmatch(pattern, value), (parameter, value)
    for value in bad:
        assert not re.fullmatch(pattern, value), (parameter, value)


def test_sendcommand_settings_are_limited_to_what_ssm_accepts(stack: DeployedStack) -> None:
    send_command = (
        botocore.session.get_session().get_service_model("ssm").operation_model("SendCommand")
    )
    assert send_command.input_shape is not None
    members = send_command.input_shape.members
    parameters = stack.template["Parameters"]
    assert (
        parameters["MaxConcurrency"]["AllowedPattern"]
        == members["MaxConcurrency"].metadata["pattern"]
    )
    assert re.fullmatch(
        members["MaxConcurrency"].metadata["pattern"], parameters["MaxConcurrency"]["Default"]
    )
    timeout = members["TimeoutSeconds"].metadata
    assert parameters["DeliveryTimeoutSeconds"]["MinValue"] == timeout["min"]
    assert parameters["DeliveryTimeoutSeconds"]["MaxValue"] <= timeout["max"]
    assert parameters["MessageLanguage"]["AllowedValues"] == ["en", "ja"]


# ------------------------------------------------------------------------------ outputs


def test_outputs_give_everything_an_operator_needs_next(stack: DeployedStack) -> None:
    assert stack.outputs == {
        "ApiUrl": f"https://{{FlushApi}}.execute-api.{REGION}.amazonaws.com/flush",
        "NotificationTopicArn": "{NotificationTopic}",
        "DocumentName": "{FlushDocument}",
        "DispatcherFunctionName": "{DispatcherFunction}",
        "NotifierFunctionName": "{NotifierFunction}",
        "NotifierFailureQueueUrl": "{NotifierFailureQueue}",
        "NotificationDeadLetterQueueUrl": "{NotificationDeadLetterQueue}",
        "WarmPoolExitFailureQueueUrl": "{WarmPoolExitFailureQueue}",
        "SlackWebhookSecretArn": "{SlackWebhookSecret}",
        "CommandsTableName": "{CommandsTable}",
        "WatchdogScheduleGroupName": "{WatchdogScheduleGroup}",
        "WatchdogDeadLetterQueueUrl": "{WatchdogDeadLetterQueue}",
        "NotificationRoleArn": "{NotificationRole.Arn}",
        "WatchdogRoleArn": "{WatchdogRole.Arn}",
        "NotifierFunctionArn": "{NotifierFunction.Arn}",
        "WatchdogDeadLetterQueueArn": "{WatchdogDeadLetterQueue.Arn}",
    }
    off = DeployedStack({"ClearOnWarmPoolExit": "false", "WarmPoolHookName": ""}).outputs
    assert "WarmPoolExitFailureQueueUrl" not in off
    # Either way in alone keeps the failure queue: its events fail to it.
    assert "WarmPoolExitFailureQueueUrl" in DeployedStack({"ClearOnWarmPoolExit": "false"}).outputs


def _references(node: Any, names: set[str]) -> set[str]:
    """The resources a property tree refers to: Ref, Fn::GetAtt and ${...} in Fn::Sub."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else str(value).split(".")[0]
                found.add(target)
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) else value
                found |= {m.split(".")[0] for m in re.findall(r"\$\{([^}!]+)\}", text)}
                if isinstance(value, list):
                    found |= _references(value[1], names)
            else:
                found |= _references(value, names)
    elif isinstance(node, list):
        for value in node:
            found |= _references(value, names)
    return found & names


def test_the_resources_depend_on_each_other_in_no_circle() -> None:
    # CloudFormation refuses a template whose resources refer to each other in a circle; the
    # notifier, the scheduler role and the role's right to invoke the notifier come closest.
    resources = _transformed()["Resources"]
    names = set(resources)
    edges = {
        name: _references(resource.get("Properties", {}), names)
        | set(
            [resource["DependsOn"]]
            if isinstance(resource.get("DependsOn"), str)
            else resource.get("DependsOn", [])
        )
        for name, resource in resources.items()
    }
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, " -> ".join((*path, name))
        if name in done:
            return
        for target in sorted(edges[name]):
            visit(target, (*path, name))
        done.add(name)

    for name in sorted(names):
        visit(name, ())
