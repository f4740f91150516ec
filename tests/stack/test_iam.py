"""The stack's IAM, after the SAM transform: least privilege for each role, statement by
statement, so a loosened policy fails the build.

Each role's grants are compared whole (`granted` reads a role's inline policies and the
policies attached to it apart). The notifier's durable grants name its own function and alias,
so they live in a policy apart from its role: inside it, role, function and alias would refer to
each other in a circle.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.stack.checks import (
    ALLOWED_GROUPS_TAG,
    CLAIM_ITEMS_ONLY,
    EXISTING_SECRET,
    HOOK_ARNS,
    READ_ALARMS,
    SECRET_KEY,
    SSM_SERVICE_LINKED_ROLE,
    STOP_ALARM,
    TOPIC_KEY,
    Frozen,
    arn,
    condition,
    every_policy_document,
    frozen,
    granted,
    no_condition,
)
from tests.stack.deployed import ACCOUNT_ID, DeployedStack, role_statements, statements

# Actions whose service defines no resource type (Service Authorization Reference), the
# only ones allowed on Resource "*" (with DescribeAlarms, for a composite stop alarm).
NO_RESOURCE_LEVEL_ACTIONS = {
    "autoscaling:DescribeAutoScalingGroups",
    "ec2:DescribeInstances",
    "ssm:DescribeInstanceInformation",
    "ssm:ListCommands",
    "ssm:ListCommandInvocations",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
}
# CloudWatch returns a composite alarm only to a DescribeAlarms granted on "*" (CloudWatch
# permissions reference); a composite alarm is how several alarms make the one SSM takes.
COMPOSITE_ALARM_READ = {"cloudwatch:DescribeAlarms"}

COMPLETE_ALLOWED_GROUPS: Frozen = (
    "Allow",
    ("autoscaling:CompleteLifecycleAction",),
    tuple(HOOK_ARNS),
    condition(
        {"StringEquals": {"aws:RequestedRegion": "us-east-1", "aws:ResourceAccount": ACCOUNT_ID}}
    ),
)
HOLD_AND_COMPLETE_ALLOWED_GROUPS: Frozen = (
    "Allow",
    ("autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat"),
    tuple(HOOK_ARNS),
    COMPLETE_ALLOWED_GROUPS[3],
)
SEND_THE_DOCUMENT: Frozen = (
    "Allow",
    ("ssm:SendCommand",),
    (arn("ssm", "document/{FlushDocument}"),),
    no_condition(),
)
SEND_TO_ALLOWED_GROUPS: Frozen = (
    "Allow",
    ("ssm:SendCommand",),
    (arn("ec2", "instance/*"),),
    ALLOWED_GROUPS_TAG,
)
# Durable APIs are authorised on the execution's ARN, function:NAME:<version>/durable-execution/...
# (Lambda developer guide, durable functions security), which an alias never matches.
OWN_EXECUTIONS = ("{NotifierFunction.Arn}:*",)


@pytest.fixture(scope="module")
def stack() -> DeployedStack:
    return DeployedStack()


def test_no_policy_in_the_stack_grants_a_wildcard_action() -> None:
    for parameters in (
        {},
        {"SlackWebhookSecretArn": EXISTING_SECRET},
        {"SlackMode": "app", "StopAlarmName": STOP_ALARM, "Tracing": "Active"},
    ):
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


@pytest.mark.parametrize(
    "parameters",
    [
        {"NotificationTopicKmsKeyArn": TOPIC_KEY},
        {"SlackMode": "app", "StopAlarmName": STOP_ALARM, "Tracing": "Active"},
    ],
    ids=["webhook", "app-braked-traced"],
)
def test_star_resources_only_for_actions_without_resource_level_permissions(
    parameters: dict[str, str],
) -> None:
    stack = DeployedStack(parameters)
    for owner, document in every_policy_document(stack):
        for statement in statements(document):
            if statement["Effect"] == "Allow" and "*" in statement["Resource"]:
                allowed = NO_RESOURCE_LEVEL_ACTIONS | COMPOSITE_ALARM_READ
                assert set(statement["Action"]) <= allowed, (owner, statement)


def test_no_role_carries_a_managed_policy_and_only_named_grants_live_apart(
    stack: DeployedStack,
) -> None:
    # SAM's generated role would bring AWSLambdaBasicExecutionRole (every log group of the
    # account), and with DurableConfig AWSLambdaBasicDurableExecutionRolePolicy (every
    # function's executions); every permission must be one of the statements checked here.
    for logical_id, role in stack.of_type("AWS::IAM::Role").items():
        assert "ManagedPolicyArns" not in role, logical_id
    assert set(stack.of_type("AWS::IAM::Role")) == {
        "DispatcherRole",
        "NotifierRole",
        "NotificationRole",
    }
    assert not stack.of_type("AWS::IAM::ManagedPolicy")
    assert not stack.of_type("AWS::IAM::RolePolicy")
    # The policies apart from their roles, each because it names its role's own function.
    assert {k: v["Roles"] for k, v in stack.of_type("AWS::IAM::Policy").items()} == {
        "NotifierDurablePolicy": ["{NotifierRole}"]
    }
    app = DeployedStack({"SlackMode": "app"})
    assert {k: v["Roles"] for k, v in app.of_type("AWS::IAM::Policy").items()} == {
        "NotifierDurablePolicy": ["{NotifierRole}"],
        "DispatcherSelfInvokePolicy": ["{DispatcherRole}"],
    }


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


# ------------------------------------------------------------------------------ the dispatcher


def test_dispatcher_may_do_exactly_what_a_dispatch_needs(stack: DeployedStack) -> None:
    assert granted(stack, "DispatcherRole") == {
        (
            "Allow",
            ("logs:CreateLogStream", "logs:PutLogEvents"),
            (arn("logs", "log-group:{DispatcherLogGroup}:log-stream:*"),),
            no_condition(),
        ),
        SEND_THE_DOCUMENT,
        SEND_TO_ALLOWED_GROUPS,
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
        # A clear's record: written with UpdateItem (its missing fields only), read with GetItem.
        (
            "Allow",
            ("dynamodb:GetItem", "dynamodb:UpdateItem"),
            ("{CommandsTable.Arn}",),
            no_condition(),
        ),
        # The claim on a clear's target: claim items only, never a clear's record
        (
            "Allow",
            ("dynamodb:DeleteItem", "dynamodb:PutItem"),
            ("{CommandsTable.Arn}",),
            CLAIM_ITEMS_ONLY,
        ),
        # Each clear starts on the notifier's alias, the one ARN the dispatcher may invoke.
        ("Allow", ("lambda:InvokeFunction",), ("{NotifierFunctionAliaslive}",), no_condition()),
    }


def test_the_dispatcher_starts_clears_on_the_alias_it_is_told(stack: DeployedStack) -> None:
    variables = stack.properties("DispatcherFunction")["Environment"]["Variables"]
    invokes = [
        s
        for s in role_statements(stack.properties("DispatcherRole"))
        if "lambda:InvokeFunction" in s["Action"]
    ]
    assert [s["Resource"] for s in invokes] == [[variables["NOTIFIER_ALIAS_ARN"]]]
    alias_id, alias = stack.only("AWS::Lambda::Alias")
    assert variables["NOTIFIER_ALIAS_ARN"] == "{" + alias_id + "}"
    assert alias["FunctionName"] == "{NotifierFunction}"


def test_a_stop_alarm_gives_each_role_that_sends_its_read_and_ssms_service_linked_role(
    stack: DeployedStack,
) -> None:
    # Given a stack deployed with a stop alarm
    braked = DeployedStack({"StopAlarmName": STOP_ALARM})
    for role, function in (
        ("DispatcherRole", "DispatcherFunction"),
        ("NotifierRole", "NotifierFunction"),
    ):
        # Then each function that sends a command carrying it is told its name
        variables = braked.properties(function)["Environment"]["Variables"]
        assert variables["STOP_ALARM_NAME"] == STOP_ALARM
        # and its role gains exactly two statements: the alarm's state, read on "*" because
        # CloudWatch returns a composite alarm only so; and SSM's service-linked role, which a
        # command carrying an alarm needs, for SSM only (the condition holds it to that).
        without, with_alarm = granted(stack, role), granted(braked, role)
        assert with_alarm - without == {READ_ALARMS, SSM_SERVICE_LINKED_ROLE}, role
        assert without <= with_alarm
        # And DescribeAlarms reads only: nothing either role can change in CloudWatch.
        assert not any("cloudwatch" in action for s in without for action in s[1])
        assert not any(action.startswith("iam:Create") for s in without for action in s[1])


def test_the_service_linked_role_statement_names_ssms_role_and_holds_to_ssm() -> None:
    braked = DeployedStack({"StopAlarmName": STOP_ALARM})
    for role in ("DispatcherRole", "NotifierRole"):
        [statement] = [
            s
            for s in role_statements(braked.properties(role))
            if "iam:CreateServiceLinkedRole" in s["Action"]
        ]
        assert statement == {
            "Sid": "LetSsmCreateItsServiceLinkedRole",
            "Effect": "Allow",
            "Action": ["iam:CreateServiceLinkedRole"],
            "Resource": [
                f"arn:aws:iam::{ACCOUNT_ID}:role/aws-service-role/ssm.amazonaws.com/"
                "AWSServiceRoleForAmazonSSM"
            ],
            "Condition": {"StringEquals": {"iam:AWSServiceName": "ssm.amazonaws.com"}},
        }


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
    instance_statements = [s for s in send if any(":instance/" in r for r in s["Resource"])]
    assert [frozen(s) for s in instance_statements] == [SEND_TO_ALLOWED_GROUPS]


def test_dispatcher_passes_only_the_notification_role_and_only_to_ssm(
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
        }
    ]
    passed = stack.properties("DispatcherFunction")["Environment"]["Variables"]
    assert passed["NOTIFICATION_ROLE_ARN"] == "{NotificationRole.Arn}"


def test_in_app_mode_the_dispatcher_may_invoke_itself_and_nothing_else_more() -> None:
    # POST /slack/actions answers Slack at once and hands the work to an asynchronous
    # invocation of the dispatcher itself, by the unqualified ARN API Gateway invokes it by.
    app = DeployedStack({"SlackMode": "app"})
    policy = app.properties("DispatcherSelfInvokePolicy")
    assert policy["Roles"] == ["{DispatcherRole}"]
    assert [frozen(s) for s in statements(policy["PolicyDocument"])] == [
        ("Allow", ("lambda:InvokeFunction",), ("{DispatcherFunction.Arn}",), no_condition())
    ]
    invokes = {s for s in granted(app, "DispatcherRole") if "lambda:InvokeFunction" in s[1]}
    assert {s[2] for s in invokes} == {
        ("{NotifierFunctionAliaslive}",),
        ("{DispatcherFunction.Arn}",),
    }
    # Webhook mode answers /slack/actions with a 404 and invokes nothing of its own.
    assert "DispatcherSelfInvokePolicy" not in DeployedStack().resources


# ------------------------------------------------------------------------------ the notifier


def test_notifier_may_do_exactly_what_a_clear_needs(stack: DeployedStack) -> None:
    assert granted(stack, "NotifierRole") == {
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
        # A retry goes to agents that are Online only.
        ("Allow", ("ssm:DescribeInstanceInformation",), ("*",), no_condition()),
        HOLD_AND_COMPLETE_ALLOWED_GROUPS,
        ("Allow", ("secretsmanager:GetSecretValue",), ("{SlackWebhookSecret}",), no_condition()),
        (
            "Allow",
            ("dynamodb:GetItem", "dynamodb:UpdateItem"),
            ("{CommandsTable.Arn}",),
            no_condition(),
        ),
        # Frees a clear's group: claim items only
        ("Allow", ("dynamodb:DeleteItem",), ("{CommandsTable.Arn}",), CLAIM_ITEMS_ONLY),
        # A clear converges: the stack's document, to instances of allowed groups only.
        SEND_THE_DOCUMENT,
        SEND_TO_ALLOWED_GROUPS,
        # A failed execution's start event, kept in the dead-letter queue.
        ("Allow", ("sqs:SendMessage",), ("{NotifierFailureQueue.Arn}",), no_condition()),
        # Its own executions only: checkpoints, their state, the callbacks the relay completes
        (
            "Allow",
            ("lambda:CheckpointDurableExecution", "lambda:GetDurableExecutionState"),
            OWN_EXECUTIONS,
            no_condition(),
        ),
        ("Allow", ("lambda:SendDurableExecutionCallbackSuccess",), OWN_EXECUTIONS, no_condition()),
        # and the relay's start of a clear, on the alias it was itself invoked by.
        ("Allow", ("lambda:InvokeFunction",), ("{NotifierFunctionAliaslive}",), no_condition()),
    }


def test_the_notifiers_durable_grants_name_its_own_function_apart_from_its_role(
    stack: DeployedStack,
) -> None:
    policy = stack.properties("NotifierDurablePolicy")
    assert policy["Roles"] == ["{NotifierRole}"]
    # Every version's executions (the qualifier is a version, never the alias), of this
    # function only: an unqualified ARN would match no execution at all; and the alias alone
    # for a start.
    assert [frozen(s) for s in statements(policy["PolicyDocument"])] == [
        (
            "Allow",
            ("lambda:CheckpointDurableExecution", "lambda:GetDurableExecutionState"),
            OWN_EXECUTIONS,
            no_condition(),
        ),
        ("Allow", ("lambda:SendDurableExecutionCallbackSuccess",), OWN_EXECUTIONS, no_condition()),
        ("Allow", ("lambda:InvokeFunction",), ("{NotifierFunctionAliaslive}",), no_condition()),
    ]
    # Nothing durable in the role itself, which the function refers to.
    assert not [
        s
        for s in role_statements(stack.properties("NotifierRole"))
        if any(action.startswith("lambda:") for action in s["Action"])
    ]


def test_the_notifier_sends_what_the_dispatcher_may_send_and_nothing_more(
    stack: DeployedStack,
) -> None:
    # The same document and group-tag statements as the dispatcher's: a retry the notifier
    # sends on its own can reach nothing a clear could not.
    def sends(role: str) -> set[tuple[Any, ...]]:
        return {(s[2], s[3]) for s in granted(stack, role) if "ssm:SendCommand" in s[1]}

    assert sends("NotifierRole") == sends("DispatcherRole")
    assert len(sends("NotifierRole")) == 2


def test_the_notifier_passes_no_role(stack: DeployedStack) -> None:
    # A retry carries no NotificationConfig (its round is polled): no role goes to SSM.
    for parameters in ({}, {"SlackMode": "app", "StopAlarmName": STOP_ALARM}):
        notifier = granted(DeployedStack(parameters), "NotifierRole")
        assert not [s for s in notifier if "iam:PassRole" in s[1]]


def test_the_notifier_reads_the_stop_alarm_only_when_there_is_one(stack: DeployedStack) -> None:
    assert READ_ALARMS not in granted(stack, "NotifierRole")
    braked = DeployedStack({"StopAlarmName": "db-cpu-high"})
    assert READ_ALARMS in granted(braked, "NotifierRole")


def test_without_a_launch_hook_neither_function_may_touch_lifecycle_actions() -> None:
    off = DeployedStack({"WarmPoolHookName": ""})
    for role in ("DispatcherRole", "NotifierRole"):
        assert not [s for s in granted(off, role) if any("Lifecycle" in a for a in s[1])], role


# ------------------------------------------------------------------------------ secrets


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
        "StringEquals": {"kms:ViaService": "secretsmanager.us-east-1.amazonaws.com"}
    }


def test_the_created_webhook_secret_says_what_to_put_in_it(stack: DeployedStack) -> None:
    (secret,) = stack.of_type("AWS::SecretsManager::Secret").values()
    assert not secret["SecretString"].startswith("https://"), "a placeholder, never a real URL"
    assert "plain string" in secret["Description"]
    assert '{"url": "..."}' in secret["Description"]
    assert stack.outputs["SlackWebhookSecretArn"] == "{SlackWebhookSecret}"


# ------------------------------------------------------------------------------ SSM's role


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
