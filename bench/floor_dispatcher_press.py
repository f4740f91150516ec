"""The floor for the dispatcher's answer to a press of the retry button (Slack app mode): the
same AWS calls with nothing but boto3 and the standard library. Read the app secret
(GetSecretValue), check Slack's signature (HMAC-SHA256, within 5 minutes) and the presser,
hand the verified request to an asynchronous invocation of the function itself (Invoke,
InvocationType Event), answer 200. The work the press asks for is that invocation's, not the
answer's (issue 31: Slack's 3 seconds).

    python bench/floor_dispatcher_press.py INVOKED_ARN EVENT.json REPORT.json
"""

import time

started = time.perf_counter()

import base64  # noqa: E402
import hashlib  # noqa: E402
import hmac  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from urllib.parse import parse_qs  # noqa: E402

# Lambda puts the function's folder first on sys.path, where Python put this script's.
sys.path[0] = os.environ["LAMBDA_TASK_ROOT"]

import boto3  # noqa: E402

from bench import floor  # noqa: E402

imported = time.perf_counter()
counted = None
if os.environ.get("BENCH_COUNT_CALLS"):
    from bench import count_calls

    counted = count_calls.install()

event = floor.event()
raw = base64.b64decode(event["body"]) if event["isBase64Encoded"] else event["body"].encode()
headers = event["headers"]
secret = json.loads(
    boto3.client("secretsmanager").get_secret_value(SecretId=os.environ["SLACK_APP_SECRET_ARN"])[
        "SecretString"
    ]
)
timestamp = headers["x-slack-request-timestamp"]
base = b"v0:" + timestamp.encode() + b":" + raw
expected = "v0=" + hmac.new(secret["signingSecret"].encode(), base, hashlib.sha256).hexdigest()
if abs(time.time() - int(timestamp)) > 300 or not hmac.compare_digest(
    expected, headers["x-slack-signature"]
):
    raise SystemExit("the press is not signed by Slack")
press = json.loads(parse_qs(raw.decode())["payload"][0])
if press["user"]["id"] not in os.environ["SLACK_ALLOWED_USERS"].split(","):
    raise SystemExit("the presser is not allowed")
boto3.client("lambda").invoke(
    FunctionName=sys.argv[1],
    InvocationType="Event",
    Payload=json.dumps(
        {"slackRequest": {"body": raw.decode(), "timestamp": timestamp, "signature": expected}}
    ).encode(),
)
answer = {"statusCode": 200, "body": ""}
floor.report(started, imported, answer, counted)
