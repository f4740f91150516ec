"""The durable API a cold notifier process talks to, and the bridge that runs one.

In Lambda, an invocation of a durable function gets its execution's state in the event and
records each operation with CheckpointDurableExecution (GetDurableExecutionState for a state
too large for the event): boto3 calls of the SDK's own. harness.durable_lambda runs the
notifier in this process and hands the runner's service client to the SDK directly, so those
calls never leave the process. A cold run in a fresh process makes them for real: `serve`
adds their two routes to moto's Lambda responder, each answered by the runner that owns the
execution, exactly as the testing SDK's own web server answers them.

`ColdBridge` is a function the runner invokes like any other (registered under the alias
COLD): the next invocation expected (`expect`) is handed to a fresh process as its event, the
process's answer handed back to the runner; an invocation nobody expects runs the notifier
here, as the harness does. So the runner starts, resumes and ends the execution as Lambda
would, while the bench times exactly the invocations it asked for.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import moto.awslambda.urls as lambda_urls
from aws_durable_execution_sdk_python_testing.exceptions import AwsApiException
from aws_durable_execution_sdk_python_testing.model import CheckpointDurableExecutionRequest

from harness.durable_lambda import FUNCTION, DurableLambda

# The alias a cold run's executions are started on; Lambda's own alias (harness: "live") keeps
# running the notifier in this process.
COLD = "cold"
_CHECKPOINT = r"{0}/(?P<api_version>2025-12-01)/durable-executions/(?P<arn>.+)/checkpoint$"
_STATE = r"{0}/(?P<api_version>2025-12-01)/durable-executions/(?P<arn>.+)/state$"

Answer = tuple[int, dict[str, str], str]


def _json(value: Any) -> str:
    # Timestamps as epoch seconds: how botocore reads a restJson timestamp.
    return json.dumps(
        value, default=lambda o: o.timestamp() if isinstance(o, dt.datetime) else str(o)
    )


def _failed(error: Exception) -> Answer:
    if isinstance(error, AwsApiException):
        body = error.to_dict()
        code = str(body.get("Type", type(error).__name__))
        return error.http_status_code, {"x-amzn-errortype": code}, _json(body)
    return (
        400,
        {"x-amzn-errortype": "InvalidParameterValueException"},
        _json({"message": str(error)}),
    )


def serve(durable: DurableLambda) -> None:
    """Add the durable API's routes to moto's Lambda responder, answered by `durable`'s runner.
    Call after `durable.install()` and before the server's first Lambda request: moto builds a
    service's routes once, and `durable.close()` removes them with its own."""
    executor = durable.runner._executor

    def checkpoint(request: Any, full_url: str, headers: Any) -> Answer:
        arn = unquote(urlparse(full_url).path.split("/")[-2])
        body: bytes = request.get_data() if hasattr(request, "get_data") else request.body
        try:
            parsed = CheckpointDurableExecutionRequest.from_dict(json.loads(body or b"{}"), arn)
            answer = executor.checkpoint_execution(
                arn, parsed.checkpoint_token, parsed.updates, parsed.client_token
            )
        except Exception as error:
            return _failed(error)
        return 200, {"content-type": "application/json"}, _json(answer.to_dict())

    def state(request: Any, full_url: str, headers: Any) -> Answer:
        parsed = urlparse(full_url)
        arn = unquote(parsed.path.split("/")[-2])
        query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        try:
            answer = executor.get_execution_state(
                arn,
                checkpoint_token=query.get("CheckpointToken"),
                marker=query.get("Marker") or None,
                max_items=int(query["MaxItems"]) if "MaxItems" in query else None,
            )
        except Exception as error:
            return _failed(error)
        return 200, {"content-type": "application/json"}, _json(answer.to_dict())

    lambda_urls.url_paths[_CHECKPOINT] = checkpoint
    lambda_urls.url_paths[_STATE] = state


# What a cold process does with an invocation's event: its answer (the handler's output).
Run = Callable[[dict[str, Any]], dict[str, Any]]


class ColdBridge:
    """The notifier's alias COLD: the invocations asked for run in fresh processes, any other
    runs the notifier in this process."""

    def __init__(self, durable: DurableLambda, in_process: Callable[..., Any]) -> None:
        self._in_process = in_process
        self._executor = durable.runner._executor
        self._expected: deque[tuple[Run, Callable[[str], bool], Future[dict[str, Any]]]] = deque()
        self.seen: set[str] = set()  # the executions invoked on the alias so far
        self._lock = threading.Lock()
        self.alias_arn = durable.alias_arn.rsplit(":", 1)[0] + f":{COLD}"
        durable.runner._invoker.register(f"{FUNCTION}:{COLD}", self._invoke)

    def expect(
        self, run: Run, match: Callable[[str], bool] = lambda _arn: True
    ) -> Future[dict[str, Any]]:
        """The next invocation of the alias (of an execution whose ARN `match`es) goes to
        `run`; the future holds its answer."""
        done: Future[dict[str, Any]] = Future()
        with self._lock:
            self._expected.append((run, match, done))
        return done

    def stop_waiting(self) -> None:
        """Stop the executions of the alias that still wait (the clears a cold row started and
        never woke): their callbacks would time out minutes later, and run them here."""
        for arn in list(self.seen):
            with contextlib.suppress(Exception):
                if not self._executor.get_execution(arn).is_complete:
                    self._executor.stop_execution(arn)

    def new(self, arn: str) -> bool:
        """Whether no invocation of this execution came before."""
        return arn not in self.seen

    def _invoke(self, invocation: Any, context: Any) -> Any:
        with self._lock:
            expected = self._expected[0] if self._expected else None
            arn = str(invocation.durable_execution_arn)
            if expected is not None and expected[1](arn):
                self._expected.popleft()
            else:
                expected = None
            self.seen.add(arn)
        if expected is None:
            return self._in_process(invocation, context)
        run, _, done = expected
        try:
            answer = run(dict(invocation.to_json_dict()))
        except BaseException as error:
            done.set_exception(error)
            raise
        done.set_result(answer)
        return answer
