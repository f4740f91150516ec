"""The embedded Lambda behaves as AWS does where the clear relies on it (botocore's Lambda
model, the Lambda developer guide), where AWS's in-process runner is kinder: execution names
are idempotent, a durable function takes only a qualified ARN, a closed callback answers
CallbackTimeoutException, a checkpoint over 256 KB fails the execution."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_durable_execution_sdk_python import DurableContext, durable_execution
from aws_durable_execution_sdk_python.config import CallbackConfig, Duration
from botocore.exceptions import ClientError

from harness.durable_lambda import ALIAS_ARN, FUNCTION, DurableLambda, ExecutionFailed


@durable_execution
def waits(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    callback = context.create_callback(
        name="go", config=CallbackConfig(timeout=Duration.from_seconds(60))
    )
    if event.get("big"):
        context.step(lambda _: "x" * (300 * 1024), name="too big")
    return {"got": callback.result()}


@pytest.fixture
def service(aws: None) -> Iterator[tuple[DurableLambda, Any]]:
    ran: list[object] = []
    with DurableLambda(waits, functions={"plain": ran.append}) as lambda_:
        lambda_.ran = ran  # type: ignore[attr-defined]
        yield lambda_, boto3.client("lambda", region_name="us-east-1")


def start(client: Any, name: str, payload: dict[str, Any], target: str = ALIAS_ARN) -> str:
    answer = client.invoke(
        FunctionName=target,
        InvocationType="Event",
        DurableExecutionName=name,
        Payload=json.dumps(payload).encode(),
    )
    assert answer["StatusCode"] == 202
    return str(answer["DurableExecutionArn"])


def test_a_name_starts_one_execution_and_refuses_another_payload(
    service: tuple[DurableLambda, Any],
) -> None:
    _, client = service
    first = start(client, "clear-1", {"commandId": "a"})
    assert start(client, "clear-1", {"commandId": "a"}) == first
    with pytest.raises(ClientError) as refused:
        start(client, "clear-1", {"commandId": "b"})
    assert refused.value.response["Error"]["Code"] == "DurableExecutionAlreadyStartedException"


def test_a_durable_function_is_invoked_by_a_qualified_arn_only(
    service: tuple[DurableLambda, Any],
) -> None:
    _, client = service
    with pytest.raises(ClientError) as refused:
        start(
            client,
            "clear-2",
            {},
            target=f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION}",
        )
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"


def test_a_closed_callback_answers_callback_timeout(service: tuple[DurableLambda, Any]) -> None:
    lambda_, client = service
    start(client, "clear-3", {})
    callback = lambda_.waiting("clear-3", "go")
    client.send_durable_execution_callback_success(CallbackId=callback, Result=b'"yes"')
    assert lambda_.outcome("clear-3") == {"got": '"yes"'}
    with pytest.raises(ClientError) as closed:
        client.send_durable_execution_callback_success(CallbackId=callback, Result=b'"again"')
    assert closed.value.response["Error"]["Code"] == "CallbackTimeoutException"


def test_a_checkpoint_over_256_kb_fails_the_execution(service: tuple[DurableLambda, Any]) -> None:
    lambda_, client = service
    start(client, "clear-4", {"big": True})
    with pytest.raises(ExecutionFailed, match="over Lambda's 262144"):
        lambda_.outcome("clear-4")


def test_an_ordinary_function_runs_its_event_invocations_on_a_thread(
    service: tuple[DurableLambda, Any],
) -> None:
    lambda_, client = service
    answer = client.invoke(FunctionName="plain", InvocationType="Event", Payload=b'{"n": 1}')
    assert answer["StatusCode"] == 202
    lambda_.drain()
    assert lambda_.ran == [{"n": 1}]  # type: ignore[attr-defined]
