"""The notifier as a Lambda durable function: one execution per clear, started and resumed on
its alias, given room for the longest clear, and never lost without an alarm.

Checked on the transformed template (aws-sam-translator, as CloudFormation runs it), and where
AWS's behaviour is the point (SNS's filter on the message body), against moto.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from importlib.resources import files
from typing import Any

import boto3
import pytest

from apcu_clear import command, record
from apcu_notifier import clear, rounds, watch
from apcu_notifier.config import RETRY_ROUNDS
from harness import cfn_template
from tests.stack.checks import granted, no_condition, watched
from tests.stack.deployed import PSEUDO_PARAMETERS, REGION, DeployedStack, transform

FINAL = ["Success", "Failed", "TimedOut", "Cancelled"]


@pytest.fixture(scope="module")
def stack() -> DeployedStack:
    return DeployedStack()


def test_the_notifier_is_a_durable_function_with_a_timeout_and_a_history_retention(
    stack: DeployedStack,
) -> None:
    assert stack.properties("NotifierFunction")["DurableConfig"] == {
        "ExecutionTimeout": 36_000,
        "RetentionPeriodInDays": 30,
    }
    # A clear's history stays readable as long as its record stays in the commands table.
    assert dt.timedelta(days=30) == record.RETENTION
    # The dispatcher is no durable function: it starts executions, it runs none.
    assert "DurableConfig" not in stack.properties("DispatcherFunction")


def longest_clear(template: dict[str, Any]) -> dt.timedelta:
    """The longest a clear can take by the code's own waits, with the largest command lifetime
    and the most retry rounds the template's parameters allow."""
    parameters = template["Parameters"]
    (step,) = template["Resources"]["FlushDocument"]["Properties"]["Content"]["mainSteps"]
    lifetime = dt.timedelta(
        seconds=parameters["DeliveryTimeoutSeconds"]["MaxValue"]
        + int(step["inputs"]["timeoutSeconds"])
    )
    record_looks = dt.timedelta(seconds=sum(2**look for look in range(1, clear.RECORD_LOOKS)))
    first_command = lifetime + watch.GRACE
    never_ended = watch.LOOK_EVERY * watch.LOOKS
    alarm_waits = dt.timedelta(seconds=rounds.ALARM_LOOK.to_seconds()) * rounds.ALARM_LOOKS
    round_waits = dt.timedelta(seconds=sum(rounds.pauses(lifetime + rounds.MARGIN)))
    most_rounds = parameters["RetryMissed"]["MaxValue"]
    assert most_rounds == max(int(r) for r in RETRY_ROUNDS)
    return record_looks + first_command + never_ended + most_rounds * (alarm_waits + round_waits)


def test_the_execution_timeout_outlasts_the_longest_clear_by_its_steps_retries() -> None:
    # A command that runs to its expiry and past it, then ends, then three retry rounds that
    # each wait the whole half hour for the stop alarm and their commands' whole lifetime.
    template = cfn_template.load()
    longest = longest_clear(template)
    timeout = dt.timedelta(
        seconds=template["Resources"]["NotifierFunction"]["Properties"]["DurableConfig"][
            "ExecutionTimeout"
        ]
    )
    # Room for the steps' retries (up to a minute of backoff each) and the invocations.
    assert longest + dt.timedelta(hours=1) <= timeout
    # And no more than that with a margin: a clear that outlives it has a bug, and its alarm
    # should fire the same day.
    assert timeout <= longest + dt.timedelta(hours=3)


def test_the_delivery_timeouts_bound_is_what_keeps_a_clear_within_its_execution() -> None:
    # The arithmetic above holds only for the delivery timeouts CloudFormation lets through:
    # SSM's own bound (30 days) would outlast any execution this stack gives a clear.
    template = copy.deepcopy(cfn_template.load())
    template["Parameters"]["DeliveryTimeoutSeconds"]["MaxValue"] = 24 * 3600
    timeout = template["Resources"]["NotifierFunction"]["Properties"]["DurableConfig"][
        "ExecutionTimeout"
    ]
    assert longest_clear(template) > dt.timedelta(seconds=timeout)


