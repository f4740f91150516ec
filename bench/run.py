"""`make bench`: figures, side by side in one run, that anyone can rerun.

1. Cold path, as deployed: fresh processes that import a handler from its built artifact and
   handle one event, in the environment template.yaml gives the function plus the variables
   Lambda sets (bench/deployed.py), once per value of the Tracing parameter, against the
   floor (the same AWS calls and Slack post with plain boto3 and requests, same environment),
   alternating, median of RUNS each, timed until the answer is ready, and the ratio. With
   tracing, what X-Ray received (a UDP receiver on 127.0.0.1 stands in for the daemon). What
   the handler imports beyond the floor (python -X importtime).
   In Slack app mode too (SlackMode app, the Web API stand-in of harness/slack_web_api.py on
   127.0.0.1): the notifier's ok verdict that updates the clear's message (chat.update), and
   the dispatcher's answer to a signed press of the retry button, which sends the retry and
   updates the pressed message; the press also against Slack's 3 s. Each against a floor
   making the same calls, which an untimed run of both checks (AWS calls and Web API methods).
2. Calls per verdict: AWS calls and Slack posts the notifier makes for an ok verdict on groups
   of 3, 50, 500, 2,000, 10,000 and 20,000 instances, counted with botocore's event hooks.
   In app mode: the AWS and Slack Web API calls of an ok verdict on 3 instances.
3. Scaling: the verdict's wall time at those sizes, and its growth per 10x more instances.
4. The size of each function's built artifact (sam build), without the runtime's boto3 and the
   Powertools layer, which the functions do not ship: zipped (the target), and unpacked.

Everything runs against moto's server on 127.0.0.1, a local Slack webhook receiver and the
Slack Web API stand-in.
BENCH_ONLY=cold-app,calls-app (a comma-separated choice of PARTS) runs only those parts;
BENCH_RUNS sets the cold runs (11).
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
from typing import TYPE_CHECKING, Any

import botocore.session
from slack_sdk import WebClient

from bench import deployed
from harness import aws_emulator as emulator
from harness import slack_press
from harness.slack_web_api import BOT_TOKEN, CHANNEL, SIGNING_SECRET, SlackWebApi
from local.embedded_aws import EmbeddedAws, Stack
from local.lambda_context import LocalContext
from local.run import EVENTS, function_env, sns_event
from local.slack_app import ALLOWED_USER, app_secret
from local.slack_receiver import SlackReceiver

if TYPE_CHECKING:
    from apcu_clear.item import CommandRecord

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
RUNS = int(os.environ.get("BENCH_RUNS", "11"))
SIZES = (3, 50, 500, 2000, 10_000, 20_000)
COLD_TARGET = 1.25
# Above this interquartile range, relative to the median, the table says the run was noisy.
NOISY = 0.15
# The stack parameter that switches X-Ray tracing; the cold path is measured for each value.
TRACING_PARAMETER = "Tracing"
# The artifact's target is on its zipped size: that is what Lambda downloads and unpacks
# before a cold start. The raw size is printed
# too, as information: it counts every file of the trimmed slack_sdk both artifacts ship,
# which webhook mode never reads; what the code costs a cold start is measured by the cold
# rows, not by its bytes.
ARTIFACT_TARGET = 1024 * 1024
# Slack shows an error unless an interaction is answered within 3 s (api.slack.com, "Handling
# user interaction"), cold start included.
PRESS_BOUND_MS = 3000.0
# Lambda gives a function CPU in proportion to its memory: one vCPU at 1,769 MB (Lambda
# Developer Guide, "Memory and computing power").
ONE_VCPU_MB = 1769
# What `BENCH_ONLY` may name; all of them by default.
PARTS = ("cold", "cold-app", "calls", "calls-app", "retry", "artifacts")


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
    # The AWS calls of each run made with BENCH_COUNT_CALLS (bench/count_calls.py).
    calls: list[dict[str, int]] = field(default_factory=list)

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
        if "calls" in report:
            self.calls.append(report.pop("calls"))
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
    # What must never show up in a trace: the secrets' values, by what they are.
    secrets: dict[str, str]
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
    console = EVENTS / "dispatcher" / "console-clear-apcu.json"

    base_env = {**os.environ, **aws.env(), "PYTHONPATH": str(ROOT)}
    default_tracing, tracing_values = deployed.choices(TRACING_PARAMETER)
    results: dict[str, Any] = {}
    with XRayReceiver() as xray:
        run = _Run(
            aws=aws,
            xray=xray,
            secrets={"the Slack webhook URL": slack.url},
            tmp=tmp,
            slack=slack,
        )
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


# --- 1b. cold path in Slack app mode ----------------------------------------------------------


def app_parameters(secret_arn: str) -> dict[str, str]:
    """The stack parameters of app mode (docs/deploy.md, Slack app): the mode, the app secret
    the operator filled, and the one user the bench presses the button as."""
    return {"SlackMode": "app", "SlackAppSecretArn": secret_arn, "SlackAllowedUsers": ALLOWED_USER}


@dataclass
class _AppClear:
    """The clear an app-mode cold run works on, with its message in the stand-in's channel."""

    aws: EmbeddedAws
    slack: SlackWebApi
    table: str
    record: CommandRecord
    methods_before: int = 0

    def methods(self) -> list[str]:
        return [method for method, _ in list(self.slack.calls)]

    def put_back(self) -> None:
        """The record as it was before the run: what the run changed on it is undone."""
        self.aws.client("dynamodb").put_item(TableName=self.table, Item=self.record.to_item())

    def mark(self) -> None:
        self.methods_before = len(self.slack.calls)

    def made(self) -> list[str]:
        return self.methods()[self.methods_before :]

    def item(self) -> dict[str, Any]:
        key = {"commandId": {"S": self.record.command_id}}
        answer = self.aws.client("dynamodb").get_item(
            TableName=self.table, Key=key, ConsistentRead=True
        )
        return dict(answer.get("Item", {}))


