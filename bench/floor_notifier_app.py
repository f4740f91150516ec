"""The floor for the notifier in Slack app mode, for an ok verdict on a clear whose start message
is posted: the same AWS reads and writes and the same Slack Web API call (chat.update of that
message), with nothing but boto3 and urllib. No validation, no escaping, no retries: the least
the work can cost.

    python bench/floor_notifier_app.py EVENT.json REPORT.json

REPORT.json receives time.monotonic() when the work was done, and how long the imports and
the work took.
"""

import time

started = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import urllib.request  # noqa: E402

# The same sys.path as the handler's: the function's folder first.
sys.path.insert(0, os.environ.get("LAMBDA_TASK_ROOT", ""))

import boto3  # noqa: E402

imported = time.perf_counter()
counted = None
if os.environ.get("BENCH_COUNT_CALLS"):
    # Only in the bench's untimed check that this floor makes the handler's calls.
    from bench import count_calls

    counted = count_calls.install()

event = json.load(open(sys.argv[1], encoding="utf-8"))  # noqa: PTH123, SIM115
message = json.loads(event["Records"][0]["Sns"]["Message"])
table = os.environ["COMMANDS_TABLE"]
dynamodb = boto3.client("dynamodb")
key = {"commandId": {"S": message["commandId"]}}
now = int(time.time())
# The verdict's claim on the command's record, as in webhook mode (bench/floor_notifier.py).
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
secret = json.loads(
    boto3.client("secretsmanager").get_secret_value(SecretId=os.environ["SLACK_APP_SECRET_ARN"])[
        "SecretString"
    ]
)
# The clear's message, as the notifier looks for it: a lease that is refused because the
# message is there, the refusal carrying the item (apcu_clear.store.take_slack_message).
try:
    dynamodb.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET #lease = :lease",
        ConditionExpression="attribute_exists(#id) AND attribute_not_exists(#message)",
        ExpressionAttributeNames={
            "#id": "commandId",
            "#message": "slackMessage",
            "#lease": "slackMessageClaim",
        },
        ExpressionAttributeValues={
            ":lease": {"M": {"token": {"S": "floor"}, "until": {"N": str(now + 60)}}}
        },
        ReturnValuesOnConditionCheckFailure="ALL_OLD",
    )
    raise SystemExit("the clear has no Slack message to update")
except dynamodb.exceptions.ConditionalCheckFailedException as refused:
    where = refused.response["Item"]["slackMessage"]["M"]  # type: ignore[typeddict-item]
text = f"{succeeded} of {desired} instances cleared"
request = urllib.request.Request(  # noqa: S310 - SLACK_API_URL, 127.0.0.1 in the bench
    os.environ["SLACK_API_URL"] + "chat.update",
    data=json.dumps(
        {
            "channel": where["channel"]["S"],
            "ts": where["ts"]["S"],
            "text": text,
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
        }
    ).encode(),
    headers={
        "Content-Type": "application/json; charset=utf-8",
        "Authorization": f"Bearer {secret['botToken']}",
    },
)
with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
    if not json.load(answer).get("ok"):
        raise SystemExit("Slack refused chat.update")
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
            **({"calls": dict(counted)} if counted is not None else {}),
        },
        report,
    )