def test_every_caller_invokes_the_notifiers_alias_never_the_function(stack: DeployedStack) -> None:
    # Durable functions are invoked by a qualified ARN only.
    alias_id, alias = stack.only("AWS::Lambda::Alias")
    version_id, version = stack.only("AWS::Lambda::Version")
    assert alias == {
        "Name": "live",
        "FunctionName": "{NotifierFunction}",
        "FunctionVersion": "{" + version_id + ".Version}",
    }
    assert version["FunctionName"] == "{NotifierFunction}"
    alias_ref = "{" + alias_id + "}"
    # The dispatcher starts clears there,
    dispatcher = stack.properties("DispatcherFunction")["Environment"]["Variables"]
    assert dispatcher["NOTIFIER_ALIAS_ARN"] == alias_ref
    # SNS delivers SSM's notifications there, with the permission on the alias only,
    (subscription,) = stack.of_type("AWS::SNS::Subscription").values()
    assert subscription["Endpoint"] == alias_ref
    sns = [
        p
        for p in stack.of_type("AWS::Lambda::Permission").values()
        if p["Principal"] == "sns.amazonaws.com"
    ]
    assert sns == [
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": alias_ref,
            "Principal": "sns.amazonaws.com",
            "SourceArn": "{NotificationTopic}",
        }
    ]
    # and the relay starts a clear on the alias it was invoked by.
    assert ("Allow", ("lambda:InvokeFunction",), (alias_ref,), no_condition()) in granted(
        stack, "NotifierRole"
    )


def test_the_subscription_lets_only_final_statuses_through_and_keeps_what_it_cannot_deliver(
    stack: DeployedStack,
) -> None:
    (subscription,) = stack.of_type("AWS::SNS::Subscription").values()
    assert subscription == {
        "Endpoint": "{NotifierFunctionAliaslive}",
        "Protocol": "lambda",
        "TopicArn": "{NotificationTopic}",
        "FilterPolicyScope": "MessageBody",
        "FilterPolicy": {"status": FINAL},
        "RedrivePolicy": {"deadLetterTargetArn": "{NotificationDeadLetterQueue.Arn}"},
    }
    # The statuses SSM is asked to notify are the ones the filter lets through.
    assert sorted(command.FINAL_STATUSES) == sorted(FINAL)


def test_sns_drops_a_non_final_status_before_it_starts_an_execution(
    stack: DeployedStack, aws: None
) -> None:
    # Given the template's subscription on a topic (a queue stands in for the notifier)
    (subscription,) = stack.of_type("AWS::SNS::Subscription").values()
    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    topic = sns.create_topic(Name="apcu-fleet-flush-NotificationTopic")["TopicArn"]
    queue = sqs.create_queue(QueueName="notifier")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn["Attributes"]["QueueArn"],
        Attributes={
            "FilterPolicyScope": subscription["FilterPolicyScope"],
            "FilterPolicy": json.dumps(subscription["FilterPolicy"]),
        },
    )
    # When SSM publishes a command's statuses, as its notifications read
    for status in ("InProgress", "Success", "Cancelled", "Pending"):
        body = {
            "commandId": f"c-{status}",
            "documentName": "d",
            "instanceIds": [],
            "status": status,
        }
        sns.publish(TopicArn=topic, Message=json.dumps(body))
    # Then only the final ones arrive
    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    statuses = sorted(json.loads(json.loads(m["Body"])["Message"])["status"] for m in received)
    assert statuses == ["Cancelled", "Success"]


def test_the_deploy_replaces_the_notifier_by_giving_it_a_name(stack: DeployedStack) -> None:
    # DurableConfig can only be set when a function is created: the notifier gets a name it
    # never had, and CloudFormation creates a new function for a new name (FunctionName is
    # create-only in the resource's schema), then deletes the old one.
    name = stack.properties("NotifierFunction")["FunctionName"]
    assert name == f"{PSEUDO_PARAMETERS['AWS::StackName']}-notifier"
    assert stack.properties("NotifierLogGroup")["LogGroupName"] == f"/aws/lambda/{name}"
    assert "/properties/FunctionName" in _create_only("AWS::Lambda::Function")


