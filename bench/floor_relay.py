"""The floor for the relay: an SNS delivery of SSM's final status handed to the clear that waits
for it, with boto3 and the durable execution SDK (each delivery is an execution of its own, so
its step is a checkpoint). Start the clear by its name (Invoke with DurableExecutionName: it
exists, so Lambda answers with it), note the status on the clear's record (UpdateItem, which
gives back the callback's id), complete the callback (SendDurableExecutionCallbackSuccess).

    python bench/floor_relay.py INVOKED_ARN EVENT.json REPORT.json
"""

import time

started = time.perf_counter()

import contextlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

# Lambda puts the function's folder first on sys.path, where Python put this script's.
sys.path[0] = os.environ["LAMBDA_TASK_ROOT"]

import boto3  # noqa: E402
from aws_durable_execution_sdk_python import DurableContext, durable_execution  # noqa: E402

from bench import floor  # noqa: E402

imported = time.perf_counter()
counted = None
if os.environ.get("BENCH_COUNT_CALLS"):
    from bench import count_calls

    counted = count_calls.install()
TABLE = os.environ["COMMANDS_TABLE"]
dynamodb, lambda_ = boto3.client("dynamodb"), boto3.client("lambda")


def hand(clear_id: str, status: str) -> None:
    with contextlib.suppress(lambda_.exceptions.DurableExecutionAlreadyStartedException):
        lambda_.invoke(
            FunctionName=sys.argv[1],
            InvocationType="Event",
            DurableExecutionName=clear_id,
            Payload=json.dumps({"commandId": clear_id}).encode(),
        )
    item = dynamodb.update_item(
        TableName=TABLE,
        Key={"commandId": {"S": clear_id}},
        UpdateExpression="SET #n = :n",
        ExpressionAttributeNames={"#n": "notified"},
        ExpressionAttributeValues={":n": {"S": status}},
        ReturnValues="ALL_NEW",
    )["Attributes"]
    if "callbackId" in item:
        lambda_.send_durable_execution_callback_success(
            CallbackId=item["callbackId"]["S"], Result=json.dumps({"status": status}).encode()
        )


@durable_execution
def handler(event: dict[str, Any], ctx: DurableContext) -> Any:
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    clear_id, status = message["commandId"], message["status"]
    ctx.step(lambda _: hand(clear_id, status), name="hand")
    return {"records": 1}


event = floor.event()
answer = handler(event, floor.Context())  # type: ignore[arg-type]
floor.report(started, imported, answer, counted)