def cold_app(
    aws: EmbeddedAws,
    slack: SlackReceiver,
    web: SlackWebApi,
    stack: Stack,
    tmp: Path,
    secret_arn: str,
) -> dict[str, Any]:
    """The two app-mode rows: the notifier's ok verdict that updates the clear's message, and
    the dispatcher's answer to a signed press that sends a retry, each as the template deploys
    the function with SlackMode app (and each value of Tracing), against its floor."""
    _sources()
    from apcu_clear.item import (
        JUDGED,
        CommandRecord,
        RecordedProblem,
        RecordedVerdict,
        SlackMessage,
        iso,
    )

    client = WebClient(token=BOT_TOKEN, base_url=web.base_url)
    now = dt.datetime.now(dt.UTC)

    def record(command_id: str, **more: Any) -> CommandRecord:
        return CommandRecord(
            command_id=command_id,
            group=stack.group,
            prefix="",
            requester="arn:aws:iam::123456789012:user/bench",
            comment="",
            origin="console",
            requested_at=iso(now),
            expires_at=iso(now + dt.timedelta(minutes=3)),
            **more,
        )

    # The notifier: a clear whose start message was posted (slackMessage on its record), all
    # three instances cleared. Every run judges it anew and updates that message.
    ok_id = _send(aws, stack.group)
    emulator.settle_command(ok_id, {i: emulator.ok() for i in emulator.targeted_instances(ok_id)})
    started = client.chat_postMessage(channel=CHANNEL, text=f"clear of {stack.group} started")
    ok_clear = _AppClear(
        aws,
        web,
        stack.commands_table,
        record(ok_id, slack_message=SlackMessage(CHANNEL, str(started["ts"]))),
    )
    notification = tmp / "notification-app.json"
    notification.write_text(json.dumps(sns_event(aws, stack, ok_id, "Success")))

    def verdict_updated() -> None:
        # chat.update of the clear's message and nothing else: no second top-level message,
        # and an ok clear has no thread reply (apcu_notifier.app_flow); the verdict recorded.
        if ok_clear.made() != ["chat.update"]:
            raise SystemExit(
                f"a cold app-mode notifier run called {ok_clear.made()}, expected one chat.update"
            )
        if ok_clear.item().get("state", {}).get("S") != JUDGED:
            raise SystemExit("a cold app-mode notifier run did not record its verdict")

    # The dispatcher: a clear judged partial, its last instance stale, whose alert (with the
    # button) is in the channel. Every run is pressed anew: the record without the retry the
    # previous run linked to it, the group's claim ended, and a press signed just now.
    stale_id = _send(aws, stack.group)
    targets = emulator.targeted_instances(stale_id)
    emulator.settle_command(
        stale_id,
        {
            **{i: emulator.ok() for i in targets[:-1]},
            targets[-1]: emulator.InvocationResult(
                status="TimedOut", status_details="DeliveryTimedOut"
            ),
        },
        status="TimedOut",
    )
    alert = client.chat_postMessage(channel=CHANNEL, **slack_press.alert_message(stale_id))
    stale_clear = _AppClear(
        aws,
        web,
        stack.commands_table,
        record(
            stale_id,
            state=JUDGED,
            verdict=RecordedVerdict(
                kind="partial",
                alert=True,
                expected=len(targets),
                targeted=len(targets),
                succeeded=len(targets) - 1,
                missing_instances=(),
                problems=(RecordedProblem(targets[-1], "TimedOut", "DeliveryTimedOut"),),
                posted_at=iso(now),
                via="sns",
                stale_instances=(targets[-1],),
                stale_count=1,
            ),
        ),
    )
    press = tmp / "press.json"

    def press_anew() -> None:
        stale_clear.put_back()
        _group_free(aws, stack.commands_table, stack.group)
        # Signed now: Slack's 5-minute window holds for each run, however long the bench.
        event = slack_press.press_event(
            stale_id,
            signing_secret=SIGNING_SECRET,
            user_id=ALLOWED_USER,
            user_name="ops",
            channel=CHANNEL,
            message_ts=str(alert["ts"]),
            message={"text": alert["message"]["text"], "blocks": alert["message"]["blocks"]},
        )
        press.write_text(json.dumps(event))

    def retry_sent() -> None:
        retries = stale_clear.item().get("retries", {}).get("L", [])
        if len(retries) != 1 or stale_clear.made() != ["chat.update"]:
            raise SystemExit(
                f"a cold press sent {len(retries)} retries and called {stale_clear.made()}, "
                "expected one retry and one chat.update"
            )

    base_env = {**os.environ, **aws.env(), "PYTHONPATH": str(ROOT), "SLACK_API_URL": web.base_url}
    default_tracing, tracing_values = deployed.choices(TRACING_PARAMETER)
    secrets = {"the bot token": BOT_TOKEN, "the signing secret": SIGNING_SECRET}
    cases = {
        "notifier (app mode)": (
            "notifier",
            notification,
            ok_clear.put_back,
            ColdCase(
                title="notifier, Slack app mode: ok verdict, the clear's message updated",
                floor_script="bench/floor_notifier_app.py",
                floor_label="boto3+urllib",
                floor_imports="import boto3, urllib.request",
                secrets=secrets,
                before=ok_clear.mark,
                after=verdict_updated,
                lazy_imports=("apcu_notifier.slack_web", "apcu_notifier.app_flow"),
                slack_methods=ok_clear.methods,
            ),
        ),
        "dispatcher (app mode, press)": (
            "dispatcher",
            press,
            press_anew,
            ColdCase(
                title="dispatcher, Slack app mode: a signed press, the retry sent",
                floor_script="bench/floor_dispatcher_press.py",
                floor_label="boto3+hmac+urllib",
                floor_imports="import boto3, hmac, urllib.request",
                secrets=secrets,
                before=stale_clear.mark,
                after=retry_sent,
                lazy_imports=("apcu_dispatcher.slack_client", "apcu_dispatcher.slack_actions"),
                slack_methods=stale_clear.methods,
                answer_bound_ms=PRESS_BOUND_MS,
            ),
        ),
    }
    results: dict[str, Any] = {}
    with XRayReceiver() as xray:
        run = _Run(aws=aws, xray=xray, secrets=secrets, tmp=tmp, slack=slack)
        for name, (function, event, prepare, case) in cases.items():
            # The event file must exist before the deployments are read; the press is
            # written again before each run.
            prepare()
            variants = {
                value: deployed.deployment(
                    function,
                    stack,
                    base_env,
                    parameters={**app_parameters(secret_arn), TRACING_PARAMETER: value},
                    xray_daemon=xray.address,
                )
                for value in tracing_values
            } or {
                "": deployed.deployment(
                    function,
                    stack,
                    base_env,
                    parameters=app_parameters(secret_arn),
                    xray_daemon=xray.address,
                )
            }
            results[name] = cold_function(
                run, function, event, variants, default_tracing, prepare, case
            )
    return results