def _create_only(resource_type: str) -> list[str]:
    """The properties whose change replaces a resource, from cfn-lint's copy of its schema."""
    schemas = files("cfnlint") / "data" / "schemas"
    index = json.loads((schemas / "providers" / "us-east-1.json").read_text(encoding="utf-8"))
    schema = json.loads(
        (schemas / "resources" / f"{index[resource_type]}.json").read_text(encoding="utf-8")
    )
    return list(schema["createOnlyProperties"])


def _version_id(template: dict[str, Any]) -> str:
    return next(
        k
        for k, v in transform(template)["Resources"].items()
        if v["Type"] == "AWS::Lambda::Version"
    )


def test_a_new_sdk_layer_or_a_changed_setting_publishes_a_new_notifier_version() -> None:
    # An execution keeps the version it started on; the alias moves only when a version is
    # published, so every change of the function's template must publish one.
    template = cfn_template.load()
    before = _version_id(template)
    # A new SDK layer (its content is uploaded under a new key)
    new_layer = copy.deepcopy(template)
    new_layer["Resources"]["AwsSdkLayer"]["Properties"]["ContentUri"] = "s3://artifacts/layer-2.zip"
    assert _version_id(new_layer) != before
    # A property of the function other than its code
    longer = copy.deepcopy(template)
    longer["Resources"]["NotifierFunction"]["Properties"]["Timeout"] = 90
    assert _version_id(longer) != before
    # The same template, the same version: a deploy without changes publishes nothing.
    assert _version_id(copy.deepcopy(template)) == before


def test_a_failed_execution_lands_in_the_dead_letter_queue_as_no_destination_can_take_it(
    stack: DeployedStack,
) -> None:
    # Durable functions take no Lambda destinations: a dead-letter queue, which the role
    # may write to, and no event invoke configuration for the notifier at all.
    assert stack.properties("NotifierFunction")["DeadLetterConfig"] == {
        "TargetArn": "{NotifierFailureQueue.Arn}"
    }
    assert ("Allow", ("sqs:SendMessage",), ("{NotifierFailureQueue.Arn}",), no_condition()) in (
        granted(stack, "NotifierRole")
    )
    configs = stack.of_type("AWS::Lambda::EventInvokeConfig")
    assert [c["FunctionName"] for c in configs.values()] == ["{DispatcherFunction}"]


def test_a_failed_or_timed_out_execution_raises_an_alarm(stack: DeployedStack) -> None:
    # The dimension set of the durable metrics is not documented; FunctionName is the one
    # every Lambda metric carries.
    for metric in ("DurableExecutionFailed", "DurableExecutionTimedOut", "DeadLetterErrors"):
        assert watched(stack, "AWS/Lambda", metric) == [
            [{"Name": "FunctionName", "Value": "{NotifierFunction}"}]
        ], metric
    assert [{"Name": "QueueName", "Value": "{NotifierFailureQueue.QueueName}"}] in watched(
        stack, "AWS/SQS", "ApproximateNumberOfMessagesVisible"
    )


def test_nothing_of_eventbridge_scheduler_is_left(stack: DeployedStack) -> None:
    # Each clear's waits are its execution's: no schedule group, role, queue or variable.
    text = cfn_template.TEMPLATE.read_text(encoding="utf-8").lower()
    assert "scheduler" not in text
    assert "watchdog" not in text
    assert not [t for t in (r["Type"] for r in stack.resources.values()) if "Scheduler" in t]
    for function in ("DispatcherFunction", "NotifierFunction"):
        variables = stack.properties(function)["Environment"]["Variables"]
        assert not [name for name in variables if name.startswith("WATCHDOG_")]
