"""The floor for the notifier: the same AWS reads and writes and the same Slack post, with nothing but
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
table = os.environ.get("COMMANDS_TABLE")
if table:
    # One verdict per command at its least, as apcu_clear.store does it: a conditional
    # UpdateItem claims the command's record (creating it when the dispatcher wrote none)
    # before the work, and one UpdateItem records the verdict after the post.
    dynamodb = boto3.client("dynamodb")
    key = {"commandId": {"S": message["commandId"]}}
    now = int(time.time())
    dynamodb.update_item(
        TableName=table,
        Key=key,
        UpdateExpression=(
            "SET #claim = :claim, #state = if_not_exists(#state, :sent), "
            "#ttl = if_not_exists(#ttl, :ttl)"
        ),
        ConditionExpression=(
            "attribute_not_exists(#id) OR "
            "(#state = :sent AND (attribute_not_exists(#claim) OR #claim.#until < :now))"
        ),
        ExpressionAttributeNames={
            "#id": "commandId",
            "#state": "state",
            "#claim": "claim",
            "#until": "until",
            "#ttl": "ttl",
        },
        ExpressionAttributeValues={
            ":claim": {"M": {"token": {"S": "floor"}, "until": {"N": str(now + 60)}}},
            ":sent": {"S": "sent"},
            ":now": {"N": str(now)},
            ":ttl": {"N": str(now + 30 * 86400)},
        },
        ReturnValues="ALL_OLD",
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
        UpdateExpression="SET #state = :judged, #verdict = :verdict REMOVE #claim",
        ConditionExpression="#claim.#token = :token",
        ExpressionAttributeNames={
            "#state": "state",
            "#verdict": "verdict",
            "#claim": "claim",
            "#token": "token",
        },
        ExpressionAttributeValues={
            ":judged": {"S": "judged"},
            ":verdict": {
                "M": {
                    "kind": {"S": "ok"},
                    "alert": {"BOOL": False},
                    "expected": {"N": str(desired)},
                    "targeted": {"N": str(len(invocations))},
                    "succeeded": {"N": str(succeeded)},
                    "missingInstances": {"L": []},
                    "problems": {"L": []},
                    "postedAt": {"S": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
                    "via": {"S": "sns"},
                }
            },
            ":token": {"S": "floor"},
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
