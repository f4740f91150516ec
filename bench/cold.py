"""Cold runs: a fresh process per invocation, timed until its answer was ready, handler and
floor alternating so that a slow moment of the machine hits all of them alike.

A contender is one way to serve a row's event (the handler under one value of Tracing, or the
floor). Its process is handed the event as a file and writes a report (bench/cold_handler.py,
bench/floor_*.py): time.monotonic() when its answer was ready, its CPU time, its answer. Lambda
keeps the process after the answer, so the interpreter's exit is never on the cold path; it is
kept apart. A plain function's event is made by the row (`Plain`); a durable function's comes
from the runner, which the row makes invoke the cold alias (`Durable`, bench.durable_service).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.deployed import ROOT
from bench.durable_service import ColdBridge

# The longest one cold invocation may take here before the bench gives up on it.
PATIENCE_SECONDS = 60


@dataclass
class Plain:
    """A plain function's invocation: the event is this, made anew before each run."""

    event: Callable[[], dict[str, Any]]

    def invoke(self, run: Callable[[dict[str, Any]], dict[str, Any]]) -> Future[dict[str, Any]]:
        done: Future[dict[str, Any]] = Future()
        done.set_result(run(self.event()))
        return done


@dataclass
class Durable:
    """A durable function's invocation: `start` makes the runner invoke the cold alias (an
    execution started, a callback sent), and the bridge hands that invocation's event on."""

    bridge: ColdBridge
    start: Callable[[], object]

    def invoke(self, run: Callable[[dict[str, Any]], dict[str, Any]]) -> Future[dict[str, Any]]:
        done = self.bridge.expect(run)
        self.start()
        return done


Invocation = Plain | Durable


@dataclass
class Contender:
    argv: list[str]  # the script and its arguments; the event and report files follow
    env: dict[str, str]
    invocation: Invocation
    before: Callable[[], None] = lambda: None  # the row made ready for one more run
    after: Callable[[dict[str, Any]], None] = lambda _answer: None  # the run checked
    answers: list[float] = field(default_factory=list)  # seconds until the answer was ready
    exits: list[float] = field(default_factory=list)  # seconds until the process had exited
    phases: list[dict[str, float]] = field(default_factory=list)
    calls: list[dict[str, int]] = field(default_factory=list)  # with BENCH_COUNT_CALLS

    def __call__(self) -> dict[str, Any]:
        self.before()
        answer = self.invocation.invoke(self.process).result(timeout=PATIENCE_SECONDS)
        self.after(answer)
        return answer

    def process(self, event: dict[str, Any]) -> dict[str, Any]:
        """Run one fresh process on `event`; its answer."""
        with tempfile.TemporaryDirectory() as folder:
            event_file, report_file = Path(folder) / "event.json", Path(folder) / "report.json"
            event_file.write_text(json.dumps(event), encoding="utf-8")
            started = time.monotonic()
            completed = subprocess.run(
                [*self.argv, str(event_file), str(report_file)],
                cwd=ROOT,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                check=False,
                timeout=PATIENCE_SECONDS,
            )
            ended = time.monotonic()
            if completed.returncode != 0 or not report_file.exists():
                stderr = completed.stderr.decode(errors="replace")[-3000:]
                raise SystemExit(f"{' '.join(self.argv)} failed:\n{stderr}")
            report = json.loads(report_file.read_text(encoding="utf-8"))
        self.answers.append(report.pop("answered") - started)
        self.exits.append(ended - started)
        if "calls" in report:
            self.calls.append(report.pop("calls"))
        answer: dict[str, Any] = report.pop("result")
        self.phases.append(report)
        return answer

    def median_ms(self) -> float:
        return statistics.median(self.answers) * 1000

    def cpu_ms(self) -> float:
        return statistics.median(p["cpu_ms"] for p in self.phases)

    def counted(self) -> Contender:
        """The same contender, counting its AWS calls (bench/count_calls.py): untimed."""
        return Contender(
            self.argv,
            {**self.env, "BENCH_COUNT_CALLS": "1"},
            self.invocation,
            self.before,
            self.after,
        )


def alternate(contenders: dict[str, Contender], runs: int) -> None:
    """Run the contenders in turn, rotating who goes first."""
    names = list(contenders)
    for n in range(runs):
        for name in names[n % len(names) :] + names[: n % len(names)]:
            contenders[name]()


def spread_ms(values: list[float]) -> float:
    """Interquartile range in ms: how noisy the machine was while measuring."""
    if len(values) < 2:
        return 0.0
    q1, _, q3 = statistics.quantiles(values, n=4)
    return round((q3 - q1) * 1000, 1)


def phases(runs: list[dict[str, float]]) -> dict[str, float]:
    """The median of each phase the processes reported."""
    keys = [k for k, v in runs[0].items() if isinstance(v, int | float)] if runs else []
    return {key: round(statistics.median(r[key] for r in runs), 1) for key in keys}


# The durable SDK sends its checkpoints from a thread of its own, several operations to a call
# when they come close together: how many calls it makes depends on timing, not on the work.
BATCHED = "lambda:CheckpointDurableExecution"


def _compared(calls: dict[str, int]) -> dict[str, int]:
    return {call: min(n, 1) if call == BATCHED else n for call, n in calls.items()}


def same_calls(handler: Contender, floor: Contender) -> dict[str, Any]:
    """One untimed run of each, counting its AWS calls: a floor that made fewer or other calls
    would make the ratio flatter the handler (checkpoints count as made or not: BATCHED). Also
    a first run of each, so that the timed runs find moto's backends and routes warmed alike."""
    made = {}
    for name, contender in (("handler", handler), ("floor", floor)):
        counting = contender.counted()
        counting()
        made[name] = dict(sorted(counting.calls[0].items()))
    return {**made, "same": _compared(made["handler"]) == _compared(made["floor"])}
