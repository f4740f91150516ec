"""`make bench`: figures, side by side in one run, that anyone can rerun.

1. Cold path, as deployed: fresh processes that import a handler from its built artifact and
   handle one event, in the environment template.yaml gives the function plus the variables
   Lambda sets (bench/deployed.py), once per value of the Tracing parameter, against the
   floor (the same AWS calls and Slack post with plain boto3 and requests, same environment),
   alternating, median of RUNS each, timed until the answer is ready, and the ratio. With
   tracing, what X-Ray received (a UDP receiver on 127.0.0.1 stands in for the daemon). What
   the handler imports beyond the floor (python -X importtime).
2. Calls per verdict: AWS calls and Slack posts the notifier makes for an ok verdict on groups
   of 3, 50, 500, 2,000, 10,000 and 20,000 instances, counted with botocore's event hooks.
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
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Any

import botocore.session

from bench import deployed
from harness import aws_emulator as emulator
from local.embedded_aws import EmbeddedAws, Stack
from local.lambda_context import LocalContext
from local.run import EVENTS, function_env, sns_event
from local.slack_receiver import SlackReceiver

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
RUNS = int(os.environ.get("BENCH_RUNS", "11"))
SIZES = (3, 50, 500, 2000, 10_000, 20_000)
COLD_TARGET = 1.25
# Above this interquartile range, relative to the median, the table says the run was noisy.
NOISY = 0.15
# The stack parameter that switches X-Ray tracing; the cold path is measured for each value.
TRACING_PARAMETER = "Tracing"
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
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


# --- 1. cold path ----------------------------------------------------------------------------


@dataclass
class Contender:
    """One way to serve the event, run cold again and again: a handler variant or the floor."""

    argv: list[str]
    env: dict[str, str]
    before: Callable[[], None]
    after: Callable[[], None] = lambda: None
    answers: list[float] = field(default_factory=list)  # seconds until the answer was ready
    exits: list[float] = field(default_factory=list)  # seconds until the process had exited
    phases: list[dict[str, float]] = field(default_factory=list)

    def __call__(self) -> None:
        """Start a fresh process and time it until it has answered its one event.

        The process writes, as JSON to the file named by its last argument, time.monotonic()
        (one system-wide clock on Linux) when its answer was ready. Lambda keeps the process
        after the answer, so the interpreter's exit (tearing down some 600 modules, about
        80 ms for the notifier) is never on its cold path; it is kept apart in `exits`.
        """
        self.before()
        with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False) as done:
            path = Path(done.name)
        try:
            started = time.monotonic()
            completed = subprocess.run(
                [*self.argv, str(path)],
                cwd=ROOT,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                check=False,
            )
            ended = time.monotonic()
            if completed.returncode != 0:
                stderr = completed.stderr.decode(errors="replace")[-3000:]
                raise SystemExit(f"{' '.join(self.argv)} failed:\n{stderr}")
            report = json.loads(path.read_text())
        finally:
            path.unlink(missing_ok=True)
        self.answers.append(report.pop("answered") - started)
        self.exits.append(ended - started)
        self.phases.append(report)
        self.after()

    def median_ms(self) -> float:
        return statistics.median(self.answers) * 1000


def _alternate(contenders: dict[str, Contender], runs: int) -> None:
    """Run the contenders in turn, rotating who goes first, so that a slow moment of the
    machine hits all of them alike."""
    names = list(contenders)
    for n in range(runs):
        for name in names[n % len(names) :] + names[: n % len(names)]:
            contenders[name]()


def _spread(values: list[float]) -> float:
    """Interquartile range in ms: how noisy the machine was while measuring."""
    q1, _, q3 = statistics.quantiles(values, n=4)
    return round((q3 - q1) * 1000, 1)


class XRayReceiver:
    """A UDP socket on 127.0.0.1 standing in for the X-Ray daemon Lambda runs beside the
    function: it keeps what the SDK emits, so the run can say what tracing recorded."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self._datagrams: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)

    @property
    def address(self) -> str:
        host, port = self._socket.getsockname()
        return f"{host}:{port}"

    def __enter__(self) -> XRayReceiver:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._socket.close()

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._socket.recv(65536)
            except TimeoutError:
                continue
            with self._lock:
                self._datagrams.append(data.decode("utf-8", "replace"))

    def take(self) -> list[str]:
        time.sleep(0.05)  # UDP from a process that has just exited may still be in flight
        with self._lock:
            taken, self._datagrams = self._datagrams, []
        return taken


