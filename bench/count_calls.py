"""Counts the AWS calls of a cold run, for the bench's check that a floor makes the same calls
as the handler it is measured against.

Imported by bench/cold_handler.py and the floor scripts only when BENCH_COUNT_CALLS is set:
that run is not timed, and the timed runs import nothing of it.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import botocore.session

ENV = "BENCH_COUNT_CALLS"


def install() -> Counter[str]:
    """Count every call of every botocore client made from now on, as "service:Operation"."""
    calls: Counter[str] = Counter()
    original = botocore.session.Session.create_client

    def count(model: Any, **_: Any) -> None:
        calls[f"{model.service_model.service_name}:{model.name}"] += 1

    def create_client(session: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
        client = original(session, *args, **kwargs)
        client.meta.events.register("before-call", count)
        return client

    botocore.session.Session.create_client = create_client  # type: ignore[method-assign,assignment]
    return calls
