"""`make bench`: figures, side by side in one run, that anyone can rerun.

1. Cold path: fresh processes that import a handler and handle one event, against the floor
   (the same AWS calls and Slack post with plain boto3 and requests), alternating, median of
   RUNS each, and the ratio. Where the import time goes (python -X importtime).
2. Calls per verdict: AWS calls and Slack posts the notifier makes for an ok verdict on groups
   of 3, 50, 500 and 2,000 instances, counted with botocore's event hooks.
3. Scaling: the verdict's wall time at those sizes, and its growth per 10x more instances.
4. The size of each function's built artifact (sam build), without the runtime's boto3 and the
   Powertools layer, which the functions do not ship.

Everything runs against moto's server on 127.0.0.1 and a local Slack receiver.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Any

import botocore.session

from harness import aws_emulator as emulator
from local.embedded_aws import EmbeddedAws, Stack
from local.lambda_context import LocalContext
from local.run import EVENTS, function_env, sns_event
from local.slack_receiver import SlackReceiver

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
RUNS = int(os.environ.get("BENCH_RUNS", "11"))
SIZES = (3, 50, 500, 2000)
COLD_TARGET = 1.25
ARTIFACT_TARGET = 1024 * 1024


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
        "system": platform.platform(),
    }


# --- 1. cold path ----------------------------------------------------------------------------


def _timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        argv, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    return time.perf_counter() - started


def _alternate(pair: dict[str, Callable[[], float]], runs: int) -> dict[str, list[float]]:
    """Run the contenders in turn, so that a slow moment of the machine hits both alike."""
    times: dict[str, list[float]] = {name: [] for name in pair}
    for n in range(runs):
        order = list(pair) if n % 2 == 0 else list(reversed(pair))
        for name in order:
            times[name].append(pair[name]())
    return times


def cold(aws: EmbeddedAws, slack: SlackReceiver, stack: Stack, tmp: Path) -> dict[str, Any]:
    # One settled command on the 3-instance group: the notifier's ok verdict.
    command_id = _send(aws, stack.group)
    emulator.settle_command(
        command_id, {i: emulator.ok() for i in emulator.targeted_instances(command_id)}
    )
    notification = tmp / "notification.json"
    notification.write_text(json.dumps(sns_event(aws, stack, command_id, "Success")))
    console = EVENTS / "dispatcher" / "console-clear-all.json"
    floor_console = tmp / "console.json"
    floor_console.write_text(console.read_text())

    # Idempotency is off here: the floor does no de-duplication either.
    notifier_env = {
        k: v for k, v in function_env(aws, stack, "notifier", "en").items() if k != "COMMANDS_TABLE"
    }
    dispatcher_env = function_env(aws, stack, "dispatcher", "en")
    python = sys.executable
    results: dict[str, Any] = {}
    for function, env, event, floor, floor_event in (
        ("notifier", notifier_env, notification, "floor_notifier.py", notification),
        ("dispatcher", dispatcher_env, console, "floor_dispatcher.py", floor_console),
    ):
        times = _alternate(
            {
                "handler": partial(
                    _timed, [python, "bench/cold_handler.py", function, str(event)], env
                ),
                "floor": partial(_timed, [python, f"bench/{floor}", str(floor_event)], env),
            },
            RUNS,
        )
        handler_ms = statistics.median(times["handler"]) * 1000
        floor_ms = statistics.median(times["floor"]) * 1000
        results[function] = {
            "runs": RUNS,
            "handler_median_ms": round(handler_ms, 1),
            "floor_median_ms": round(floor_ms, 1),
            "ratio": round(handler_ms / floor_ms, 3),
            "target_ratio": COLD_TARGET,
            "met": handler_ms / floor_ms <= COLD_TARGET,
            "imports": importtime(function, env),
        }
    return results


def importtime(function: str, env: dict[str, str], top: int = 6) -> list[dict[str, Any]]:
    """The heaviest top-level imports of a handler module, from python -X importtime."""
    package = f"apcu_{function}"
    code = f"import sys; sys.path.insert(0, 'src/{function}'); import {package}.handler"
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    # Per top-level package, its heaviest import (the cumulative time includes what it pulls in).
    heaviest: dict[str, float] = {}
    for line in completed.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| *(\S+)", line)
        if not match:
            continue
        top_level = match.group(2).split(".")[0]
        if top_level == package or top_level.startswith("_") or top_level in {"site", "encodings"}:
            continue
        heaviest[top_level] = max(heaviest.get(top_level, 0.0), int(match.group(1)) / 1000)
    ranked = sorted(heaviest.items(), key=lambda item: item[1], reverse=True)
    return [{"module": name, "cumulative_ms": ms} for name, ms in ranked[:top]]


# --- 2 and 3. calls per verdict and scaling --------------------------------------------------


class CallCounter:
    """Counts every AWS API call any botocore client makes, through its event hooks."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        original = botocore.session.Session.create_client
        counter = self

        def create_client(session: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            client.meta.events.register("before-call", counter._count)
            return client

        botocore.session.Session.create_client = create_client  # type: ignore[method-assign,assignment]

    def _count(self, model: Any, **_: Any) -> None:
        self.calls[f"{model.service_model.service_name}:{model.name}"] += 1

    def take(self) -> Counter[str]:
        taken, self.calls = self.calls, Counter()
        return taken


def _send(aws: EmbeddedAws, group: str) -> str:
    command = aws.client("ssm").send_command(
        Targets=[{"Key": "tag:aws:autoscaling:groupName", "Values": [group]}],
        DocumentName="apcu-fleet-flush-FlushDocument-local",
        Parameters={"prefix": [""]},
    )["Command"]
    return str(command["CommandId"])


def calls_and_scaling(aws: EmbeddedAws, slack: SlackReceiver, stack: Stack) -> dict[str, Any]:
    counter = CallCounter()
    env = function_env(aws, stack, "notifier", "en")
    env.pop("COMMANDS_TABLE", None)
    # The handler's own log lines would drown the table; warnings and errors still show.
    env["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    os.environ.update({k: v for k, v in env.items() if k not in ("PYTHONPATH",)})
    sys.path[:0] = [str(ROOT / "src" / "notifier"), str(ROOT / "src" / "record")]
    from apcu_notifier.handler import lambda_handler

    results: dict[str, Any] = {"sizes": {}}
    first = True
    for size in SIZES:
        group = f"web-{size}"
        emulator.create_group(group, size, endpoint_url=aws.endpoint)
        command_id = _send(aws, group)
        emulator.settle_command(
            command_id, {i: emulator.ok() for i in emulator.targeted_instances(command_id)}
        )
        event = sns_event(aws, stack, command_id, "Success")
        counter.take()
        posts_before = len(slack.payloads)
        timings = []
        calls: Counter[str] = Counter()
        for attempt in range(3):
            # Metrics are printed as EMF lines on stdout; keep them out of the table.
            with contextlib.redirect_stdout(io.StringIO()):
                started = time.perf_counter()
                lambda_handler(event, LocalContext(function_name="apcu-notifier"))
                timings.append(time.perf_counter() - started)
            taken = counter.take()
            if attempt == 0:
                calls = taken
        posts = (len(slack.payloads) - posts_before) // 3
        expected = {
            "ssm:ListCommands": 1,
            "autoscaling:DescribeAutoScalingGroups": 1,
            "ssm:ListCommandInvocations": math.ceil(size / 50),
        }
        secret_reads = calls.pop("secretsmanager:GetSecretValue", 0)
        results["sizes"][size] = {
            "calls": dict(calls),
            "expected_calls": expected,
            "posts": posts,
            "secret_reads": secret_reads,
            "minimum": dict(calls) == expected
            and posts == 1
            and secret_reads == (1 if first else 0),
            "verdict_ms": round(statistics.median(timings) * 1000, 1),
        }
        first = False
    ms = [results["sizes"][s]["verdict_ms"] for s in SIZES]
    # Growth exponent between sizes: 1.0 is linear, below it better than linear.
    results["growth_exponent"] = {
        f"{a}->{b}": round(math.log(tb / ta) / math.log(b / a), 2)
        for (a, ta), (b, tb) in pairwise(zip(SIZES, ms, strict=True))
    }
    results["per_10x"] = round((ms[-1] / ms[1]) ** (1 / math.log10(SIZES[-1] / SIZES[1])), 2)
    return results


# --- 4. artifact size ------------------------------------------------------------------------


def artifacts() -> dict[str, Any]:
    sizes: dict[str, Any] = {}
    for name in ("NotifierFunction", "DispatcherFunction"):
        folder = ROOT / ".aws-sam" / "build" / name
        if not folder.is_dir():
            sizes[name] = {"error": "not built: run sam build (make bench does)"}
            continue
        files = [p for p in folder.rglob("*") if p.is_file()]
        raw = sum(p.stat().st_size for p in files)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in files:
                archive.write(path, path.relative_to(folder))
        sizes[name] = {
            "files": len(files),
            "bytes": raw,
            "zip_bytes": buffer.tell(),
            "target_bytes": ARTIFACT_TARGET,
            "met": raw < ARTIFACT_TARGET,
        }
    return sizes


# --- the table ---------------------------------------------------------------------------------


def _row(measure: str, figure: str, target: str = "", met: bool | None = None) -> str:
    mark = "" if met is None else ("yes" if met else "NO")
    return f"{measure:<44} {figure:>22}  {target:<22} {mark}"


def table(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"apcu-fleet-flush benchmark  {m['date']}  {m['machine']} {m['cpu']} ({m['cores']} cores)  Python {m['python']}",
        _row("measure", "figure", "target", None) + "met",
        "-" * 100,
    ]
    for function, c in report["cold"].items():
        lines += [
            _row(
                f"cold {function}: handler, median of {c['runs']}",
                f"{c['handler_median_ms']:.0f} ms",
            ),
            _row(f"cold {function}: floor (boto3+requests)", f"{c['floor_median_ms']:.0f} ms"),
            _row(
                f"cold {function}: ratio",
                f"{c['ratio']:.2f}x",
                f"<= {c['target_ratio']}x",
                c["met"],
            ),
        ]
        heaviest = ", ".join(f"{i['module']} {i['cumulative_ms']:.0f}ms" for i in c["imports"][:4])
        lines.append(f"    heaviest imports: {heaviest}")
    for size, s in report["calls"]["sizes"].items():
        calls = " + ".join(f"{n} {k.split(':')[1]}" for k, n in sorted(s["calls"].items()))
        expected = sum(s["expected_calls"].values())
        lines.append(
            _row(
                f"calls, ok verdict, {size} instances",
                f"{sum(s['calls'].values())} AWS + {s['posts']} post",
                f"{expected} AWS + 1 post",
                s["minimum"],
            )
        )
        lines.append(f"    {calls}; secret reads {s['secret_reads']}")
    for size, s in report["calls"]["sizes"].items():
        lines.append(_row(f"verdict wall time, {size} instances", f"{s['verdict_ms']:.0f} ms"))
    per_10x = report["calls"]["per_10x"]
    lines.append(
        _row(
            "verdict time growth per 10x instances",
            f"{per_10x:.2f}x",
            "<= 10x (linear)",
            per_10x <= 10,
        )
    )
    lines.append(f"    growth exponents (1.0 = linear): {report['calls']['growth_exponent']}")
    for name, a in report["artifacts"].items():
        if "error" in a:
            lines.append(_row(f"artifact {name}", a["error"]))
            continue
        lines.append(
            _row(
                f"artifact {name} ({a['files']} files)",
                f"{a['bytes'] / 1024:.0f} KiB ({a['zip_bytes'] / 1024:.0f} zipped)",
                "< 1024 KiB",
                a["met"],
            )
        )
    return "\n".join(lines)


def main() -> int:
    report: dict[str, Any] = {"machine": machine()}
    with EmbeddedAws() as aws, SlackReceiver() as slack, tempfile.TemporaryDirectory() as tmp:
        stack = aws.deploy(group="web-prod", size=3, webhook_url=slack.url)
        print(f"cold path: {RUNS} runs each, alternating handler and floor ...", flush=True)
        report["cold"] = cold(aws, slack, stack, Path(tmp))
        print(
            "calls per verdict and scaling: groups of " + ", ".join(map(str, SIZES)) + " ...",
            flush=True,
        )
        report["calls"] = calls_and_scaling(aws, slack, stack)
    report["artifacts"] = artifacts()
    print()
    print(table(report))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    for path in (RESULTS / f"bench-{stamp}.json", RESULTS / "latest.json"):
        path.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    print(f"\nwritten: {(RESULTS / f'bench-{stamp}.json').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
