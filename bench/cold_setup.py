"""The cold rows of a clear, each made ready run after run on the embedded stack:

- the dispatcher's answer to POST /flush (claim, preflight, SendCommand, record, the clear's
  execution started on the notifier's alias);
- the notifier's first invocation of a clear (read it, create the callback, record it, look at
  the command, suspend), started by that Invoke;
- the relay: an SNS delivery of the final status, handed to the waiting clear;
- the dispatcher's answer to a signed press of the retry button (app mode), within Slack's 3 s.

Between runs the previous command is ended and the group's claim freed, as the clear would free
it, so that every run does the whole work. SSM's notifications reach no one while these rows
run: the relay row delivers its own.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from aws_durable_execution_sdk_python import DurableContext, durable_execution
from moto.ssm.models import ssm_backends

from bench.cold import Durable, Plain
from bench.cold_row import Row
from bench.durable_service import COLD, ColdBridge
from harness import aws_emulator as emulator
from harness import slack_press
from harness.aws_emulator import ACCOUNT_ID, REGION
from harness.durable_lambda import FUNCTION, PATIENCE
from harness.slack_web_api import CHANNEL, SIGNING_SECRET
from harness.stack import DISPATCHER, DISPATCHER_ARN, GROUP, TABLE, Stack, api_event

# An alias whose clears end at once: the dispatcher's row times the Invoke that starts a clear,
# not the clear, which would otherwise run here beside the process being timed.
IDLE = "idle"
PRESSER = "U0APCUOPS"
PRESS_BOUND_MS = 3000.0
FINAL = ("Success", "Failed", "TimedOut", "Cancelled")


@durable_execution
def _idle(event: Any, context: DurableContext) -> dict[str, Any]:
    return {}


@dataclass
class Rows:
    stack: Stack
    bridge: ColdBridge

    def __post_init__(self) -> None:
        self.stack.lambda_.runner._invoker.register(f"{FUNCTION}:{IDLE}", _idle)
        self.idle_arn = self.stack.lambda_.alias_arn.rsplit(":", 1)[0] + f":{IDLE}"
        self.in_process_env = dict(self.stack.env)
        self._db = boto3.client("dynamodb", region_name=REGION)

    # -- between runs ------------------------------------------------------------------------

    def end_previous(self) -> None:
        """Every command still running ends, each instance cleared, and the group is free."""
        for command in list(ssm_backends[ACCOUNT_ID][REGION]._commands):
            if command.status not in FINAL:
                ids = emulator.targeted_instances(command.command_id)
                emulator.settle_command(command.command_id, {i: emulator.ok() for i in ids})
        self._db.delete_item(TableName=TABLE, Key={"commandId": {"S": f"claim#group#{GROUP}"}})

    def in_process(self) -> None:
        """The in-process functions as deployed again: clears start on the live alias."""
        self.stack.use(self.in_process_env)

    def clear_on_cold_alias(self) -> str:
        """POST /flush in this process, its clear started on the bridge's alias."""
        self.stack.use({**self.in_process_env, "NOTIFIER_ALIAS_ARN": self.bridge.alias_arn})
        answer = self.stack.dispatch(
            api_event("POST", "/flush", {"group": GROUP, "action": "clear-apcu"})
        )
        if answer["statusCode"] != 202:
            raise SystemExit(f"the dispatcher answered {answer['statusCode']}: {answer['body']}")
        return str(json.loads(answer["body"])["commandId"])

    def recorded_callback(self, clear_id: str) -> None:
        """Wait until the clear has recorded the callback the relay completes."""
        for _ in range(500):
            item = self._db.get_item(TableName=TABLE, Key={"commandId": {"S": clear_id}})
            if "callbackId" in item.get("Item", {}):
                return
            time.sleep(0.01)
        raise SystemExit(f"clear {clear_id} recorded no callback")

    # -- the rows ----------------------------------------------------------------------------

    def dispatcher(self) -> Row:
        event = api_event("POST", "/flush", {"group": GROUP, "action": "clear-apcu"})
        return Row(
            title="dispatcher: POST /flush (claim, preflight, SendCommand, record, Invoke)",
            function="dispatcher",
            invoked_arn=DISPATCHER_ARN,
            floor_script="bench/floor_dispatcher.py",
            floor_label="boto3",
            floor_imports="import boto3, json, uuid",
            invocation=Plain(lambda: event),
            before=self.end_previous,
            check=_status(202),
            refs={"NotifierFunction.Alias": self.idle_arn},
        )

    def clear_start(self) -> Row:
        return Row(
            title="notifier: a clear's first invocation (read, callback, record, look, suspend)",
            function="notifier",
            invoked_arn=self.bridge.alias_arn,
            floor_script="bench/floor_clear_start.py",
            floor_label="boto3+durable SDK",
            floor_imports="import boto3, aws_durable_execution_sdk_python",
            invocation=Durable(self.bridge, self.clear_on_cold_alias),
            before=self.end_previous,
            check=_suspended,
        )

    def relay(self) -> Row:
        event: dict[str, Any] = {}
        waiting: list[str] = []

        def before() -> None:
            self.end_previous()
            clear_id = self.clear_on_cold_alias()  # its first invocation runs here, unexpected
            self.stack.lambda_.waiting(clear_id, timeout=30)
            self.recorded_callback(clear_id)
            emulator.settle_command(
                clear_id, {i: emulator.ok() for i in emulator.targeted_instances(clear_id)}
            )
            event.update(emulator.notification(clear_id, "Success"))
            waiting[:] = [clear_id]

        def deliver() -> None:
            self.stack.lambda_.runner.run_async(
                input=json.dumps(event),
                function_name=f"{FUNCTION}:{COLD}",
                execution_name=str(uuid.uuid4()),
                execution_timeout=PATIENCE,
            )

        def check(answer: dict[str, Any]) -> None:
            if answer.get("Status") != "SUCCEEDED":
                raise SystemExit(f"a cold relay answered {answer}")
            # The clear it woke judges and posts here; the next run waits for none of it.
            verdict = self.stack.lambda_.outcome(waiting[0]).get("verdict")
            if verdict != "ok":
                raise SystemExit(f"the clear the relay woke ended {verdict}")

        return Row(
            title="notifier: the relay (an SNS record -> SendDurableExecutionCallbackSuccess)",
            function="notifier",
            invoked_arn=self.stack.lambda_.alias_arn,
            floor_script="bench/floor_relay.py",
            floor_label="boto3+durable SDK",
            floor_imports="import boto3, aws_durable_execution_sdk_python",
            invocation=Durable(self.bridge, deliver),
            before=before,
            check=check,
        )

    def press(self, app_secret_arn: str) -> Row:
        clear_id = str(uuid.uuid4())

        def event() -> dict[str, Any]:
            # Signed now: Slack's 5-minute window holds for each run, however long the bench.
            return slack_press.press_event(
                clear_id, signing_secret=SIGNING_SECRET, user_id=PRESSER, channel=CHANNEL
            )

        def before() -> None:
            # The work the press hands on runs asynchronously; here it is not the answer's.
            self.stack.lambda_.functions[DISPATCHER] = lambda _payload: None

        return Row(
            title="dispatcher, Slack app mode: the answer to a signed press of the retry button",
            function="dispatcher",
            invoked_arn=DISPATCHER_ARN,
            floor_script="bench/floor_dispatcher_press.py",
            floor_label="boto3+hmac",
            floor_imports="import boto3, hmac, base64, urllib.parse",
            invocation=Plain(event),
            before=before,
            check=_status(200),
            parameters={
                "SlackMode": "app",
                "SlackAppSecretArn": app_secret_arn,
                "SlackAllowedUsers": PRESSER,
            },
            answer_bound_ms=PRESS_BOUND_MS,
            lazy_imports=("slack_sdk.signature",),
        )


def _status(expected: int) -> Callable[[dict[str, Any]], None]:
    def check(answer: dict[str, Any]) -> None:
        if answer.get("statusCode") != expected:
            raise SystemExit(f"answered {answer.get('statusCode')}: {answer.get('body')}")

    return check


def _suspended(answer: dict[str, Any]) -> None:
    # The command still runs: the clear waits on SSM's notification, so its invocation ends.
    if answer.get("Status") != "PENDING":
        raise SystemExit(f"a clear's first invocation answered {answer}, not PENDING")
