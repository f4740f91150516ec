"""Instances leaving a warm pool, and launches a lifecycle hook holds: the rules that hand them
to the dispatcher, the permissions to act on the launch, and where a failed one is kept."""

from __future__ import annotations

import pytest

from tests.stack.checks import (
    HOOK_ARNS,
    arn,
    condition,
    granted,
    no_condition,
    watched,
)
from tests.stack.deployed import ACCOUNT_ID, REGION, DeployedStack, role_statements, statements


@pytest.fixture(scope="module")
def stack() -> DeployedStack:
    return DeployedStack()


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


def test_in_app_mode_the_slack_work_fails_to_the_same_queue_without_any_warm_pool() -> None:
    # The Slack route hands its work to an asynchronous invocation of the dispatcher: what
    # fails there after Lambda's retries is kept with its error too, and the queue's alarm
    # fires; EventBridge, with no rule, may write nothing there.
    stack = DeployedStack(
        {"ClearOnWarmPoolExit": "false", "WarmPoolHookName": "", "SlackMode": "app"}
    )
    assert stack.properties("WarmPoolExitInvokeConfig")["DestinationConfig"] == {
        "OnFailure": {"Destination": "{WarmPoolExitFailureQueue.Arn}"}
    }
    assert "WarmPoolExitFailureQueueAlarm" in stack.resources
    assert "WarmPoolExitFailureQueuePolicy" not in stack.resources
    assert (
        "Allow",
        ("sqs:SendMessage",),
        ("{WarmPoolExitFailureQueue.Arn}",),
        no_condition(),
    ) in granted(stack, "DispatcherRole")


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


def test_both_functions_may_act_on_launch_actions_of_the_allowed_groups_only(
    stack: DeployedStack,
) -> None:
    # The dispatcher lets a launch with nothing stale go at once; the notifier keeps a held
    # launch waiting while its clear runs (a heartbeat) and completes it with the verdict.
    expected = {
        "DispatcherRole": ("autoscaling:CompleteLifecycleAction",),
        "NotifierRole": (
            "autoscaling:CompleteLifecycleAction",
            "autoscaling:RecordLifecycleActionHeartbeat",
        ),
    }
    for role, actions in expected.items():
        lifecycle = [s for s in granted(stack, role) if any("Lifecycle" in a for a in s[1])]
        assert lifecycle == [
            (
                "Allow",
                actions,
                tuple(HOOK_ARNS),
                condition(
                    {
                        "StringEquals": {
                            "aws:RequestedRegion": REGION,
                            "aws:ResourceAccount": ACCOUNT_ID,
                        }
                    }
                ),
            )
        ], role
    # Without a hook name neither may, and no rule is created.
    off = DeployedStack({"WarmPoolHookName": ""})
    for role in expected:
        assert not [s for s in granted(off, role) if any("Lifecycle" in a for a in s[1])]
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
    assert (
        watched(stack, "AWS/SQS", "ApproximateNumberOfMessagesVisible").count(
            [{"Name": "QueueName", "Value": "{WarmPoolExitFailureQueue.QueueName}"}]
        )
        == 1
    )