def _subsegments(datagrams: list[str]) -> list[str]:
    """The subsegments of AWS calls in what the SDK sent: "SSM.ListCommands", ..."""
    calls: list[str] = []

    def walk(entity: dict[str, Any]) -> None:
        if entity.get("namespace") == "aws":
            calls.append(f"{entity.get('name')}.{entity.get('aws', {}).get('operation')}")
        for child in entity.get("subsegments", []):
            walk(child)

    for datagram in datagrams:
        _, _, body = datagram.partition("\n")
        with contextlib.suppress(ValueError):
            walk(json.loads(body))
    return calls


def _sources() -> None:
    """The functions' own packages importable here (the verdict in-process, the record's shape)."""
    for folder in (ROOT / "src" / "notifier", ROOT / "src" / "clear"):
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))


def _sent_record(aws: EmbeddedAws, table: str, command_id: str, group: str) -> None:
    """Put the command's record back as the dispatcher writes it after SendCommand (state
    `sent`, no claim, no verdict), so that every run claims, posts and records the verdict
    instead of finding the previous run's."""
    _sources()
    from apcu_clear.item import CommandRecord, iso

    now = dt.datetime.now(dt.UTC)
    record = CommandRecord(
        command_id=command_id,
        group=group,
        prefix="",
        requester="arn:aws:iam::123456789012:user/bench",
        comment="",
        origin="console",
        requested_at=iso(now),
        expires_at=iso(now + dt.timedelta(minutes=3)),
    )
    aws.client("dynamodb").put_item(TableName=table, Item=record.to_item())


def _phases(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: round(statistics.median(r[key] for r in runs), 1) for key in runs[0] if runs}


@dataclass
class _Run:
    """What a cold run needs besides the deployment: the embedded AWS, the X-Ray stand-in."""

    aws: EmbeddedAws
    xray: XRayReceiver
    webhook: str  # the secret's value: it must never show up in a trace
    tmp: Path
    slack: SlackReceiver


def cold(aws: EmbeddedAws, slack: SlackReceiver, stack: Stack, tmp: Path) -> dict[str, Any]:
    # One settled command on the 3-instance group: the notifier's ok verdict.
    command_id = _send(aws, stack.group)
    emulator.settle_command(
        command_id, {i: emulator.ok() for i in emulator.targeted_instances(command_id)}
    )
    notification = tmp / "notification.json"
    notification.write_text(json.dumps(sns_event(aws, stack, command_id, "Success")))
    console = EVENTS / "dispatcher" / "console-clear-all.json"

    base_env = {**os.environ, **aws.env(), "PYTHONPATH": str(ROOT)}
    default_tracing, tracing_values = deployed.choices(TRACING_PARAMETER)
    results: dict[str, Any] = {}
    with XRayReceiver() as xray:
        run = _Run(aws=aws, xray=xray, webhook=slack.url, tmp=tmp, slack=slack)
        for function, event in (("notifier", notification), ("dispatcher", console)):
            # One deployment per value the stack lets an operator choose; the template's
            # own setting when it offers no choice.
            variants = {
                value: deployed.deployment(
                    function,
                    stack,
                    base_env,
                    parameters={TRACING_PARAMETER: value},
                    xray_daemon=xray.address,
                )
                for value in tracing_values
            } or {"": deployed.deployment(function, stack, base_env, xray_daemon=xray.address)}
            # The notifier judges the command the dispatcher recorded; each dispatcher run
            # sends (and records) a command of its own under the group's claim, which is
            # ended before the next run as the notifier would end it with the verdict.
            prepare = (
                partial(_sent_record, aws, stack.commands_table, command_id, stack.group)
                if function == "notifier"
                else partial(_group_free, aws, stack.commands_table, stack.group)
            )
            results[function] = cold_function(
                run, function, event, variants, default_tracing, prepare
            )
    return results


