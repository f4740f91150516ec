"""Nothing lost in silence: every queue that keeps what failed raises an alarm with its first
message, every function's errors do, and so do the metrics that say a clear's path broke;
every alarm notifies AlarmTopicArn when one is given."""

from __future__ import annotations

import pytest

from apcu_clear import record
from tests.stack.checks import ALARM_TOPIC, alarms_on, fires_on_the_first, watched
from tests.stack.deployed import DeployedStack, statements


@pytest.fixture(scope="module")
def stack() -> DeployedStack:
    return DeployedStack()


def test_queues_are_encrypted_and_keep_messages_for_14_days(stack: DeployedStack) -> None:
    queues = stack.of_type("AWS::SQS::Queue")
    assert set(queues) == {
        "NotifierFailureQueue",
        "NotificationDeadLetterQueue",
        "WarmPoolExitFailureQueue",
    }
    for queue in queues.values():
        assert queue["SqsManagedSseEnabled"] is True
        assert queue["MessageRetentionPeriod"] == 14 * 24 * 3600


@pytest.mark.parametrize(
    "parameters",
    [{}, {"SlackMode": "app", "ClearOnWarmPoolExit": "false", "WarmPoolHookName": ""}],
    ids=["default", "app-without-warm-pool"],
)
def test_a_message_in_any_queue_raises_an_alarm(parameters: dict[str, str]) -> None:
    stack = DeployedStack(parameters)
    dimensions = watched(stack, "AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert {d[0]["Value"] for d in dimensions} == {
        "{" + queue + ".QueueName}" for queue in stack.of_type("AWS::SQS::Queue")
    }


def test_only_the_notification_topic_may_put_messages_in_its_dead_letter_queue(
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


def test_topic_is_a_standard_topic_because_ssm_cannot_publish_to_fifo(
    stack: DeployedStack,
) -> None:
    (topic,) = stack.of_type("AWS::SNS::Topic").values()
    assert not topic.get("FifoTopic", False)
    assert "KmsMasterKeyId" not in topic


def test_an_error_in_either_function_raises_an_alarm(stack: DeployedStack) -> None:
    alarms = alarms_on(stack, "AWS/Lambda", "Errors")
    functions = {
        alarm["Dimensions"][0]["Value"]
        for alarm in alarms.values()
        if fires_on_the_first(alarm) and alarm["Statistic"] == "Sum"
    }
    assert functions == {"{DispatcherFunction}", "{NotifierFunction}"}
    assert watched(stack, "AWS/Lambda", "Throttles") == [
        [{"Name": "FunctionName", "Value": "{DispatcherFunction}"}]
    ]


@pytest.mark.parametrize(
    ("metric", "function"),
    [
        # The notifier: a command ended, but SSM's notification never came.
        ("NotificationMissing", "NotifierFunction"),
        # The dispatcher: a command was sent, but its clear's execution was not started.
        ("ClearNotStarted", "DispatcherFunction"),
    ],
)
def test_a_broken_path_to_the_verdict_raises_an_alarm(
    stack: DeployedStack, metric: str, function: str
) -> None:
    # Powertools adds the function's POWERTOOLS_SERVICE_NAME as the metric's dimension.
    service = stack.properties(function)["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
    namespace = stack.properties(function)["Environment"]["Variables"][
        "POWERTOOLS_METRICS_NAMESPACE"
    ]
    assert watched(stack, namespace, metric) == [[{"Name": "service", "Value": service}]]


def test_alarms_notify_the_given_topic_and_nothing_when_none_is_given(
    stack: DeployedStack,
) -> None:
    alarms = stack.of_type("AWS::CloudWatch::Alarm")
    assert alarms
    assert all("AlarmActions" not in alarm for alarm in alarms.values())
    with_topic = DeployedStack({"AlarmTopicArn": ALARM_TOPIC, "SlackMode": "app"})
    for logical_id, alarm in with_topic.of_type("AWS::CloudWatch::Alarm").items():
        assert alarm["AlarmActions"] == [ALARM_TOPIC], logical_id


def test_every_alarm_fires_on_the_first_event(stack: DeployedStack) -> None:
    for logical_id, alarm in stack.of_type("AWS::CloudWatch::Alarm").items():
        assert fires_on_the_first(alarm), logical_id


def test_commands_table_is_keyed_by_clear_on_demand_encrypted_and_expires_items(
    stack: DeployedStack,
) -> None:
    table = stack.properties("CommandsTable")
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": record.KEY, "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": record.KEY, "AttributeType": "S"}]
    # The attribute apcu_clear writes its expiry into (30 days after the request)
    assert table["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    clear = record.Clear("c", "g", "clear-apcu", "", "r", "", "api", "2026-01-01T00:00:00Z")
    assert "ttl" in clear.attributes()
    assert table["SSESpecification"] == {"SSEEnabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert not stack.of_type("AWS::DynamoDB::Table").keys() - {"CommandsTable"}