@dataclass(frozen=True)
class ColdCase:
    """What one cold row measures besides the function and its deployments: its floor, how a
    run shows it did the whole work, and what its traces must never hold."""

    title: str  # what the table calls it: "notifier", "notifier, app mode: ..."
    floor_script: str  # bench/floor_*.py
    floor_label: str  # what the floor is made of, as the table says it
    floor_imports: str  # the floor's imports, for the import-time comparison
    secrets: dict[str, str]
    # Before each run (after the case's reset) and after it: raise SystemExit when the run
    # did less than the whole work (found a verdict already recorded, sent nothing, ...).
    before: Callable[[], None] = lambda: None
    after: Callable[[], None] = lambda: None
    # Modules the handler imports on its first event rather than at its start (slack_sdk in
    # app mode): counted in its imports beyond the floor.
    lazy_imports: tuple[str, ...] = ()
    # The Slack Web API methods called so far, when the case calls the Web API: then an
    # untimed run of the handler and one of the floor check that both make the same calls.
    slack_methods: Callable[[], list[str]] | None = None
    # An upper bound on the answer time of every cold run (Slack's 3 s for a press).
    answer_bound_ms: float | None = None


def webhook_case(run: _Run, function: str) -> ColdCase:
    """The webhook rows, as they have always been measured: the notifier must post exactly
    one verdict per run (a run that found a verdict already recorded would post nothing, and
    time far less than the work)."""
    posts_before = [0]

    def before() -> None:
        posts_before[0] = len(run.slack.payloads)

    def after() -> None:
        if function == "notifier" and len(run.slack.payloads) != posts_before[0] + 1:
            raise SystemExit("a cold notifier run did not post exactly one verdict")

    return ColdCase(
        title=function,
        floor_script=f"bench/floor_{function}.py",
        floor_label="boto3+requests",
        floor_imports="import boto3, requests",
        secrets=run.secrets,
        before=before,
        after=after,
    )


