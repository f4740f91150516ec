"""The floor for the dispatcher's answer to a signed press of the Slack retry button: the same
calls with nothing but boto3, hmac and urllib. The app secret (GetSecretValue), Slack's v0
signature checked (HMAC-SHA256, constant-time compare, the 5-minute window), the press read
from the form, then the retry: the clear's record read (twice, as the retry reads the record
and then the clear's progress), the group (DescribeAutoScalingGroups), the group's claim
(PutItem), SendCommand to the stale instances, the claim handed to the command, the retry's
record, its watchdog schedule, the retry linked to its clear (UpdateItems, CreateSchedule),
and chat.update of the pressed message. No validation beyond the signature: the least the
work can cost.

    python bench/floor_dispatcher_press.py EVENT.json REPORT.json

REPORT.json receives time.monotonic() when the answer was ready, and how long the imports and
the work took.
"""

import time

started = time.perf_counter()

import base64  # noqa: E402
import hashlib  # noqa: E402
import hmac  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import urllib.request  # noqa: E402
import uuid  # noqa: E402
from urllib.parse import parse_qs  # noqa: E402

# The same sys.path as the handler's: the function's folder first.
sys.path.insert(0, os.environ.get("LAMBDA_TASK_ROOT", ""))

import boto3  # noqa: E402

imported = time.perf_counter()
counted = None
if os.environ.get("BENCH_COUNT_CALLS"):
    # Only in the bench's untimed check that this floor makes the handler's calls.
    from bench import count_calls

    counted = count_calls.install()


def iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


event = json.load(open(sys.argv[1], encoding="utf-8"))  # noqa: PTH123, SIM115
raw = base64.b64decode(event["body"]) if event["isBase64Encoded"] else event["body"].encode()
headers = event["headers"]
secret = json.loads(
    boto3.client("secretsmanager").get_secret_value(SecretId=os.environ["SLACK_APP_SECRET_ARN"])[
        "SecretString"
    ]
)
timestamp = headers["x-slack-request-timestamp"]
expected = (
    "v0="
    + hmac.new(
        secret["signingSecret"].encode(), b"v0:" + timestamp.encode() + b":" + raw, hashlib.sha256
    ).hexdigest()
)
if abs(time.time() - int(timestamp)) > 300 or not hmac.compare_digest(
    expected, headers["x-slack-signature"]
):
    raise SystemExit("the press is not signed by Slack")
press = json.loads(parse_qs(raw.decode())["payload"][0])
user = press["user"]["id"]
if user not in os.environ["SLACK_ALLOWED_USERS"].split(","):
    raise SystemExit("the presser is not allowed")
first_id = press["actions"][0]["value"]
channel, message_ts = press["container"]["channel_id"], press["container"]["message_ts"]

