"""The figures before: release 1.1.0's own bench (commit 1815ad0, main before the durable clear),
run in a worktree of it (git worktree add --detach /tmp/wt-main 1815ad0). Its cold rows are the dispatcher before Powertools' router (a console
clear: claim, preflight, SendCommand, record, watchdog schedule) and the notifier before the
durable clear (an SNS notification judged and posted from that one invocation), each against
its own floor, as its bench measured them.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

# Where the worktree of 1.1.0 is (the brief of issue 31 names it); BENCH_MAIN_WORKTREE moves it.
MAIN = Path(os.environ.get("BENCH_MAIN_WORKTREE", "/tmp/wt-main"))  # noqa: S108 (read only)
# What 1.1.0's bench must not inherit from this one: it starts its own embedded AWS.
NOT_INHERITED = ("AWS_ENDPOINT_URL", "BENCH_ONLY", "BENCH_RUNS", "PYTHONPATH")


def main_bench(runs: int, log: Path) -> dict[str, Any]:
    """1.1.0's cold rows (its results JSON), or why there are none."""
    if not (MAIN / "bench" / "run.py").is_file():
        return {
            "error": f"no worktree of 1.1.0 at {MAIN}: git worktree add --detach {MAIN} 1815ad0"
        }
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    with log.open("w", encoding="utf-8") as out:
        # Its own venv and sam build, as its Makefile makes them (quick when already there).
        built = subprocess.run(
            ["make", "-C", str(MAIN), "venv", "build"], stdout=out, stderr=out, env=env, check=False
        )
        if built.returncode:
            return {"error": f"make venv build failed in {MAIN} (see {log})"}
        results = MAIN / "bench" / "results"
        known = set(results.glob("bench-*-only.json")) if results.is_dir() else set()
        subprocess.run(
            [str(MAIN / ".venv" / "bin" / "python"), "-m", "bench.run"],
            cwd=MAIN,
            env={**env, "BENCH_ONLY": "cold", "BENCH_RUNS": str(runs)},
            stdout=out,
            stderr=out,
            check=False,
        )
    new = sorted(set(results.glob("bench-*-only.json")) - known) if results.is_dir() else []
    if not new:
        return {"error": f"1.1.0's bench wrote no results (see {log})"}
    report = json.loads(new[-1].read_text(encoding="utf-8"))
    commit = subprocess.run(
        ["git", "-C", str(MAIN), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {"commit": commit, "cold": report.get("cold", {})}