def _group_free(aws: EmbeddedAws, table: str, group: str) -> None:
    """End the group's claim (apcu_clear.claim) that the previous dispatcher run took, so that
    every run sends instead of being refused with 409."""
    _sources()
    from apcu_clear.claim import group_key

    aws.client("dynamodb").delete_item(TableName=table, Key={"commandId": {"S": group_key(group)}})


def cold_function(
    run: _Run,
    function: str,
    event: Path,
    variants: dict[str, deployed.Deployment],
    default_key: str,
    prepare: Callable[[], None],
) -> dict[str, Any]:
    """Each variant of one function and its floor, alternating, RUNS times each."""
    default = variants.get(default_key) or next(iter(variants.values()))

    posts_before = [0]

    def reset() -> None:
        prepare()
        run.xray.take()
        posts_before[0] = len(run.slack.payloads)

    def posted() -> None:
        # A notifier run that found a verdict already recorded would post nothing, and time
        # far less than the work: every run must have posted exactly once.
        if function == "notifier" and len(run.slack.payloads) != posts_before[0] + 1:
            raise SystemExit("a cold notifier run did not post exactly one verdict")

    traced: dict[str, list[list[str]]] = {key: [] for key in variants}

    def collect(key: str) -> None:
        posted()
        datagrams = run.xray.take()
        if any(run.webhook in datagram for datagram in datagrams):
            raise SystemExit(f"the Slack webhook URL reached an X-Ray trace of the {function}")
        traced[key].append(_subsegments(datagrams))

    handler = [sys.executable, "bench/cold_handler.py", function, str(event)]
    contenders = {
        key: Contender(handler, d.env, reset, partial(collect, key)) for key, d in variants.items()
    }
    floor = Contender(
        [sys.executable, f"bench/floor_{function}.py", str(event)], default.env, reset, posted
    )
    _alternate({**{f"handler {key}": c for key, c in contenders.items()}, "floor": floor}, RUNS)
    floor_ms = floor.median_ms()
    floor_cpu_ms = _phases(floor.phases)["cpu_ms"]
    rows = []
    for key, d in variants.items():
        c = contenders[key]
        handler_ms = c.median_ms()
        is_default = d is default
        cpu_ratio = _phases(c.phases)["cpu_ms"] / floor_cpu_ms
        rows.append(
            {
                "tracing": d.tracing,
                "parameters": d.parameters,
                "default": is_default,
                "handler_median_ms": round(handler_ms, 1),
                "spread_ms": _spread(c.answers),
                "ratio": round(handler_ms / floor_ms, 3),
                "cpu_ratio": round(cpu_ratio, 3),
                "target_ratio": COLD_TARGET if is_default else None,
                # Met on the clock and in CPU time: at 256 MB Lambda gives a function about a
                # seventh of a vCPU (one vCPU at 1,769 MB), so there its cold path is mostly
                # CPU, and the CPU-time ratio is the closer guide to what Lambda will show.
                "met": (handler_ms / floor_ms <= COLD_TARGET and cpu_ratio <= COLD_TARGET)
                if is_default
                else None,
                "until_exit_median_ms": round(statistics.median(c.exits) * 1000, 1),
                "phases_ms": _phases(c.phases),
                "subsegments": traced[key][0] if traced[key] else [],
                "imports": importtime(d),
            }
        )
    return {
        "runs": RUNS,
        "code_root": str(default.code_root.relative_to(ROOT)),
        "memory_mb": default.memory_mb,
        "floor_median_ms": round(floor_ms, 1),
        "floor_spread_ms": _spread(floor.answers),
        "floor_until_exit_median_ms": round(statistics.median(floor.exits) * 1000, 1),
        "floor_phases_ms": _phases(floor.phases),
        "rows": rows,
    }


