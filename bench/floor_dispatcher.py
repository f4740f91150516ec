"""The floor for the dispatcher's POST /flush: the same AWS calls with nothing but boto3 and
the standard library. The group's claim (a conditional PutItem), the look for a command still
running (ListCommands), the preflight reads (DescribeAutoScalingGroups,
DescribeInstanceInformation), SendCommand, the clear named on its claim and recorded (two
UpdateItems), and the clear's durable execution started on the notifier's alias (Invoke with
DurableExecutionName). No validation, no Powertools, no retries: the least the work can cost.

    python bench/floor_dispatcher.py INVOKED_ARN EVENT.json REPORT.json
"""

import time

started = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import uuid  # noqa: E402

# Lambda puts the function's folder first on sys.path, where Python put this script's.
sys.path[0] = os.environ["LAMBDA_TASK_ROOT"]

import boto3  # noqa: E402

from bench import floor  # noqa: E402

imported = time.perf_counter()
counted = None
if os.environ.get("BENCH_COUNT_CALLS"):
    from bench import count_calls

    counted = count_calls.install()


def iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


event = floor.event()
request = json.loads(event["body"])
group = request["group"]
env = os.environ
table = env["COMMANDS_TABLE"]
lifetime = int(env["DELIVERY_TIMEOUT_SECONDS"]) + int(env["EXECUTION_TIMEOUT_SECONDS"])
now = time.time()
dynamodb, ssm = boto3.client("dynamodb"), boto3.client("ssm")
claim = {"commandId": {"S": f"claim#group#{group}"}}
token = uuid.uuid4().hex
dynamodb.put_item(
    TableName=table,
    Item={**claim, "token": {"S": token}, "until": {"N": str(int(now + lifetime + 300))}},
    ConditionExpression="attribute_not_exists(#key) OR #until < :now",
    ExpressionAttributeNames={"#key": "commandId", "#until": "until"},
    ExpressionAttributeValues={":now": {"N": str(int(now))}},
)
running = ssm.list_commands(
    Filters=[
        {"key": "DocumentName", "value": env["DOCUMENT_NAME"]},
        {"key": "InvokedAfter", "value": iso(now - lifetime)},
    ],
    MaxResults=50,
)["Commands"]
if any(
    c["Status"] in ("Pending", "InProgress") and group in t.get("Values", [])
    for c in running
    for t in c.get("Targets", [])
):
    raise SystemExit("a clear of the group is still running")
found = boto3.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[group])
in_service = [
    i["InstanceId"]
    for i in found["AutoScalingGroups"][0]["Instances"]
    if i["LifecycleState"] == "InService"
]
ssm.describe_instance_information(Filters=[{"Key": "InstanceIds", "Values": in_service}])
command = ssm.send_command(
    Targets=[{"Key": "tag:aws:autoscaling:groupName", "Values": [group]}],
    DocumentName=env["DOCUMENT_NAME"],
    Parameters={"action": [request["action"]], "prefix": [""]},
    TimeoutSeconds=int(env["DELIVERY_TIMEOUT_SECONDS"]),
    MaxConcurrency=env["MAX_CONCURRENCY"],
    MaxErrors="100%",
    Comment="floor",
    NotificationConfig={
        "NotificationArn": env["NOTIFICATION_TOPIC_ARN"],
        "NotificationEvents": ["Success", "TimedOut", "Cancelled", "Failed"],
        "NotificationType": "Command",
    },
    ServiceRoleArn=env["NOTIFICATION_ROLE_ARN"],
)["Command"]
clear_id = command["CommandId"]
requested = command["RequestedDateTime"].timestamp()
dynamodb.update_item(
    TableName=table,
    Key=claim,
    UpdateExpression="SET #holder = :id, #until = :until",
    ConditionExpression="#token = :token",
    ExpressionAttributeNames={"#holder": "holder", "#until": "until", "#token": "token"},
    ExpressionAttributeValues={
        ":id": {"S": clear_id},
        ":until": {"N": str(int(requested + lifetime + 300))},
        ":token": {"S": token},
    },
)
dynamodb.update_item(
    TableName=table,
    Key={"commandId": {"S": clear_id}},
    UpdateExpression="SET #g = :g, #r = :r, #e = :e, #s = :s",
    ExpressionAttributeNames={"#g": "group", "#r": "requestedAt", "#e": "expiresAt", "#s": "state"},
    ExpressionAttributeValues={
        ":g": {"S": group},
        ":r": {"S": iso(requested)},
        ":e": {"S": iso(requested + lifetime)},
        ":s": {"S": "running"},
    },
    ReturnValues="ALL_NEW",
)
boto3.client("lambda").invoke(
    FunctionName=env["NOTIFIER_ALIAS_ARN"],
    InvocationType="Event",
    DurableExecutionName=clear_id,
    Payload=json.dumps({"commandId": clear_id}).encode(),
)
answer = {"statusCode": 202, "body": json.dumps({"commandId": clear_id})}
floor.report(started, imported, answer, counted)