def cold_function(
    run: _Run,
    function: str,
    event: Path,
    variants: dict[str, deployed.Deployment],
    default_key: str,
    prepare: Callable[[], None],
    case: ColdCase | None = None,
) -> dict[str, Any]:
    """Each variant of one function and its floor, alternating, RUNS times each."""
    default = variants.get(default_key) or next(iter(variants.values()))
    case = case or webhook_case(run, function)

    def reset() -> None:
        prepare()
        run.xray.take()
        case.before()

    traced: dict[str, list[list[str]]] = {key: [] for key in variants}

    def collect(key: str) -> None:
        case.after()
        datagrams = run.xray.take()
        for what, value in case.secrets.items():
            if any(value in datagram for datagram in datagrams):
                raise SystemExit(f"{what} reached an X-Ray trace of the {function}")
        traced[key].append(_subsegments(datagrams))

    handler = [sys.executable, "bench/cold_handler.py", function, str(event)]
    floor_argv = [sys.executable, case.floor_script, str(event)]
    calls_check = (
        same_calls(handler, floor_argv, default.env, reset, case.after, case.slack_methods)
        if case.slack_methods is not None
        else None
    )
    contenders = {
        key: Contender(handler, d.env, reset, partial(collect, key)) for key, d in variants.items()
    }
    floor = Contender(floor_argv, default.env, reset, case.after)
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
                "handler_max_ms": round(max(c.answers) * 1000, 1),
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
                "imports": importtime(d, floor_code=case.floor_imports, lazy=case.lazy_imports),
            }
        )
    result: dict[str, Any] = {
        "title": case.title,
        "floor_label": case.floor_label,
        "secrets": list(case.secrets),
        "runs": RUNS,
        "code_root": str(default.code_root.relative_to(ROOT)),
        "memory_mb": default.memory_mb,
        "floor_median_ms": round(floor_ms, 1),
        "floor_spread_ms": _spread(floor.answers),
        "floor_until_exit_median_ms": round(statistics.median(floor.exits) * 1000, 1),
        "floor_phases_ms": _phases(floor.phases),
        "rows": rows,
    }
    if calls_check is not None:
        result["calls_check"] = calls_check
    if case.answer_bound_ms is not None:
        result["answer_bound_ms"] = case.answer_bound_ms
    return result


