"""Clears of groups from 3 to 20,000 instances, both functions in this process as deployed, the
fleet answering at once: the AWS calls of an ok verdict, the clear's wall time (request to
recorded verdict) and its growth per 10x, and at 10,000 and 20,000 instances the same clear with
one page in five of ListCommandInvocations and DescribeInstanceInformation throttled once
(bench.throttle): its wall time, durable operations, checkpoint sizes, and that the verdict is
still right. The large groups are made in batches (harness.large_group).
"""

from __future__ import annotations

import contextlib
import io
import math
import time
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

from botocore.config import Config

from bench import throttle
from bench.clears import Fleet
from bench.cold_setup import Rows
from bench.watch import Watch
from harness import aws_emulator as emulator
from harness import durable_lambda, large_group
from harness.durable_lambda import CHECKPOINT_LIMIT

SIZES = (3, 50, 500, 2000, 10_000, 20_000)
THROTTLED = (10_000, 20_000)
# Also measured unthrottled, for the wall time's growth (50 to 10,000 instances).
UNTHROTTLED = (3, 50, 500, 2000, 10_000)
BIG = "web-big"
PAGE = 50  # ListCommandInvocations and DescribeInstanceInformation: 50 a page
PATIENT_READ_SECONDS = 60


def _clear(rows: Rows, watch: Watch, group: str, size: int, *, throttled: bool) -> dict[str, Any]:
    stack = rows.stack
    fleet = Fleet(first_misses_one=False)
    emulator.fleet_answers(fleet)
    emulator.subscribe(stack.lambda_.deliver)
    watch.reset()
    injected = throttle.throttling() if throttled else contextlib.nullcontext()
    with injected as throttles, contextlib.redirect_stdout(io.StringIO()):
        started = time.perf_counter()
        clear_id = stack.clear(group=group)
        # SSM ends the command and notifies after SendCommand has answered, as it does: the
        # 20,000 results are not made inside the dispatcher's call.
        fleet.end_first()
        outcome = stack.lambda_.outcome(clear_id, timeout=durable_lambda.PATIENCE)
        elapsed = time.perf_counter() - started
    time.sleep(0.1)  # the relay's execution ends just after the callback it completed
    calls = {"dispatcher": dict(watch.dispatcher), "notifier": dict(watch.notifier)}
    arn = stack.lambda_.arn_of(clear_id)
    verdict = stack.verdict(clear_id)
    result: dict[str, Any] = {
        "size": size,
        "verdict": outcome.get("verdict"),
        "succeeded": verdict.get("succeeded"),
        "right": outcome.get("verdict") == "ok" and verdict.get("succeeded") == size,
        "wall_ms": round(elapsed * 1000, 1),
        "calls": calls,
        "pages": {
            "ListCommandInvocations": calls["notifier"].get("ssm:ListCommandInvocations", 0),
            "DescribeInstanceInformation": calls["dispatcher"].get(
                "ssm:DescribeInstanceInformation", 0
            ),
        },
        "expected_pages": math.ceil(size / PAGE),
        "operations": stack.lambda_.operations(arn),
        "invocations": len(watch.of({arn})),
        "checkpoints": watch.checkpoints[arn],
        "largest_checkpoint_bytes": stack.lambda_.largest_checkpoint[arn],
        "written_bytes": watch.written[arn],
        "checkpoint_limit_bytes": CHECKPOINT_LIMIT,
    }
    if isinstance(throttles, throttle.Throttle):
        result["throttled_pages"] = dict(throttles.throttled)
    return result


@contextlib.contextmanager
def _patient_clients() -> Iterator[None]:
    """The functions' clients wait up to a minute for an answer instead of 5 s. moto builds
    DescribeAutoScalingGroups of 20,000 instances with its generic XML serializer, 5 to 10 s
    on 2 cores, where AWS answers in well under a second: that slowness is the emulator's,
    not AWS's, and must not be taken for a lost answer. Everything else (botocore's standard
    retries, three attempts) stays as the functions configure it."""
    from apcu_clear import clients

    names = ("CLIENT_CONFIG", "SEND_CONFIG")  # what apcu_clear.clients builds its clients with
    saved = {name: getattr(clients, name) for name in names}
    patient = Config(read_timeout=PATIENT_READ_SECONDS)
    for name, config in saved.items():
        setattr(clients, name, config.merge(patient))
    try:
        yield
    finally:
        for name, config in saved.items():
            setattr(clients, name, config)


@contextlib.contextmanager
def _allowed(rows: Rows, groups: list[str]) -> Iterator[None]:
    before = rows.in_process_env["ALLOWED_GROUPS"]
    rows.in_process_env["ALLOWED_GROUPS"] = ",".join([before, *groups])
    rows.in_process()
    try:
        yield
    finally:
        rows.in_process_env["ALLOWED_GROUPS"] = before
        rows.in_process()


def scaling(rows: Rows, watch: Watch, endpoint_url: str) -> dict[str, Any]:
    small = [s for s in SIZES if s < min(THROTTLED)]
    sizes: dict[int, Any] = {}
    throttled: dict[int, Any] = {}
    groups = [f"web-{s}" for s in small]
    # Patient clients first: the functions' runtimes are built anew with them (_allowed).
    with _patient_clients(), _allowed(rows, [*groups, BIG]):
        for size, group in zip(small, groups, strict=True):
            rows.end_previous()
            emulator.create_group(group, size, endpoint_url=endpoint_url)
            sizes[size] = _clear(rows, watch, group, size, throttled=False)
            # The emulator scans every instance it holds in places; the next size starts clean.
            emulator.remove_group(group)
        making = 0.0
        for size in (s for s in SIZES if s >= min(THROTTLED)):
            started = time.perf_counter()
            if _exists(BIG):
                large_group.grow_group(BIG, size, endpoint_url=endpoint_url)
            else:
                large_group.create_large_group(BIG, size, endpoint_url=endpoint_url)
            making += time.perf_counter() - started
            if size in UNTHROTTLED:
                rows.end_previous()
                sizes[size] = _clear(rows, watch, BIG, size, throttled=False)
            if size in THROTTLED:
                rows.end_previous()
                throttled[size] = _clear(rows, watch, BIG, size, throttled=True)
                # Its calls are the calls of a verdict (botocore retries a throttled page
                # within one call); a separate unthrottled clear would add a minute.
                sizes.setdefault(size, throttled[size])
        emulator.remove_group(BIG)
    emulator.fleet_answers(None)
    emulator.subscribe(None)
    ms = [sizes[s]["wall_ms"] for s in UNTHROTTLED]
    return {
        "sizes": sizes,
        "throttled": throttled,
        "large_group_s": round(making, 1),
        # Growth exponent between sizes: 1.0 is linear, below it better than linear.
        "growth_exponent": {
            f"{a}->{b}": round(math.log(tb / ta) / math.log(b / a), 2)
            for (a, ta), (b, tb) in pairwise(zip(UNTHROTTLED, ms, strict=True))
        },
        "per_10x": round((ms[-1] / ms[1]) ** (1 / math.log10(UNTHROTTLED[-1] / UNTHROTTLED[1])), 2),
    }


def _exists(group: str) -> bool:
    try:
        emulator.group_instances(group)
    except KeyError:
        return False
    return True