def _import_times(code: str, env: dict[str, str]) -> dict[str, float]:
    """Each module's own import time in ms (python -X importtime), for `code` run with the
    function's folder first on sys.path."""
    prelude = "import os, sys; sys.path.insert(0, os.environ['LAMBDA_TASK_ROOT']); "
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", prelude + code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    times: dict[str, float] = {}
    for line in completed.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \| *(\S+)", line)
        if match:
            times[match[2]] = int(match[1]) / 1000
    return times


def _unit(module: str, own: str) -> str:
    parts = module.split(".")
    if parts[0] == own or parts[0] == "app":
        return own
    if parts[0] == "aws_lambda_powertools":
        # One package of many utilities: name the utility that costs.
        depth = 3 if parts[1:2] == ["utilities"] else 2
        return ".".join(parts[:depth])
    return parts[0]


def importtime(d: deployed.Deployment, top: int = 8) -> dict[str, Any]:
    """What the handler imports beyond the floor's boto3 and requests, per library (Powertools
    per utility), by the modules' own import time: the part of the cold path the handler adds.
    The function's own modules count together, compiled at every start unless the artifact
    ships their .pyc (Lambda's /var/task is read-only, and this run writes none either)."""
    handler_module = d.env.get("_HANDLER", "app.lambda_handler").rsplit(".", 1)[0]
    handler = _import_times(f"import {handler_module}", d.env)
    floor = _import_times("import boto3, requests", d.env)
    own = f"apcu_{d.function}"
    built = d.code_root.is_relative_to(ROOT / ".aws-sam")
    shipped = built and any((d.code_root / own / "__pycache__").glob("*.pyc"))
    extra: dict[str, float] = {}
    for module, ms in handler.items():
        if module not in floor:
            unit = _unit(module, own)
            if unit == own:
                unit += (
                    " (own code, shipped compiled)"
                    if shipped
                    else " (own code, compiled now)"
                    if built
                    else " (own code, from src/: run sam build)"
                )
            extra[unit] = extra.get(unit, 0.0) + ms
    return {
        "handler_ms": round(sum(handler.values()), 1),
        "floor_ms": round(sum(floor.values()), 1),
        "beyond_floor_ms": round(sum(extra.values()), 1),
        "heaviest": [
            {"module": name, "self_ms": round(ms, 1)}
            for name, ms in sorted(extra.items(), key=lambda item: item[1], reverse=True)[:top]
        ],
    }


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
    # As deployed: COMMANDS_TABLE set, so each verdict claims the command's record and records
    # the verdict (two UpdateItems).
    env = function_env(aws, stack, "notifier", "en")
    table = env["COMMANDS_TABLE"]
    # The handler's own log lines would drown the table; warnings and errors still show.
    env["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    os.environ.update({k: v for k, v in env.items() if k not in ("PYTHONPATH",)})
    _sources()
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
            # The record as the dispatcher leaves it, so that each attempt posts (the third
            # would otherwise find the verdict recorded and post nothing).
            _sent_record(aws, table, command_id, group)
            counter.take()
            # Metrics are printed as EMF lines on stdout; keep them out of the table.
            with contextlib.redirect_stdout(io.StringIO()):
                started = time.perf_counter()
                lambda_handler(
                    event, LocalContext("NotifierFunction", function_name="apcu-notifier")
                )
                timings.append(time.perf_counter() - started)
            taken = counter.take()
            if attempt == 0:
                calls = taken
        posts = (len(slack.payloads) - posts_before) // 3
        expected = {
            "dynamodb:UpdateItem": 2,
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
        # The emulator scans every instance it holds in places; the next size starts clean.
        emulator.remove_group(group)
    ms = [results["sizes"][s]["verdict_ms"] for s in SIZES]
    # Growth exponent between sizes: 1.0 is linear, below it better than linear.
    results["growth_exponent"] = {
        f"{a}->{b}": round(math.log(tb / ta) / math.log(b / a), 2)
        for (a, ta), (b, tb) in pairwise(zip(SIZES, ms, strict=True))
    }
    results["per_10x"] = round((ms[-1] / ms[1]) ** (1 / math.log10(SIZES[-1] / SIZES[1])), 2)
    return results


def clear_with_one_retry(aws: EmbeddedAws, slack: SlackReceiver, stack: Stack) -> dict[str, Any]:
    """Every AWS call of a clear whose first command leaves one of three instances stale
    (Delivery Timed Out) and whose automatic retry clears it, as the template deploys both
    functions (RetryMissed 1): the dispatcher's send, the notifier's judgement of the first
    command (which sends the retry), and its judgement of the retry (the one post)."""
    counter = CallCounter()
    group = "web-retry"
    emulator.create_group(group, 3, endpoint_url=aws.endpoint)
    env = function_env(aws, stack, "dispatcher", "en")
    env["ALLOWED_GROUPS"] = group
    env["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    os.environ.update({k: v for k, v in env.items() if k not in ("PYTHONPATH",)})
    _sources()
    dispatcher_src = str(ROOT / "src" / "dispatcher")
    if dispatcher_src not in sys.path:
        sys.path.insert(0, dispatcher_src)
    from apcu_dispatcher.handler import lambda_handler as dispatcher

    stages: dict[str, Counter[str]] = {}
    counter.take()  # the group's creation is not the clear's
    posts_before = len(slack.payloads)
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        answer = dispatcher(
            {"group": group, "action": "clear-apcu", "comment": "bench"},
            LocalContext("DispatcherFunction", function_name="apcu-dispatcher"),
        )
    stages["dispatcher: claim, record, send, arm"] = counter.take()
    body = answer["body"]
    if "commandId" not in body:
        raise RuntimeError(f"the dispatcher did not send: {json.dumps(answer)}")
    first = str(body["commandId"])
    targets = emulator.targeted_instances(first)
    results = {i: emulator.ok() for i in targets}
    results[targets[-1]] = emulator.InvocationResult(
        status="TimedOut", status_details="DeliveryTimedOut"
    )
    emulator.settle_command(first, results, status="TimedOut")

    env = function_env(aws, stack, "notifier", "en", retry_missed=1)
    env["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    os.environ.update({k: v for k, v in env.items() if k not in ("PYTHONPATH",)})
    from apcu_notifier import handler as notifier

    notifier.use_runtime(None)
    context = LocalContext("NotifierFunction", function_name="apcu-notifier")
    with contextlib.redirect_stdout(io.StringIO()):
        outcome = notifier.lambda_handler(sns_event(aws, stack, first, "TimedOut"), context)
    stages["notifier, first command: judge, retry, record, arm"] = counter.take()
    [retry] = outcome["outcomes"][0]["retried"]
    emulator.settle_command(retry, {i: emulator.ok() for i in emulator.targeted_instances(retry)})
    with contextlib.redirect_stdout(io.StringIO()):
        final = notifier.lambda_handler(sns_event(aws, stack, retry, "Success"), context)
    stages["notifier, retry: judge, post, record, release"] = counter.take()
    elapsed = time.perf_counter() - started
    emulator.remove_group(group)
    return {
        "stages": {name: dict(calls) for name, calls in stages.items()},
        "total": sum(sum(c.values()) for c in stages.values()),
        "posts": len(slack.payloads) - posts_before,
        "verdict": final["outcomes"][0].get("verdict"),
        "wall_ms": round(elapsed * 1000, 1),
    }


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
        parts: Counter[str] = Counter()
        for path in files:
            parts[path.relative_to(folder).parts[0]] += path.stat().st_size
        pyc = [p for p in files if p.suffix == ".pyc"]
        sizes[name] = {
            "files": len(files),
            "bytes": raw,
            # What takes the room, and the bytecode shipped so that no cold start compiles.
            "parts": dict(parts.most_common()),
            "pyc_files": len(pyc),
            "pyc_bytes": sum(p.stat().st_size for p in pyc),
            "zip_bytes": buffer.tell(),
            "target_bytes": ARTIFACT_TARGET,
            "met": raw < ARTIFACT_TARGET,
        }
    return sizes


# --- the table ---------------------------------------------------------------------------------


def _row(measure: str, figure: str, target: str = "", met: bool | None = None) -> str:
    mark = "" if met is None else ("yes" if met else "NO")
    return f"{measure:<44} {figure:>22}  {target:<22} {mark}"


def _target(missed: list[str] | None, what: str, met: bool) -> bool:
    """Note a missed target for the exit status (`missed`), and hand `met` on to the row."""
    if not met and missed is not None:
        missed.append(what)
    return met


def exit_status(missed: list[str]) -> int:
    """1 when a target was missed, so that a script running the bench can tell; each miss is
    named again under the table."""
    if not missed:
        return 0
    print(f"\nmissed {len(missed)} target(s):")
    for what in missed:
        print(f"  {what}")
    return 1


def table(report: dict[str, Any], missed: list[str] | None = None) -> str:
    m = report["machine"]
    lines = [
        f"apcu-fleet-flush benchmark  {m['date']}  {m['machine']} {m['cpu']} ({m['cores']} cores)  Python {m['python']}",
        _row("measure", "figure", "target", None) + "met",
        "-" * 100,
    ]
    noisy = [
        function
        for function, c in report["cold"].items()
        for spread, median in [(c["floor_spread_ms"], c["floor_median_ms"])]
        + [(r["spread_ms"], r["handler_median_ms"]) for r in c["rows"]]
        if spread > NOISY * median
    ]
    if noisy:
        lines.append(
            f"NOTE: noisy cold-path figures for the {' and '.join(sorted(set(noisy)))} (an "
            f"interquartile range over {NOISY:.0%} of the median; load average "
            f"{m['load_average'][0]} on {m['cores']} cores): rerun when the machine is quieter. "
            "The CPU-time ratios move least."
        )
    for function, c in report["cold"].items():
        lines.append(
            f"cold {function}, as deployed ({c['code_root']}, {c['memory_mb']} MB, "
            f"Lambda's variables), median of {c['runs']}, alternating:"
        )
        lines.append(
            _row(
                "  floor (boto3+requests, same calls and env)",
                f"{c['floor_median_ms']:.0f} ms ±{c['floor_spread_ms'] / 2:.0f}",
            )
        )
        fp = c["floor_phases_ms"]
        lines.append(f"    imports {fp['import_ms']:.0f} ms, work {fp['work_ms']:.0f} ms")
        default_ms = next(r["handler_median_ms"] for r in c["rows"] if r["default"])
        default_cpu_ms = next(r["phases_ms"]["cpu_ms"] for r in c["rows"] if r["default"])
        for r in c["rows"]:
            label = f"  handler, Tracing {r['tracing']}" + (
                " (template default)" if r["default"] else ""
            )
            lines.append(_row(label, f"{r['handler_median_ms']:.0f} ms ±{r['spread_ms'] / 2:.0f}"))
            lines.append(
                f"    CPU time until the answer {r['phases_ms']['cpu_ms']:.0f} ms "
                f"(floor {c['floor_phases_ms']['cpu_ms']:.0f} ms): what Lambda's share of a "
                "vCPU makes count most, and other load here changes least"
            )
            ratios = f"{r['ratio']:.2f}x (CPU {r['cpu_ratio']:.2f}x)"
            if r["default"]:
                lines.append(
                    _row(
                        "    ratio to the floor, clock (CPU)",
                        ratios,
                        f"<= {COLD_TARGET}x both",
                        _target(
                            missed,
                            f"cold {function}: {ratios} of the floor, target <= {COLD_TARGET}x both",
                            r["met"],
                        ),
                    )
                )
            else:
                extra = r["handler_median_ms"] - default_ms
                cpu_extra = r["phases_ms"]["cpu_ms"] - default_cpu_ms
                lines.append(
                    _row(
                        "    ratio to the floor, clock (CPU)",
                        ratios,
                        f"tracing: {extra:+.0f} ms ({cpu_extra:+.0f} CPU)",
                    )
                )
            phases = r["phases_ms"]
            if phases:
                lines.append(
                    f"    imports {phases['start_ms'] + phases['import_ms']:.0f} ms (the handler's "
                    f"{phases['import_ms']:.0f}), first event {phases['first_event_ms']:.0f} ms"
                )
            if r["subsegments"]:
                traced = Counter(r["subsegments"])
                lines.append(
                    "    buys: a trace of each event, the handler's subsegment and one per AWS call ("
                    + ", ".join(f"{n} {k}" if n > 1 else k for k, n in sorted(traced.items()))
                    + "), sent to 127.0.0.1 here; the webhook URL in them: never"
                )
            imports = r["imports"]
            heaviest = ", ".join(f"{i['module']} {i['self_ms']:.0f}" for i in imports["heaviest"])
            lines.append(
                f"    imports beyond the floor's boto3+requests: {imports['beyond_floor_ms']:.0f} ms"
                f" (python -X importtime, own time): {heaviest}"
            )
    for size, s in report["calls"]["sizes"].items():
        calls = " + ".join(f"{n} {k.split(':')[1]}" for k, n in sorted(s["calls"].items()))
        expected = sum(s["expected_calls"].values())
        lines.append(
            _row(
                f"calls, ok verdict, {size} instances",
                f"{sum(s['calls'].values())} AWS + {s['posts']} post",
                f"{expected} AWS + 1 post",
                _target(
                    missed,
                    f"calls, ok verdict, {size} instances: {sum(s['calls'].values())} AWS + "
                    f"{s['posts']} post, target {expected} AWS + 1 post",
                    s["minimum"],
                ),
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
            _target(
                missed, f"verdict time growth: {per_10x:.2f}x per 10x, target <= 10x", per_10x <= 10
            ),
        )
    )
    lines.append(f"    growth exponents (1.0 = linear): {report['calls']['growth_exponent']}")
    retry = report["retry"]
    lines.append(
        _row(
            "calls, clear with one retry, 3 instances",
            f"{retry['total']} AWS + {retry['posts']} post",
            "1 post, verdict ok",
            _target(
                missed,
                f"clear with one retry: {retry['posts']} post(s), verdict {retry['verdict']}",
                retry["posts"] == 1 and retry["verdict"] == "ok",
            ),
        )
    )
    for stage, calls in retry["stages"].items():
        listed = ", ".join(f"{n} {k.split(':')[1]}" for k, n in sorted(calls.items()))
        lines.append(f"    {stage}: {sum(calls.values())} ({listed})")
    lines.append(
        f"    in-process, request to verdict: {retry['wall_ms']:.0f} ms (the fleet's own time "
        "not included)"
    )
    for name, a in report["artifacts"].items():
        if "error" in a:
            lines.append(_row(f"artifact {name}", a["error"]))
            continue
        lines.append(
            _row(
                f"artifact {name} ({a['files']} files)",
                f"{a['bytes'] / 1024:.0f} KiB ({a['zip_bytes'] / 1024:.0f} zipped)",
                "< 1024 KiB",
                _target(
                    missed,
                    f"artifact {name}: {a['bytes'] / 1024:.0f} KiB, target < 1024 KiB",
                    a["met"],
                ),
            )
        )
        parts = ", ".join(f"{part} {size / 1024:.0f}" for part, size in a["parts"].items())
        lines.append(
            f"    KiB by top-level entry: {parts}; of which .pyc: {a['pyc_files']} files, "
            f"{a['pyc_bytes'] / 1024:.0f} KiB"
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
        print("a clear with one automatic retry ...", flush=True)
        report["retry"] = clear_with_one_retry(aws, slack, stack)
    report["artifacts"] = artifacts()
    print()
    missed: list[str] = []
    print(table(report, missed))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    for path in (RESULTS / f"bench-{stamp}.json", RESULTS / "latest.json"):
        path.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    print(f"\nwritten: {(RESULTS / f'bench-{stamp}.json').relative_to(ROOT)}")
    return exit_status(missed)


if __name__ == "__main__":
    raise SystemExit(main())