def same_calls(
    handler: list[str],
    floor: list[str],
    env: dict[str, str],
    reset: Callable[[], None],
    after: Callable[[], None],
    slack_methods: Callable[[], list[str]],
) -> dict[str, Any]:
    """One untimed run of the handler and one of the floor, each counting its AWS calls
    (bench/count_calls.py) while the Web API stand-in records its methods: a floor that made
    fewer or other calls would make the ratio flatter the handler. Also a first run of each,
    so that the timed runs find moto's backends and the stand-in started alike."""

    def count(argv: list[str]) -> dict[str, int]:
        methods_before = [0]

        def before() -> None:
            reset()
            methods_before[0] = len(slack_methods())

        contender = Contender(argv, {**env, "BENCH_COUNT_CALLS": "1"}, before, after)
        contender()
        slack = Counter(slack_methods()[methods_before[0] :])
        return {
            **dict(sorted(contender.calls[0].items())),
            **{f"slack:{method}": n for method, n in sorted(slack.items())},
        }

    made = {"handler": count(handler), "floor": count(floor)}
    return {**made, "same": made["handler"] == made["floor"]}


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


def importtime(
    d: deployed.Deployment,
    top: int = 8,
    *,
    floor_code: str = "import boto3, requests",
    lazy: tuple[str, ...] = (),
) -> dict[str, Any]:
    """What the handler imports beyond the floor's (boto3 and requests unless told), per
    library (Powertools per utility), by the modules' own import time: the part of the cold
    path the handler adds. `lazy`: modules the handler imports on its first event, counted
    with it. The function's own modules count together, compiled at every start unless the
    artifact ships their .pyc (Lambda's /var/task is read-only, and this run writes none
    either)."""
    handler_module = d.env.get("_HANDLER", "app.lambda_handler").rsplit(".", 1)[0]
    handler = _import_times(f"import {', '.join((handler_module, *lazy))}", d.env)
    floor = _import_times(floor_code, d.env)
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


