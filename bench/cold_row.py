"""One cold row: a function's answer to one event, as deployed, against its floor.

The handler runs once per value of the Tracing parameter (the environment template.yaml gives
the function for it, bench/deployed.py), the floor in the template's default; they alternate,
RUNS times each. Before the timed runs, one untimed run of the handler and one of the floor
count their AWS calls: a floor that made other calls than the handler is a miss. With tracing,
what X-Ray received, and that no secret reached it.
"""

from __future__ import annotations

import statistics
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from bench import deployed, imports
from bench.cold import Contender, Invocation, alternate, phases, same_calls, spread_ms
from bench.xray import XRayReceiver, subsegments

TRACING = "Tracing"
TARGET = 1.25


@dataclass(frozen=True)
class Row:
    title: str  # what the table calls it
    function: str  # dispatcher | notifier
    invoked_arn: str  # the ARN the function is invoked by (the alias, for the notifier)
    floor_script: str  # bench/floor_*.py
    floor_label: str  # what the floor is made of
    floor_imports: str  # the floor's imports, for the import-time comparison
    invocation: Invocation
    # Before each run: the row made ready for one more (a fresh clear, the claim freed, ...).
    before: Callable[[], None]
    # After each run: SystemExit when the answer shows less than the whole work.
    check: Callable[[dict[str, Any]], None]
    parameters: Mapping[str, str] = field(default_factory=dict)  # beyond Tracing
    refs: Mapping[str, str] = field(default_factory=dict)  # stand-ins of this row's own
    answer_bound_ms: float | None = None  # Slack's 3 s for a press
    lazy_imports: tuple[str, ...] = ()


@dataclass(frozen=True)
class Setting:
    """What every row's deployments share."""

    local: deployed.StandIns
    parameters: dict[str, str]  # the stack's, every row's
    base_env: dict[str, str]
    overrides: dict[str, str]
    secrets: dict[str, str]  # what must never reach a trace, by what it is
    runs: int


def measure(row: Row, setting: Setting, xray: XRayReceiver) -> dict[str, Any]:
    default_tracing, values = deployed.choices(TRACING)
    local = deployed.StandIns({**setting.local.refs, **row.refs}, setting.local.arns)
    variants = {
        value: deployed.deployment(
            row.function,
            local,
            setting.base_env,
            parameters={**setting.parameters, **row.parameters, TRACING: value},
            xray_daemon=xray.address,
            overrides=setting.overrides,
        )
        for value in values
    }
    default = variants[default_tracing]
    traced: dict[str, list[str]] = {}

    def before() -> None:
        row.before()
        xray.take()

    def after(key: str, answer: dict[str, Any]) -> None:
        row.check(answer)
        datagrams = xray.take()
        for what, value in setting.secrets.items():
            if any(value in datagram for datagram in datagrams):
                raise SystemExit(f"{what} reached an X-Ray trace of the {row.title}")
        traced[key] = subsegments(datagrams)

    handler_argv = [sys.executable, "bench/cold_handler.py", row.function, row.invoked_arn]
    floor_argv = [sys.executable, row.floor_script, row.invoked_arn]
    handlers = {
        key: Contender(handler_argv, d.env, row.invocation, before, partial(after, key))
        for key, d in variants.items()
    }
    floor = Contender(floor_argv, default.env, row.invocation, before, row.check)
    calls = same_calls(handlers[default_tracing], floor)
    alternate({**{f"handler {k}": c for k, c in handlers.items()}, "floor": floor}, setting.runs)
    floor_ms, floor_cpu = floor.median_ms(), floor.cpu_ms()
    rows = []
    for key, d in variants.items():
        c = handlers[key]
        ratio, cpu_ratio = c.median_ms() / floor_ms, c.cpu_ms() / floor_cpu
        rows.append(
            {
                "tracing": d.tracing,
                "default": key == default_tracing,
                "handler_median_ms": round(c.median_ms(), 1),
                "handler_max_ms": round(max(c.answers) * 1000, 1),
                "spread_ms": spread_ms(c.answers),
                "ratio": round(ratio, 3),
                "cpu_ratio": round(cpu_ratio, 3),
                # Met on the clock and in CPU time: at 256 MB Lambda gives a function about a
                # seventh of a vCPU, so there its cold path is mostly CPU.
                "met": ratio <= TARGET and cpu_ratio <= TARGET,
                "until_exit_median_ms": round(statistics.median(c.exits) * 1000, 1),
                "phases_ms": phases(c.phases),
                "subsegments": traced.get(key, []),
                "imports": imports.beyond_floor(d, row.floor_imports, lazy=row.lazy_imports),
            }
        )
    return {
        "title": row.title,
        "function": row.function,
        "floor_label": row.floor_label,
        "secrets": list(setting.secrets),
        "runs": setting.runs,
        "code_root": str(default.code_root.relative_to(deployed.ROOT)),
        "memory_mb": default.memory_mb,
        "floor_median_ms": round(floor_ms, 1),
        "floor_spread_ms": spread_ms(floor.answers),
        "floor_phases_ms": phases(floor.phases),
        "calls_check": calls,
        "answer_bound_ms": row.answer_bound_ms,
        "rows": rows,
    }
