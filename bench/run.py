"""`make bench`: the durable clear's figures, side by side in one run, that anyone can rerun.

1. before: release 1.1.0's own bench in a worktree of it (/tmp/wt-main), its cold rows: the dispatcher
   before Powertools' router, the notifier before the durable clear (bench.before).
2. cold: fresh processes, as deployed (bench/deployed.py: template.yaml's environment, each value
   of Tracing, the sam build artifact with the SDK layer), against floors making the same AWS
   calls: POST /flush, a clear's first invocation, the relay, a press of the retry button in app
   mode against Slack's 3 s (bench.cold_setup, bench.cold_row).
3. latency: from SSM's notification to the verdict in Slack, cold and warm (bench.latency).
4. clears: per clear, ok and ok after one retry round: invocations, replays, durable
   operations, AWS calls, GB-s and USD (bench.clears, bench.pricing).
5. scale: calls per verdict and wall time from 3 to 20,000 instances, and 10,000 and 20,000
   with one page in five throttled (bench.scale).
6. artifacts: each function's artifact and the SDK layer, zipped and unpacked.

Everything runs against moto's server on 127.0.0.1 and the Slack stand-in; the functions' own
logs go to bench/results/functions.log. BENCH_ONLY=cold,clears (a comma-separated choice of
PARTS) runs only those parts; BENCH_RUNS sets the cold runs (5).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import re
from pathlib import Path
from typing import Any

from bench.deployed import ROOT
from bench.lines import exit_status
from bench.table import table

RESULTS = ROOT / "bench" / "results"
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
PARTS = ("before", "cold", "latency", "clears", "scale", "artifacts")


def machine() -> dict[str, Any]:
    cpu = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        match = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        cpu = match.group(1).strip() if match else ""
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": platform.machine(),
        "cpu": cpu or platform.processor(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def parts_to_run(value: str) -> tuple[str, ...]:
    """BENCH_ONLY: the parts named (comma-separated), every part when empty."""
    chosen = tuple(p.strip() for p in value.split(",") if p.strip()) or PARTS
    unknown = [p for p in chosen if p not in PARTS]
    if unknown:
        raise SystemExit(f"BENCH_ONLY: no part {', '.join(unknown)}; the parts: {', '.join(PARTS)}")
    return chosen


def main() -> int:
    parts = parts_to_run(os.environ.get("BENCH_ONLY", ""))
    report: dict[str, Any] = {"machine": machine()}
    if len(parts) < len(PARTS):
        report["only"] = list(parts)
    RESULTS.mkdir(parents=True, exist_ok=True)
    if "before" in parts:
        from bench.before import MAIN, main_bench

        print(
            f"before: 1.1.0's own bench in {MAIN}, its cold rows, {RUNS} runs each ...", flush=True
        )
        report["before"] = main_bench(RUNS, RESULTS / "main-bench.log")
    if set(parts) & {"cold", "latency", "clears", "scale"}:
        from bench.measured import measured

        report.update(measured(parts, RUNS, RESULTS / "functions.log"))
    if "artifacts" in parts:
        from bench.artifacts import artifacts

        report["artifacts"] = artifacts()
    print()
    missed: list[str] = []
    print(table(report, missed))
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    # A run of some parts only leaves latest.json to the last whole run.
    written = RESULTS / f"bench-{stamp}{'-only' if 'only' in report else ''}.json"
    for path in [written] if "only" in report else [written, RESULTS / "latest.json"]:
        path.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    print(f"\nwritten: {written.relative_to(ROOT)}")
    return exit_status(missed)


if __name__ == "__main__":
    raise SystemExit(main())
