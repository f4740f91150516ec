"""What a clear costs when both functions run in this process (harness.stack.Stack): every AWS
call any botocore client makes (its event hooks; the dispatcher's on the main thread, the
notifier's on the runner's), every invocation of the notifier with its wall and CPU time, and
every checkpoint with the bytes it wrote.

The SDK checkpoints through the runner's service client in this process, not through boto3, so
those calls are counted where the runner takes them: each is a CheckpointDurableExecution call
Lambda would get.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import botocore.session

from harness.durable_lambda import DurableLambda


@dataclass
class Invocation:
    arn: str
    wall_s: float
    cpu_s: float


@dataclass
class Watch:
    dispatcher: Counter[str] = field(default_factory=Counter)
    notifier: Counter[str] = field(default_factory=Counter)
    invocations: list[Invocation] = field(default_factory=list)
    checkpoints: Counter[str] = field(default_factory=Counter)  # calls per execution
    written: Counter[str] = field(default_factory=Counter)  # payload bytes per execution
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, model: Any, **_: Any) -> None:
        call = f"{model.service_model.service_name}:{model.name}"
        main = threading.current_thread() is threading.main_thread()
        with self._lock:
            (self.dispatcher if main else self.notifier)[call] += 1

    def reset(self) -> None:
        with self._lock:
            self.dispatcher.clear()
            self.notifier.clear()
            self.invocations.clear()
            self.checkpoints.clear()
            self.written.clear()

    def of(self, arns: set[str]) -> list[Invocation]:
        return [i for i in self.invocations if i.arn in arns]


def install() -> Watch:
    """Count the calls of every botocore client made from now on (call before the functions
    build theirs)."""
    watch = Watch()
    original = botocore.session.Session.create_client

    def create_client(session: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
        client = original(session, *args, **kwargs)
        client.meta.events.register("before-call", watch.count)
        return client

    botocore.session.Session.create_client = create_client  # type: ignore[method-assign,assignment]
    return watch


def follow(watch: Watch, durable: DurableLambda) -> None:
    """Time each in-process invocation of the notifier and count each checkpoint."""
    invoker = durable.runner._invoker
    handler: Callable[..., Any] = invoker.handler

    def timed(invocation: Any, context: Any) -> Any:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return handler(invocation, context)
        finally:
            with watch._lock:
                watch.invocations.append(
                    Invocation(
                        str(invocation.durable_execution_arn),
                        time.perf_counter() - wall,
                        time.thread_time() - cpu,
                    )
                )

    invoker.handler = timed
    client = durable.runner._service_client
    checkpoint = client.checkpoint

    def counted(
        durable_execution_arn: str, checkpoint_token: str, updates: Any, client_token: Any
    ) -> Any:
        arn = durable_execution_arn
        with watch._lock:
            watch.checkpoints[arn] += 1
            watch.written[arn] += sum(len((u.payload or "").encode()) for u in updates)
        return checkpoint(arn, checkpoint_token, updates, client_token)

    client.checkpoint = counted  # type: ignore[method-assign]