table = os.environ["COMMANDS_TABLE"]
dynamodb = boto3.client("dynamodb")
key = {"commandId": {"S": first_id}}
record = dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)
group = record["group"]["S"]
stale = [v["S"] for v in record["verdict"]["M"]["staleInstances"]["L"]]
in_service = {
    i["InstanceId"]
    for g in boto3.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[group]
    )["AutoScalingGroups"]
    for i in g["Instances"]
    if i["LifecycleState"] == "InService"
}
targets = [i for i in stale if i in in_service]
lifetime = int(os.environ["DELIVERY_TIMEOUT_SECONDS"]) + int(
    os.environ["EXECUTION_TIMEOUT_SECONDS"]
)
now = time.time()
claim_key = {"commandId": {"S": f"claim#group#{group}"}}
token = uuid.uuid4().hex
dynamodb.put_item(
    TableName=table,
    Item={
        **claim_key,
        "token": {"S": token},
        "requestedAt": {"S": iso(now)},
        "until": {"N": str(int(now) + 60)},
        "ttl": {"N": str(int(now) + 86400)},
    },
    ConditionExpression="attribute_not_exists(#key) OR #until < :now",
    ExpressionAttributeNames={"#key": "commandId", "#until": "until"},
    ExpressionAttributeValues={":now": {"N": str(int(now))}},
)
requester = f"slack:{user}"
command = boto3.client("ssm").send_command(
    InstanceIds=targets,
    DocumentName=os.environ["DOCUMENT_NAME"],
    Parameters={"action": [record["action"]["S"]], "prefix": [record["prefix"]["S"]]},
    TimeoutSeconds=int(os.environ["DELIVERY_TIMEOUT_SECONDS"]),
    Comment=f"{requester}: retry of {first_id}",
    NotificationConfig={
        "NotificationArn": os.environ["NOTIFICATION_TOPIC_ARN"],
        "NotificationEvents": ["InProgress", "Success", "TimedOut", "Cancelled", "Failed"],
        "NotificationType": "Command",
    },
    ServiceRoleArn=os.environ["NOTIFICATION_ROLE_ARN"],
)["Command"]
retry_id = command["CommandId"]
requested = command["RequestedDateTime"].timestamp()
expires = requested + lifetime
dynamodb.update_item(
    TableName=table,
    Key=claim_key,
    UpdateExpression="SET #holder = :holder, #until = :until",
    ConditionExpression="#token = :token",
    ExpressionAttributeNames={"#holder": "holder", "#until": "until", "#token": "token"},
    ExpressionAttributeValues={
        ":holder": {"S": retry_id},
        ":until": {"N": str(int(expires))},
        ":token": {"S": token},
    },
)
dynamodb.update_item(
    TableName=table,
    Key={"commandId": {"S": retry_id}},
    UpdateExpression=(
        "SET #group = :group, #prefix = :prefix, #action = :action, #requester = :requester, "
        "#origin = :origin, #requestedAt = :requestedAt, #expiresAt = :expiresAt, "
        "#state = :state, #retryOf = :retryOf, #ttl = :ttl"
    ),
    ExpressionAttributeNames={
        f"#{name}": name
        for name in (
            "group",
            "prefix",
            "action",
            "requester",
            "origin",
            "requestedAt",
            "expiresAt",
            "state",
            "retryOf",
            "ttl",
        )
    },
    ExpressionAttributeValues={
        ":group": {"S": group},
        ":prefix": record["prefix"],
        ":action": record["action"],
        ":requester": {"S": requester},
        ":origin": {"S": "retry"},
        ":requestedAt": {"S": iso(requested)},
        ":expiresAt": {"S": iso(expires)},
        ":state": {"S": "sent"},
        ":retryOf": {"S": first_id},
        ":ttl": {"N": str(int(requested) + 30 * 86400)},
    },
)
boto3.client("scheduler").create_schedule(
    Name=f"watchdog-{retry_id}",
    GroupName=os.environ["WATCHDOG_GROUP"],
    ScheduleExpression=f"at({iso(expires + 60)[:-1]})",
    ScheduleExpressionTimezone="UTC",
    FlexibleTimeWindow={"Mode": "OFF"},
    ActionAfterCompletion="DELETE",
    Target={
        "Arn": os.environ["WATCHDOG_TARGET_ARN"],
        "RoleArn": os.environ["WATCHDOG_ROLE_ARN"],
        "Input": json.dumps({"source": "apcu-fleet-flush.watchdog", "commandId": retry_id}),
        "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 10},
        "DeadLetterConfig": {"Arn": os.environ["WATCHDOG_DEAD_LETTER_ARN"]},
    },
)
dynamodb.update_item(
    TableName=table,
    Key=key,
    UpdateExpression="SET #retries = list_append(if_not_exists(#retries, :none), :ids)",
    ConditionExpression="attribute_exists(#id)",
    ExpressionAttributeNames={"#retries": "retries", "#id": "commandId"},
    ExpressionAttributeValues={":none": {"L": []}, ":ids": {"L": [{"S": retry_id}]}},
)
line = f"Retry asked by <@{user}>: command {retry_id}"
request = urllib.request.Request(  # noqa: S310 - SLACK_API_URL, 127.0.0.1 in the bench
    os.environ["SLACK_API_URL"] + "chat.update",
    data=json.dumps(
        {
            "channel": channel,
            "ts": message_ts,
            "text": line,
            "blocks": [{"type": "context", "elements": [{"type": "mrkdwn", "text": line}]}],
        }
    ).encode(),
    headers={
        "Content-Type": "application/json; charset=utf-8",
        "Authorization": f"Bearer {secret['botToken']}",
    },
)
with urllib.request.urlopen(request, timeout=2) as answer:  # noqa: S310
    if not json.load(answer).get("ok"):
        raise SystemExit("Slack refused chat.update")
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
