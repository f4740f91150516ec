"""The floor for the dispatcher: the same calls with nothing but boto3: the look for a clear
still running on the group (ListCommands), the preflight reads, SendCommand, then the command's
record (PutItem) and its watchdog schedule (CreateSchedule).

    python bench/floor_dispatcher.py EVENT.json REPORT.json

REPORT.json receives time.monotonic() when the work was done, and how long the imports and
the work took.
"""

import time

started = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

# The same sys.path as the handler's: the function's folder first.
sys.path.insert(0, os.environ.get("LAMBDA_TASK_ROOT", ""))

import boto3  # noqa: E402

imported = time.perf_counter()

request = json.load(open(sys.argv[1], encoding="utf-8"))  # noqa: PTH123, SIM115
lifetime = int(os.environ["DELIVERY_TIMEOUT_SECONDS"]) + int(
    os.environ["EXECUTION_TIMEOUT_SECONDS"]
)
ssm = boto3.client("ssm")
since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - lifetime))
running = ssm.list_commands(
    Filters=[
        {"key": "DocumentName", "value": os.environ["DOCUMENT_NAME"]},
        {"key": "InvokedAfter", "value": since},
        {"key": "ExecutionStage", "value": "Executing"},
    ],
    MaxResults=50,
)["Commands"]
if any(request["group"] in t.get("Values", []) for c in running for t in c.get("Targets", [])):
    raise SystemExit("a clear of the group is still running")
group = boto3.client("autoscaling").describe_auto_scaling_groups(
    AutoScalingGroupNames=[request["group"]]
)["AutoScalingGroups"][0]
in_service = [i["InstanceId"] for i in group["Instances"] if i["LifecycleState"] == "InService"]
ssm.describe_instance_information(Filters=[{"Key": "InstanceIds", "Values": in_service}])
command = ssm.send_command(
    Targets=[{"Key": "tag:aws:autoscaling:groupName", "Values": [request["group"]]}],
    DocumentName=os.environ["DOCUMENT_NAME"],
    Parameters={"prefix": [""]},
    NotificationConfig={
        "NotificationArn": os.environ["NOTIFICATION_TOPIC_ARN"],
        "NotificationEvents": ["Success", "TimedOut", "Cancelled", "Failed"],
        "NotificationType": "Command",
    },
    ServiceRoleArn=os.environ["NOTIFICATION_ROLE_ARN"],
)["Command"]
command_id = command["CommandId"]
requested = command["RequestedDateTime"].timestamp()
expires = requested + lifetime


def iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


boto3.client("dynamodb").put_item(
    TableName=os.environ["COMMANDS_TABLE"],
    Item={
        "commandId": {"S": command_id},
        "group": {"S": request["group"]},
        "prefix": {"S": ""},
        "requester": {"S": "console"},
        "comment": {"S": ""},
        "origin": {"S": "console"},
        "requestedAt": {"S": iso(requested)},
        "expiresAt": {"S": iso(expires)},
        "state": {"S": "sent"},
        "ttl": {"N": str(int(requested) + 30 * 86400)},
    },
    ConditionExpression="attribute_not_exists(#id)",
    ExpressionAttributeNames={"#id": "commandId"},
)
boto3.client("scheduler").create_schedule(
    Name=f"watchdog-{command_id}",
    GroupName=os.environ["WATCHDOG_GROUP"],
    ScheduleExpression=f"at({iso(expires + 60)[:-1]})",
    ScheduleExpressionTimezone="UTC",
    FlexibleTimeWindow={"Mode": "OFF"},
    ActionAfterCompletion="DELETE",
    Target={
        "Arn": os.environ["WATCHDOG_TARGET_ARN"],
        "RoleArn": os.environ["WATCHDOG_ROLE_ARN"],
        "Input": json.dumps({"source": "apcu-fleet-flush.watchdog", "commandId": command_id}),
        "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 10},
        "DeadLetterConfig": {"Arn": os.environ["WATCHDOG_DEAD_LETTER_ARN"]},
    },
)
with open(sys.argv[2], "w", encoding="utf-8") as report:  # noqa: PTH123
    done = time.perf_counter()
    json.dump(
        {
            "answered": time.monotonic(),
            "cpu_ms": time.process_time() * 1000,
            "import_ms": (imported - started) * 1000,
            "work_ms": (done - imported) * 1000,
        },
        report,
    )
