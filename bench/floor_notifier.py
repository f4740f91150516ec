"""The floor for the notifier: the same AWS reads and the same Slack post, with nothing but
boto3 and requests. No validation, no escaping, no retries: the least the work can cost.

    python bench/floor_notifier.py EVENT.json REPORT.json

REPORT.json receives time.monotonic() when the work was done, and how long the imports and
the work took.
"""

import time

started = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

# The same sys.path as the handler's: the function's folder (its vendored requests) first.
sys.path.insert(0, os.environ.get("LAMBDA_TASK_ROOT", ""))

import boto3  # noqa: E402
import requests  # noqa: E402

imported = time.perf_counter()

event = json.load(open(sys.argv[1], encoding="utf-8"))  # noqa: PTH123, SIM115
message = json.loads(event["Records"][0]["Sns"]["Message"])
table = os.environ.get("IDEMPOTENCY_TABLE")
if table:
    # De-duplication at its least: a conditional write before the work, one update after.
    dynamodb = boto3.client("dynamodb")
    key = {"id": {"S": f"{message['commandId']}#{message['status']}"}}
    dynamodb.put_item(
        TableName=table,
        Item={**key, "status": {"S": "INPROGRESS"}, "expiration": {"N": str(int(time.time()))}},
        ConditionExpression="attribute_not_exists(id)",
    )
secret = boto3.client("secretsmanager").get_secret_value(
    SecretId=os.environ["SLACK_WEBHOOK_SECRET_ARN"]
)
url = json.loads(secret["SecretString"])["url"]
ssm = boto3.client("ssm")
command = ssm.list_commands(CommandId=message["commandId"])["Commands"][0]
invocations = [
    invocation
    for page in ssm.get_paginator("list_command_invocations").paginate(
        CommandId=message["commandId"], Details=True, PaginationConfig={"PageSize": 50}
    )
    for invocation in page["CommandInvocations"]
]
groups = boto3.client("autoscaling").describe_auto_scaling_groups(
    AutoScalingGroupNames=command["Targets"][0]["Values"]
)["AutoScalingGroups"]
desired = sum(group["DesiredCapacity"] for group in groups)
succeeded = sum(1 for invocation in invocations if invocation["Status"] == "Success")
requests.post(
    url, json={"text": f"{succeeded} of {desired} instances cleared"}, timeout=10
).raise_for_status()
if table:
    dynamodb.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET #s = :done",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":done": {"S": "COMPLETED"}},
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