def calls_app(aws: EmbeddedAws, web: SlackWebApi, stack: Stack, secret_arn: str) -> dict[str, Any]:
    """Every AWS call and Slack Web API call of the notifier's ok verdict in app mode on the
    3-instance group, in-process as the webhook rows above: a clear whose start message was
    posted, whose verdict updates that message (chat.update) and adds nothing else."""
    _sources()
    from apcu_clear.item import CommandRecord, SlackMessage, iso

    counter = CallCounter()
    env = function_env(aws, stack, "notifier", "en")
    env.update(
        {
            "SLACK_MODE": "app",
            "SLACK_APP_SECRET_ARN": secret_arn,
            "SLACK_API_URL": web.base_url,
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
    )
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update({k: v for k, v in env.items() if k != "PYTHONPATH"})
    from apcu_notifier import handler as notifier

    notifier.use_runtime(None)  # app mode read from the environment, a fresh secret cache
    try:
        command_id = _send(aws, stack.group)
        emulator.settle_command(
            command_id, {i: emulator.ok() for i in emulator.targeted_instances(command_id)}
        )
        client = WebClient(token=BOT_TOKEN, base_url=web.base_url)
        ts = str(client.chat_postMessage(channel=CHANNEL, text="clear started")["ts"])
        now = dt.datetime.now(dt.UTC)
        record = CommandRecord(
            command_id=command_id,
            group=stack.group,
            prefix="",
            requester="arn:aws:iam::123456789012:user/bench",
            comment="",
            origin="console",
            requested_at=iso(now),
            expires_at=iso(now + dt.timedelta(minutes=3)),
            slack_message=SlackMessage(CHANNEL, ts),
        )
        aws.client("dynamodb").put_item(TableName=stack.commands_table, Item=record.to_item())
        event = sns_event(aws, stack, command_id, "Success")
        counter.take()
        before = len(web.calls)
        with contextlib.redirect_stdout(io.StringIO()):
            outcome = notifier.lambda_handler(
                event, LocalContext("NotifierFunction", function_name="apcu-notifier")
            )
        calls = counter.take()
        slack = Counter(method for method, _ in web.calls[before:])
    finally:
        # The process's environment as it was; the notifier's runtime stays in app mode, so
        # this part runs last (a part after it would set its own, as clear_with_one_retry does).
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    expected = {
        # The verdict's claim, the look for the clear's message (refused: it is there, and
        # the refusal carries it), the verdict recorded.
        "dynamodb:UpdateItem": 3,
        "ssm:ListCommands": 1,
        "autoscaling:DescribeAutoScalingGroups": 1,
        "ssm:ListCommandInvocations": 1,
        # The app secret, read once per container (cached for a quarter of an hour).
        "secretsmanager:GetSecretValue": 1,
    }
    [result] = outcome["outcomes"]
    return {
        "calls": dict(calls),
        "expected_calls": expected,
        "slack": dict(slack),
        "expected_slack": {"chat.update": 1},
        "verdict": result.get("verdict"),
        "updated": result.get("updated"),
        "minimum": dict(calls) == expected and dict(slack) == {"chat.update": 1},
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
            "met": buffer.tell() < ARTIFACT_TARGET,
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
    """The report as the table `make bench` prints; a part the run left out (BENCH_ONLY) has
    no lines."""
    m = report["machine"]
    lines = [
        f"apcu-fleet-flush benchmark  {m['date']}  {m['machine']} {m['cpu']} ({m['cores']} cores)  Python {m['python']}",
        _row("measure", "figure", "target", None) + "met",
        "-" * 100,
    ]
    cold_runs = report.get("cold", {})
    noisy = [
        function
        for function, c in cold_runs.items()
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
    for function, c in cold_runs.items():
        lines.extend(_cold_lines(function, c, missed))
    if "calls" in report:
        lines.extend(_calls_lines(report["calls"], missed))
    if "calls_app" in report:
        lines.extend(_calls_app_lines(report["calls_app"], missed))
    if "calls" in report:
        lines.extend(_scaling_lines(report["calls"], missed))
    if "retry" in report:
        lines.extend(_retry_lines(report["retry"], missed))
    for name, a in report.get("artifacts", {}).items():
        lines.extend(_artifact_lines(name, a, missed))
    return "\n".join(lines)


def _cold_lines(function: str, c: dict[str, Any], missed: list[str] | None) -> list[str]:
    title = c.get("title", function)
    floor_label = c.get("floor_label", "boto3+requests")
    secrets = c.get("secrets", ["the Slack webhook URL"])
    lines = [
        f"cold {title}, as deployed ({c['code_root']}, {c['memory_mb']} MB, "
        f"Lambda's variables), median of {c['runs']}, alternating:",
        _row(
            f"  floor ({floor_label}, same calls and env)",
            f"{c['floor_median_ms']:.0f} ms ±{c['floor_spread_ms'] / 2:.0f}",
        ),
    ]
    fp = c["floor_phases_ms"]
    lines.append(f"    imports {fp['import_ms']:.0f} ms, work {fp['work_ms']:.0f} ms")
    check = c.get("calls_check")
    if check is not None:
        handler_calls = check["handler"]
        aws = sum(n for k, n in handler_calls.items() if not k.startswith("slack:"))
        web = sum(n for k, n in handler_calls.items() if k.startswith("slack:"))
        lines.append(
            _row(
                "  calls, handler and floor (untimed run each)",
                f"{aws} AWS + {web} Web API",
                "the same",
                _target(
                    missed,
                    f"cold {function}: the floor's calls {check['floor']} are not the "
                    f"handler's {handler_calls}",
                    check["same"],
                ),
            )
        )
        lines.append("    " + ", ".join(f"{n} {k.split(':')[1]}" for k, n in handler_calls.items()))
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
        bound = c.get("answer_bound_ms")
        if bound is not None:
            lines.extend(_answer_lines(function, c, r, bound, missed))
        phases = r["phases_ms"]
        if phases:
            lines.append(
                f"    imports {phases['start_ms'] + phases['import_ms']:.0f} ms (the handler's "
                f"{phases['import_ms']:.0f}), first event {phases['first_event_ms']:.0f} ms"
            )
        if r["subsegments"]:
            traced = Counter(r["subsegments"])
            kept_out = " and ".join(
                s.removeprefix("the Slack ").removeprefix("the ") for s in secrets
            )
            lines.append(
                "    buys: a trace of each event, the handler's subsegment and one per AWS call ("
                + ", ".join(f"{n} {k}" if n > 1 else k for k, n in sorted(traced.items()))
                + f"), sent to 127.0.0.1 here; the {kept_out} in them: never"
            )
        imports = r["imports"]
        heaviest = ", ".join(f"{i['module']} {i['self_ms']:.0f}" for i in imports["heaviest"])
        lines.append(
            f"    imports beyond the floor's {floor_label}: {imports['beyond_floor_ms']:.0f} ms"
            f" (python -X importtime, own time): {heaviest}"
        )
    return lines


def _answer_lines(
    function: str, c: dict[str, Any], r: dict[str, Any], bound: float, missed: list[str] | None
) -> list[str]:
    """The answer time against Slack's bound: every cold run's, so the slowest of them."""
    slowest = r["handler_max_ms"]
    lines = [
        _row(
            f"    answer to Slack, slowest of {c['runs']} cold",
            f"{slowest:.0f} ms (median {r['handler_median_ms']:.0f})",
            f"< {bound:.0f} ms (Slack's 3 s)",
            _target(
                missed,
                f"cold {function}, Tracing {r['tracing']}: answered in {slowest:.0f} ms, "
                f"target < {bound:.0f} ms",
                slowest < bound,
            )
            if r["default"]
            else slowest < bound,
        )
    ]
    share = c["memory_mb"] / ONE_VCPU_MB
    cpu_s = r["phases_ms"]["cpu_ms"] / 1000
    lines.append(
        f"    at {c['memory_mb']} MB Lambda gives about {share:.2f} of a vCPU: the {cpu_s:.2f} s "
        f"of CPU here would take some {cpu_s / share:.1f} s if all of it ran at that share "
        "(a rough guide, not a measurement: Lambda's cores are not this machine's, and its "
        "runtime's own start is not in it)"
    )
    return lines


def _calls_lines(calls_report: dict[str, Any], missed: list[str] | None) -> list[str]:
    lines = []
    for size, s in calls_report["sizes"].items():
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
    return lines


def _calls_app_lines(a: dict[str, Any], missed: list[str] | None) -> list[str]:
    aws = sum(a["calls"].values())
    web = sum(a["slack"].values())
    expected_aws = sum(a["expected_calls"].values())
    expected_web = " + ".join(f"{n} {k}" for k, n in a["expected_slack"].items())
    listed = " + ".join(f"{n} {k.split(':')[1]}" for k, n in sorted(a["calls"].items()))
    methods = " + ".join(f"{n} {k}" for k, n in sorted(a["slack"].items())) or "none"
    return [
        _row(
            "calls, app-mode ok verdict, 3 instances",
            f"{aws} AWS + {web} Web API",
            f"{expected_aws} AWS + {expected_web}",
            _target(
                missed,
                f"calls, app-mode ok verdict: {listed} and {methods}, target "
                f"{expected_aws} AWS + {expected_web}",
                a["minimum"],
            ),
        ),
        f"    {listed}; Web API: {methods} (verdict {a['verdict']}, the clear's message "
        f"{'updated' if a['updated'] else 'posted'})",
    ]


def _scaling_lines(calls_report: dict[str, Any], missed: list[str] | None) -> list[str]:
    lines = [
        _row(f"verdict wall time, {size} instances", f"{s['verdict_ms']:.0f} ms")
        for size, s in calls_report["sizes"].items()
    ]
    per_10x = calls_report["per_10x"]
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
    lines.append(f"    growth exponents (1.0 = linear): {calls_report['growth_exponent']}")
    return lines


def _retry_lines(retry: dict[str, Any], missed: list[str] | None) -> list[str]:
    lines = [
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
    ]
    for stage, calls in retry["stages"].items():
        listed = ", ".join(f"{n} {k.split(':')[1]}" for k, n in sorted(calls.items()))
        lines.append(f"    {stage}: {sum(calls.values())} ({listed})")
    lines.append(
        f"    in-process, request to verdict: {retry['wall_ms']:.0f} ms (the fleet's own time "
        "not included)"
    )
    return lines


def _artifact_lines(name: str, a: dict[str, Any], missed: list[str] | None) -> list[str]:
    if "error" in a:
        return [_row(f"artifact {name}", a["error"])]
    parts = ", ".join(f"{part} {size / 1024:.0f}" for part, size in a["parts"].items())
    return [
        _row(
            f"artifact {name} ({a['files']} files)",
            f"{a['zip_bytes'] / 1024:.0f} KiB zipped",
            f"< {ARTIFACT_TARGET // 1024} KiB zipped",
            _target(
                missed,
                f"artifact {name}: {a['zip_bytes'] / 1024:.0f} KiB zipped, target < "
                f"{ARTIFACT_TARGET // 1024} KiB zipped",
                a["met"],
            ),
        ),
        f"    {a['bytes'] / 1024:.0f} KiB unpacked: information only (what the code costs a cold "
        "start, the cold rows measure)",
        f"    KiB by top-level entry: {parts}; of which .pyc: {a['pyc_files']} files, "
        f"{a['pyc_bytes'] / 1024:.0f} KiB",
    ]


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
    with (
        EmbeddedAws() as aws,
        SlackReceiver() as slack,
        SlackWebApi(bot_token=BOT_TOKEN, channels=(CHANNEL,)) as web,
        tempfile.TemporaryDirectory() as tmp,
    ):
        stack = aws.deploy(group="web-prod", size=3, webhook_url=slack.url)
        secret_arn = app_secret(aws)
        if "cold" in parts:
            print(f"cold path: {RUNS} runs each, alternating handler and floor ...", flush=True)
            report["cold"] = cold(aws, slack, stack, Path(tmp))
        if "cold-app" in parts:
            print(
                f"cold path in Slack app mode: {RUNS} runs each, alternating handler and floor ...",
                flush=True,
            )
            report.setdefault("cold", {}).update(
                cold_app(aws, slack, web, stack, Path(tmp), secret_arn)
            )
        if "calls" in parts:
            print(
                "calls per verdict and scaling: groups of " + ", ".join(map(str, SIZES)) + " ...",
                flush=True,
            )
            report["calls"] = calls_and_scaling(aws, slack, stack)
        if "retry" in parts:
            print("a clear with one automatic retry ...", flush=True)
            report["retry"] = clear_with_one_retry(aws, slack, stack)
        if "calls-app" in parts:
            print("calls of an ok verdict in Slack app mode ...", flush=True)
            report["calls_app"] = calls_app(aws, web, stack, secret_arn)
    if "artifacts" in parts:
        report["artifacts"] = artifacts()
    print()
    missed: list[str] = []
    print(table(report, missed))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    # A run of some parts only leaves latest.json to the last whole run.
    written = [RESULTS / f"bench-{stamp}{'-only' if 'only' in report else ''}.json"]
    for path in written if "only" in report else [*written, RESULTS / "latest.json"]:
        path.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    print(f"\nwritten: {written[0].relative_to(ROOT)}")
    return exit_status(missed)


if __name__ == "__main__":
    raise SystemExit(main())
