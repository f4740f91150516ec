"""The floor for the first invocation of a clear's durable execution: the same AWS calls with
boto3 and the durable execution SDK (which the work needs: its checkpoints are the
CheckpointDurableExecution calls). Read the clear's record (GetItem), create the callback SSM's
notification will complete, record its id and look at the command (UpdateItem, ListCommands),
suspend on the callback. No codec, no retry strategies, no Powertools.

    python bench/floor_clear_start.py INVOKED_ARN EVENT.json REPORT.json
"""

import time

started = time.perf_counter()

import os  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

# Lambda puts the function's folder first on sys.path, where Python put this script's.
sys.path[0] = os.environ["LAMBDA_TASK_ROOT"]

import boto3  # noqa: E402
from aws_durable_execution_sdk_python import DurableContext, durable_execution  # noqa: E402
from aws_durable_execution_sdk_python.config import CallbackConfig, Duration  # noqa: E402

from bench import floor  # noqa: E402

imported = time.perf_counter()
counted = None
if os.environ.get("BENCH_COUNT_CALLS"):
    from bench import count_calls

    counted = count_calls.install()
TABLE = os.environ["COMMANDS_TABLE"]
FINAL = ("Success", "Failed", "TimedOut", "Cancelled")
dynamodb, ssm = boto3.client("dynamodb"), boto3.client("ssm")


def read(clear_id: str) -> str:
    item = dynamodb.get_item(
        TableName=TABLE, Key={"commandId": {"S": clear_id}}, ConsistentRead=True
    )["Item"]
    return str(item["expiresAt"]["S"])


def look(clear_id: str, callback_id: str) -> str:
    item = dynamodb.update_item(
        TableName=TABLE,
        Key={"commandId": {"S": clear_id}},
        UpdateExpression="SET #c = :c",
        ExpressionAttributeNames={"#c": "callbackId"},
        ExpressionAttributeValues={":c": {"S": callback_id}},
        ReturnValues="ALL_NEW",
    )["Attributes"]
    if "notified" in item:
        return str(item["notified"]["S"])
    return str(ssm.list_commands(CommandId=clear_id)["Commands"][0]["Status"])


@durable_execution
def handler(event: dict[str, Any], ctx: DurableContext) -> Any:
    clear_id = event["commandId"]
    ctx.step(lambda _: read(clear_id), name="read the clear")
    callback = ctx.create_callback(
        name="SSM's notification", config=CallbackConfig(timeout=Duration.from_seconds(240))
    )
    status = ctx.step(lambda _: look(clear_id, callback.callback_id), name="look")
    if status in FINAL:
        return {"status": status}
    return callback.result()


event = floor.event()
answer = handler(event, floor.Context())  # type: ignore[arg-type]
floor.report(started, imported, answer, counted)
