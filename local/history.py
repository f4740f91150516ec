"""A clear's durable execution as the Lambda console shows it: the execution's status, then each
durable operation (step, wait, callback) in the order it started, with its time from the start,
how it ended, and what it carried: a step's failed attempts and their retries, a wait's length,
what completed a callback, or its timeout.

The times are the execution's own clock: AWS's local runner skips a wait (a 15-minute look
completes at once) and moves that clock on by the wait's length, so the history reads as it
would in AWS. A callback's timeout is real time, so the demo keeps those short.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from harness.durable_lambda import DurableLambda

_KINDS = ("Execution", "Invocation", "Step", "Wait", "Callback", "Context")
_ENDINGS = {
    "Succeeded": "succeeded",
    "Failed": "FAILED",
    "TimedOut": "TIMED OUT",
    "Cancelled": "cancelled",
    "Stopped": "STOPPED",
}
_NAME_WIDTH = 46
_CHARS = 160


@dataclass
class Operation:
    kind: str
    name: str
    started: float
    attempts: int = 0
    ending: str = "open"
    detail: str = ""
    # A step's failed attempts that were retried: the error, and the pause before the next.
    retried: list[str] = field(default_factory=list)

    def line(self) -> str:
        at = f"+{self.started:.2f}s"
        name = self.name if len(self.name) <= _NAME_WIDTH else self.name[: _NAME_WIDTH - 1] + "…"
        status = self.ending
        if self.attempts > 1:
            status += f" on attempt {self.attempts}"
        if self.retried:
            status += f" ({'; '.join(self.retried)})"
        detail = f" {self.detail}" if self.detail else ""
        return f"{at:>9}  {self.kind:<8}  {name:<{_NAME_WIDTH}}  {status}{detail}"


def lines(lambda_: DurableLambda, name: str) -> list[str]:
    """The history of the execution named `name` (a clear's id)."""
    arn = lambda_.arn_of(name)
    events = list(lambda_.runner.get_execution_history(arn, include_execution_data=True).events)
    return describe(events, name, operations=lambda_.operations(arn))


def describe(events: list[Any], name: str, *, operations: int) -> list[str]:
    """The lines for these history events (GetDurableExecutionHistory's, with their data)."""
    if not events:
        return [f"execution {name}: no history"]
    start = events[0].event_timestamp
    ops: dict[str, Operation] = {}
    outcome, result, invocations = "RUNNING", "", 0
    for event in events:
        at = (event.event_timestamp - start).total_seconds()
        kind, what = _split(event.event_type)
        if kind == "Invocation":
            invocations += 1
        elif kind == "Execution":
            if what != "Started":
                outcome, result = _ENDINGS.get(what, what).upper(), _execution_end(event)
        elif kind:
            op = ops.setdefault(str(event.operation_id), Operation(kind.lower(), event.name, at))
            _apply(op, what, event, at)
    took = (events[-1].event_timestamp - start).total_seconds()
    head = (
        f"execution {name} ({start:%H:%M:%S} UTC): {outcome} after {_seconds(took)}, "
        f"{operations} durable operations, {invocations} invocations"
    )
    body = [op.line() for op in sorted(ops.values(), key=lambda o: o.started)]
    tail = [f"{'':>9}  returned  {result}"] if result else []
    return [head, *body, *tail]


def _split(event_type: str) -> tuple[str, str]:
    """StepSucceeded: ("Step", "Succeeded")."""
    for kind in _KINDS:
        if event_type.startswith(kind):
            return kind, event_type.removeprefix(kind)
    return "", event_type


def _apply(op: Operation, what: str, event: Any, at: float) -> None:
    took = _seconds(at - op.started)
    if what == "Started":
        op.attempts += 1
        if event.wait_started_details is not None and event.wait_started_details.duration:
            op.detail = _seconds(event.wait_started_details.duration)
        return
    failed = event.step_failed_details
    if (
        failed is not None
        and failed.retry_details
        and failed.retry_details.next_attempt_delay_seconds is not None
    ):
        delay = _seconds(failed.retry_details.next_attempt_delay_seconds)
        op.retried.append(f"{_error(failed)}, again after {delay}")
        return
    op.ending = _ENDINGS.get(what, what)
    if event.callback_succeeded_details is not None:
        carried = _payload(event.callback_succeeded_details.result)
        op.detail = f"after {took}" + (f": {carried}" if carried else "")
    elif event.callback_timed_out_details is not None:
        op.detail = f"after {took}: nothing came"
    elif event.wait_succeeded_details is not None:
        op.detail = f"after {took}"
    elif failed is not None or event.callback_failed_details is not None:
        op.detail = f"- {_error(failed or event.callback_failed_details)}"


def _error(details: Any) -> str:
    error = details.error.payload if details.error is not None else None
    if error is None:
        return "an error"
    return f"{error.type}: {error.message}"[:_CHARS]


def _execution_end(event: Any) -> str:
    for details in (
        event.execution_failed_details,
        event.execution_timed_out_details,
        event.execution_stopped_details,
    ):
        if details is not None:
            return _error(details)
    succeeded = event.execution_succeeded_details
    return _payload(succeeded.result) if succeeded is not None else ""


def _payload(carried: Any) -> str:
    text = getattr(carried, "payload", None)
    if not text:
        return ""
    with contextlib.suppress(ValueError):
        text = json.dumps(json.loads(text), ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= _CHARS else text[: _CHARS - 1] + "…"


def _seconds(value: float) -> str:
    if value >= 120 and round(value) % 60 == 0:
        return f"{round(value) // 60} min"
    shown = f"{value:.2f}".rstrip("0").rstrip(".") if value < 10 else f"{value:.0f}"
    return f"{shown} s"
