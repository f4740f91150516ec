"""The floor for the first invocation of a clear's durable execution: the same AWS calls with
boto3 and the durable execution SDK (which the work needs: its checkpoints are the
CheckpointDurableExecution calls). Read the clear's record (GetItem), create the callback SSM's
notification will complete, record its id and look at the command (UpdateItem, ListCommands),
suspend on the callback. No codec, no retry strategies, no Powertools.

    python bench/floor_clear_start.py INVOKED_ARN EVENT.json REPORT.json
"""

import time

started = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

# Lambda puts the function's folder first on sys.path, where Python put this script's.
sys.path[0] = os.environ["LAMBDA_TASK_ROOT"]

import boto3  # noqa: E402
from aws_durable_execution_sdk_python import DurableContext, durable_execution  # noqa: E402
from aws_durable_execution_sdk_python.config import CallbackConfig, Duration  # noqa: E402

imported = time.perf_counter()
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


class Context:
    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
    memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
    invoked_function_arn = sys.argv[1]
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    tenant_id = None

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


event = json.load(open(sys.argv[2], encoding="utf-8"))  # noqa: PTH123, SIM115
# Lambda's context, duck-typed: the floor imports nothing of Lambda's for it.
answer = handler(event, Context())  # type: ignore[arg-type]
with open(sys.argv[3], "w", encoding="utf-8") as report:  # noqa: PTH123
    done = time.perf_counter()
    json.dump(
        {
            "answered": time.monotonic(),
            "cpu_ms": time.process_time() * 1000,
            "import_ms": (imported - started) * 1000,
            "work_ms": (done - imported) * 1000,
            "result": answer,
            **({"calls": dict(counted)} if os.environ.get("BENCH_COUNT_CALLS") else {}),
        },
        report,
        default=str,
    )
