"""The embedded Lambda durable service: AWS's in-process runner for durable executions
(aws-durable-execution-sdk-python-testing), reached the way the functions reach Lambda.

The dispatcher starts a clear with Lambda Invoke (the notifier's alias, InvocationType Event,
DurableExecutionName), and the relay completes a clear's callback with
SendDurableExecutionCallbackSuccess. Both are plain boto3 calls; this module adds their routes
to moto's Lambda responder, so that they reach the runner under `mock_aws` (the tests) and
under moto's server (the local run) alike, and src/ knows nothing of it.

The runner is kinder than AWS where the clear relies on AWS, so the routes and the runner are
made to behave as AWS does (botocore's Lambda model and the Lambda developer guide):

- an execution name is idempotent: the same name with the same payload answers the existing
  execution, another payload DurableExecutionAlreadyStartedException (409);
- a durable function is invoked only by a qualified ARN (a version or an alias);
- a callback already closed (completed, timed out, or its execution over) answers
  CallbackTimeoutException (400);
- a checkpoint over 256 KB is refused, and the execution fails, as the service refuses it.

An SNS delivery (SSM's notification) is an execution of its own, started as SNS starts one:
`deliver`. Ordinary functions (the dispatcher, which invokes itself asynchronously for Slack's
work) can be registered too: an Event invocation of one runs it on a thread of its own, as
Lambda's asynchronous queue would; `drain` waits for them. SimulatedCrash, raised from inside a step (the fault sweep raises it right after an
AWS call returned), ends the invocation as a killed process would: the runner invokes the
function again and the step runs again.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote, urlparse

import moto.awslambda.urls as lambda_urls
from aws_durable_execution_sdk_python.exceptions import CheckpointError
from aws_durable_execution_sdk_python_testing.exceptions import IllegalStateException
from aws_durable_execution_sdk_python_testing.runner import (
    DurableFunctionTestResult,
    DurableFunctionTestRunner,
    _is_callback_ready_for_response,
)
from aws_durable_execution_sdk_python_testing.token import CallbackToken
from moto.awslambda.responses import LambdaResponse

from harness.aws_emulator import ACCOUNT_ID, REGION

FUNCTION = "apcu-fleet-flush-notifier"
ALIAS = "live"
ALIAS_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{FUNCTION}:{ALIAS}"
# Lambda's quota: 256 KB per checkpoint payload (the SDK's CHECKPOINT_SIZE_LIMIT_BYTES).
CHECKPOINT_LIMIT = 256 * 1024
# The longest a test or the local run waits for an execution, in real seconds.
PATIENCE = 120

_INVOKE = (
    r"{0}/(?P<api_version>[^/]+)/functions/(?P<function_name>[\w_-]+)/invocations/?$",
    r"{0}/(?P<api_version>[^/]+)/functions/(?P<resource_arn>.+)/invocations/?$",
)
_CALLBACK = r"{0}/(?P<api_version>2025-12-01)/durable-execution-callbacks/(?P<callback_id>.+)/(?P<action>succeed|fail|heartbeat)$"

Answer = tuple[int, dict[str, str], Any]


class SimulatedCrash(BaseException):
    """The invocation dies here, as a process killed mid-step: a BaseException, so neither the
    step's retry strategy nor the SDK sees it fail."""


def _error(status: int, code: str, message: str) -> Answer:
    # restJson1: botocore reads the code from x-amzn-errortype, the message from the body.
    return (
        status,
        {"x-amzn-errortype": code, "content-type": "application/json"},
        json.dumps({"Type": "User", "message": message}),
    )


def _lambda_runtime(handler: Callable[..., Any]) -> Callable[..., Any]:
    """What Lambda does with an invocation that died: an invocation error, then another try."""

    def invoke(event: Any, context: Any) -> Any:
        try:
            return handler(event, context)
        except SimulatedCrash as crash:
            raise RuntimeError(f"Runtime.ExitError: {crash}") from crash

    return invoke


