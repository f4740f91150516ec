"""What `make demo` prints: readable steps, the dispatcher's warnings, Slack as Slack shows it, an
execution's history as the Lambda console lists it; and how the demo is asked for."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from aws_durable_execution_sdk_python import CallbackTimeoutError, DurableContext, durable_execution
from aws_durable_execution_sdk_python.config import CallbackConfig, Duration, StepConfig
from aws_durable_execution_sdk_python.retries import RetryDecision

from harness.durable_lambda import ALIAS_ARN, DurableLambda
from local import history
from local.console import dispatcher_answer
from local.scenarios import SCENARIOS
from local.slack_view import render
from tests.local.demo import ROOT, run_demo

ANSWER = {
    "commandId": "11111111-2222-4333-8444-555555555555",
    "group": "web-prod",
    "prefix": None,
    "expect": {"desiredCapacity": 3, "inService": 3, "managedOnline": 2},
    "warnings": [
        {
            "reason": "not-online",
            "message": "i-0abc is InService but its SSM agent is ConnectionLost; "
            "its invocation will likely end DeliveryTimedOut",
            "instanceId": "i-0abc",
        }
    ],
    "consoleUrl": "https://example.invalid/",
}


def test_the_dispatcher_step_reads_as_a_sentence_and_shows_each_warning() -> None:
    line, notes = dispatcher_answer("console-clear-apcu.json", ANSWER)
    assert "{" not in line and "'" not in line, "no raw dict in a step line"
    assert "wants 3, 3 InService, 2 with an SSM agent online" in line
    assert notes == [
        "warning (not-online): i-0abc is InService but its SSM agent is ConnectionLost; "
        "its invocation will likely end DeliveryTimedOut"
    ]
    _, quiet = dispatcher_answer("console-clear-apcu.json", {**ANSWER, "warnings": []})
    assert quiet == ["no warnings: every InService instance has an agent online"]


def test_slack_is_printed_as_slack_shows_it() -> None:
    payload = {
        "text": "fallback",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "APCu clear failed"}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "<!here> *web-prod*: a &lt;!channel&gt;"},
            },
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": "Clear again"}}
                ],
            },
        ],
    }
    lines = render(payload, indent="").splitlines()
    # Slack shows a header as written (larger, bold), not upper-cased.
    assert lines[0] == "APCu clear failed"
    # A mention shows as @here, bold without its asterisks, escaped text as text.
    assert lines[1] == "@here web-prod: a <!channel>"
    assert lines[2] == "[ Clear again ]"


ATTEMPTS: list[int] = []


def _throttled_once(_: object) -> str:
    ATTEMPTS.append(1)
    if len(ATTEMPTS) == 1:
        raise RuntimeError("throttled")
    return "read"


@durable_execution
def _clear_like(event: dict[str, Any], context: DurableContext) -> dict[str, Any]:
    context.step(
        _throttled_once,
        name="read the command",
        config=StepConfig(
            retry_strategy=lambda _e, n: (
                RetryDecision.retry(Duration.from_seconds(2)) if n < 3 else RetryDecision.no_retry()
            )
        ),
    )
    context.wait(Duration.from_minutes(15), name="wait 15 minutes")
    callback = context.create_callback(
        name="SSM's notification", config=CallbackConfig(timeout=Duration.from_seconds(1))
    )
    with contextlib.suppress(CallbackTimeoutError):
        callback.result()
    return {"verdict": "never_ended"}


@pytest.fixture
def executed(aws: None) -> Iterator[DurableLambda]:
    ATTEMPTS.clear()
    with DurableLambda(_clear_like) as lambda_:
        boto3.client("lambda", region_name="us-east-1").invoke(
            FunctionName=ALIAS_ARN,
            InvocationType="Event",
            DurableExecutionName="clear-1",
            Payload=json.dumps({"commandId": "clear-1"}).encode(),
        )
        lambda_.outcome("clear-1")
        yield lambda_


def test_the_history_lists_each_operation_with_its_time_and_end(executed: DurableLambda) -> None:
    head, step, wait, callback, returned = history.lines(executed, "clear-1")

    assert re.fullmatch(
        r"execution clear-1 \(\d\d:\d\d:\d\d UTC\): SUCCEEDED after 90\d s, "
        r"4 durable operations, \d invocations",
        head,
    )
    assert re.fullmatch(
        r" +\+0\.\d\ds  step +read the command +succeeded on attempt 2 "
        r"\(RuntimeError: throttled, again after 2 s\)",
        step,
    )
    # A wait is on the execution's clock: the runner skipped it, and the clock moved on.
    assert re.fullmatch(r" +\+2\.\d\ds  wait +wait 15 minutes +succeeded after 15 min", wait)
    assert re.fullmatch(
        r" +\+90\d\.\d\ds  callback +SSM's notification +TIMED OUT after 1(\.\d\d?)? s: nothing came",
        callback,
    )
    assert returned.split() == ["returned", '{"verdict":', '"never_ended"}']


def test_the_makefile_lists_every_scenario() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    [help_text] = [line for line in makefile.splitlines() if line.startswith("demo:")]
    listed = re.search(r"SCENARIO=([a-z|-]+)", help_text)
    assert listed and listed.group(1).split("|") == list(SCENARIOS)


def test_an_unknown_scenario_is_refused_in_either_mode(tmp_path: Any) -> None:
    for mode in ("webhook", "app"):
        refused = run_demo(tmp_path, "--slack", mode, "--scenario", "nope")
        assert refused.returncode == 2
        assert "invalid choice: 'nope'" in refused.stderr


def test_a_wrong_verdict_fails_the_run(tmp_path: Any) -> None:
    completed = run_demo(tmp_path, "--scenario", "ok", "--expect", "mismatch")
    assert completed.returncode == 1
    assert "FAILED: verdict ok, expected mismatch" in completed.stdout


def test_japanese_messages(tmp_path: Any) -> None:
    completed = run_demo(tmp_path, "--scenario", "failed", "--lang", "ja")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    [post] = json.loads((tmp_path / "failed.slack.json").read_text(encoding="utf-8"))["webhook"]
    kana = re.compile(r"[\u3040-\u30ff]")
    assert kana.search(post["text"]) and "failed" not in post["text"].split("\n")[0]
    assert any(kana.search(line) for line in completed.stdout.splitlines() if "│ " in line)