class DurableLambda:
    """The notifier as a durable function, behind its alias."""

    def __init__(
        self,
        handler: Callable[..., Any],
        *,
        function: str = FUNCTION,
        functions: Mapping[str, Callable[[Any], Any]] | None = None,
    ) -> None:
        self.function = function
        self.functions = dict(functions or {})
        self.asynchronous: list[threading.Thread] = []
        self.asynchronous_errors: list[BaseException] = []
        self.alias_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function}:{ALIAS}"
        self.runner = DurableFunctionTestRunner(
            handler=_lambda_runtime(handler), poll_interval=0.05, region=REGION
        )
        # The runner waits 5 real seconds before invoking again after an invocation failed.
        self.runner._executor.RETRY_BACKOFF_SECONDS = 0
        self._names: dict[str, tuple[bytes, str]] = {}
        self._results: dict[str, DurableFunctionTestResult] = {}
        self._lock = threading.Lock()
        self._saved: dict[str, Any] | None = None
        self.largest_checkpoint: Counter[str] = Counter()
        self._guard_checkpoints()

    # -- set-up ------------------------------------------------------------------------------

    def install(self) -> DurableLambda:
        self._saved = dict(lambda_urls.url_paths)
        for pattern in _INVOKE:
            lambda_urls.url_paths[pattern] = self._invoke
        lambda_urls.url_paths[_CALLBACK] = self._callback
        return self

    def close(self) -> None:
        """Let every execution finish its invocation first: one still running when the
        emulator stops would call AWS's real endpoints."""
        self.settle()
        if self._saved is not None:
            lambda_urls.url_paths.clear()
            lambda_urls.url_paths.update(self._saved)
            self._saved = None
        self.runner.close()  # type: ignore[no-untyped-call]

    def __enter__(self) -> DurableLambda:
        return self.install()

    def __exit__(self, *_: object) -> None:
        self.close()

    def _guard_checkpoints(self) -> None:
        client = self.runner._service_client
        checkpoint = client.checkpoint

        def guarded(
            durable_execution_arn: str, checkpoint_token: str, updates: Any, client_token: Any
        ) -> Any:
            for update in updates:
                size = len((update.payload or "").encode())
                self.largest_checkpoint[durable_execution_arn] = max(
                    self.largest_checkpoint[durable_execution_arn], size
                )
                if size > CHECKPOINT_LIMIT:
                    raise CheckpointError(
                        f"checkpoint payload of {size} bytes is over Lambda's {CHECKPOINT_LIMIT}"
                    )
            return checkpoint(durable_execution_arn, checkpoint_token, updates, client_token)

        client.checkpoint = guarded  # type: ignore[method-assign]

    # -- what tests and the local run do -----------------------------------------------------

    def deliver(self, event: dict[str, Any]) -> str:
        """SNS delivers SSM's notification to the alias: an execution of its own, unnamed."""
        return self.runner.run_async(
            input=json.dumps(event),
            function_name=f"{self.function}:{ALIAS}",
            execution_name=str(uuid.uuid4()),
            execution_timeout=PATIENCE,
        )

    def arn_of(self, name: str) -> str:
        """The execution started with this name (a clear's id)."""
        return self._names[name][1]

    def started(self, name: str) -> bool:
        return name in self._names

    def result(self, name_or_arn: str, timeout: float = PATIENCE) -> DurableFunctionTestResult:
        """The execution's result once it ended: by its ARN, or by its name (a clear's id),
        waiting for it to be started (SSM's notification may start it a moment later)."""
        arn = name_or_arn if "/" in name_or_arn else self._started(name_or_arn, timeout)
        with self._lock:
            if arn in self._results:
                return self._results[arn]
        result = self.runner.wait_for_result(arn, timeout=int(timeout))
        with self._lock:
            self._results[arn] = result
        return result

    def outcome(self, name_or_arn: str, timeout: float = PATIENCE) -> dict[str, Any]:
        """What the execution returned; raises when it failed."""
        result = self.result(name_or_arn, timeout)
        if result.error is not None:
            raise ExecutionFailed(f"{result.error.type}: {result.error.message}")
        value: dict[str, Any] = json.loads(result.result or "null")
        return value

    def waiting(
        self, name: str, callback: str = "SSM's notification", timeout: float = PATIENCE
    ) -> str:
        """Wait until the execution `name` waits on a callback of that name that is still open;
        the callback's id (the latest, when the clear waits in slices)."""
        arn = self._started(name, timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            events = self.runner.get_execution_history(arn).events
            closed = {
                e.event_id
                for e in events
                if e.event_type in ("CallbackSucceeded", "CallbackFailed", "CallbackTimedOut")
            }
            open_ = [
                e
                for e in events
                if e.event_type == "CallbackStarted"
                and e.name == callback
                and e.event_id not in closed
                and _is_callback_ready_for_response(events, e)
            ]
            if open_:
                details = open_[-1].callback_started_details
                assert details is not None
                return str(details.callback_id)
            time.sleep(0.02)
        raise TimeoutError(f"execution {name} waits on no open callback {callback!r}")

    def time_out(self, name: str, callback_id: str) -> None:
        """The callback's timeout runs out now (the runner would take its real time)."""
        self.runner._executor._on_callback_timeout(self._started(name, PATIENCE), callback_id)

    def _started(self, name: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while name not in self._names:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no execution named {name}")
            time.sleep(0.02)
        return self._names[name][1]

    def history(self, name_or_arn: str) -> list[Any]:
        arn = name_or_arn if "/" in name_or_arn else self._started(name_or_arn, PATIENCE)
        return list(self.runner.get_execution_history(arn).events)

    def operations(self, name_or_arn: str) -> int:
        """The durable operations the execution used: Lambda's per-execution quota counts these
        (a step and each of its retries, a wait, a callback)."""
        events = self.history(name_or_arn)
        return sum(
            1
            for e in events
            if e.event_type in ("StepStarted", "WaitStarted", "CallbackStarted", "ContextStarted")
        )

    # -- the routes --------------------------------------------------------------------------

    def _invoke(self, request: Any, full_url: str, headers: Any) -> Answer:
        target = unquote(urlparse(full_url).path.rsplit("/", 2)[-2])
        name_part = target.split(":function:", 1)[1] if target.startswith("arn:") else target
        function, _, qualifier = name_part.partition(":")
        if function in self.functions:
            return self._invoke_plain(function, request, headers)
        if function != self.function:
            return LambdaResponse.dispatch(request, full_url, headers)  # type: ignore[no-any-return]
        if not qualifier:
            return _error(
                400,
                "InvalidParameterValueException",
                "You cannot invoke a durable function using an unqualified ARN",
            )
        body: bytes = request.get_data() if hasattr(request, "get_data") else (request.body or b"")
        name = headers.get("X-Amz-Durable-Execution-Name") or str(uuid.uuid4())
        with self._lock:
            if name in self._names:
                payload, arn = self._names[name]
                if payload != body:
                    return _error(
                        409,
                        "DurableExecutionAlreadyStartedException",
                        f"a durable execution named {name} exists with another payload",
                    )
            else:
                arn = self.runner.run_async(
                    input=body.decode() or None,
                    function_name=f"{function}:{qualifier}",
                    execution_name=name,
                    execution_timeout=PATIENCE,
                )
                self._names[name] = (body, arn)
        return (
            202,
            {
                "X-Amz-Durable-Execution-Arn": arn,
                "X-Amz-Executed-Version": "1",
                "content-type": "application/json",
            },
            b"",
        )

    def _invoke_plain(self, function: str, request: Any, headers: Any) -> Answer:
        body: bytes = request.get_data() if hasattr(request, "get_data") else (request.body or b"")
        payload = json.loads(body or b"null")
        handler = self.functions[function]
        if headers.get("X-Amz-Invocation-Type") != "Event":
            return 200, {"content-type": "application/json"}, json.dumps(handler(payload))

        def run() -> None:
            try:
                handler(payload)
            except BaseException as error:
                self.asynchronous_errors.append(error)

        thread = threading.Thread(target=run, name=f"async-{function}", daemon=True)
        self.asynchronous.append(thread)
        thread.start()
        return 202, {"content-type": "application/json"}, b""

    def settle(self, timeout: float = 20) -> None:
        """Wait until no execution is in an invocation (each has ended, or waits on a timer or
        a callback) and the asynchronous invocations of ordinary functions have ended."""
        from aws_durable_execution_sdk_python_testing.worker.status import InvocationState

        self.drain()
        executor = self.runner._executor
        deadline = time.monotonic() + timeout
        calm = 0
        while time.monotonic() < deadline and calm < 3:
            busy = [
                execution
                for execution in executor._store.list_all()
                if not execution.is_complete
                and (
                    executor._invocation_gate(execution.durable_execution_arn)
                    is InvocationState.INVOKING
                    or self._last_event(execution.durable_execution_arn) != "InvocationCompleted"
                )
            ]
            calm = 0 if busy else calm + 1
            time.sleep(0.02)

    def _last_event(self, arn: str) -> str:
        events = self.history(arn)
        return str(events[-1].event_type) if events else ""

    def drain(self, timeout: float = PATIENCE) -> None:
        """Wait for the asynchronous invocations of ordinary functions to end."""
        while self.asynchronous:
            self.asynchronous.pop(0).join(timeout)

    def _callback(self, request: Any, full_url: str, headers: Any) -> Answer:
        parts = urlparse(full_url).path.split("/")
        action, callback_id = parts[-1], unquote("/".join(parts[3:-1]))
        try:
            arn = CallbackToken.from_str(callback_id).execution_arn
            execution = self.runner._executor.get_execution(arn)
        except Exception:
            return _error(
                400, "InvalidParameterValueException", "not a callback id of this function"
            )
        if execution.is_complete:
            return _error(400, "CallbackTimeoutException", "the callback's execution has ended")
        body: bytes = request.get_data() if hasattr(request, "get_data") else (request.body or b"")
        try:
            if action == "succeed":
                self.runner.send_callback_success(callback_id, result=body or None)
            elif action == "heartbeat":
                self.runner.send_callback_heartbeat(callback_id)
            else:
                self.runner.send_callback_failure(callback_id)
        except Exception as error:
            if isinstance(error.__cause__, IllegalStateException):
                return _error(400, "CallbackTimeoutException", "the callback is closed already")
            return _error(404, "ResourceNotFoundException", str(error))
        return 200, {"content-type": "application/json"}, "{}"


class ExecutionFailed(AssertionError):
    """A durable execution ended FAILED."""
