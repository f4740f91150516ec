"""`make demo`: the whole flow on this machine, with no AWS account, Slack or Docker.

Both functions run in this process, as their containers would: the dispatcher as a plain
function, the notifier as a durable function in AWS's in-process runner
(harness/durable_lambda.py), reached through the Lambda API like the deployed one. moto's
server plays AWS (extended by harness/aws_emulator), the Slack stand-in (harness/slack_web_api)
plays Slack, and each scenario says what the fleet does with the command.

    python -m local.run --all
    python -m local.run --scenario mismatch --lang ja
    python -m local.run --slack app                      # the retry button, pressed
    python -m local.run --slack app --scenario stuck
"""

from __future__ import annotations

import argparse
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import aws_emulator as emulator
from harness.slack_web_api import SlackWebApi
from harness.stack import Stack
from local import flow, pipeline_gate
from local.console import Console
from local.context import Demo, ScenarioFailed
from local.embedded_aws import EmbeddedAws
from local.fleet import FleetAnswers
from local.process import ROOT, Logs, functions_log_to, prepare
from local.scenarios import APP_DEFAULT, SCENARIOS, Scenario

OUT = ROOT / "local" / "out"


@dataclass(frozen=True)
class Run:
    mode: str
    lang: str
    out: Path
    expect: str | None


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    if args.slack == "app" and not (args.all or args.scenario):
        args.scenario = APP_DEFAULT
    chosen = list(SCENARIOS.values()) if args.all else [SCENARIOS[args.scenario]]
    run = Run(args.slack, args.lang, Path(args.out), args.expect)
    run.out.mkdir(parents=True, exist_ok=True)
    prepare()
    logs = Logs()
    started = time.monotonic()
    failures: list[str] = []
    with functions_log_to(logs) as terminal, SlackWebApi() as slack:
        console = Console(terminal)
        console.say(
            f"embedded AWS: moto's server on 127.0.0.1 (one per scenario); Slack: the stand-in "
            f"on 127.0.0.1:{slack.port} ({run.mode} mode, messages in {run.lang})"
        )
        for scenario in chosen:
            expected = run.expect or scenario.verdict or flow.DRY_RUN
            console.scenario(
                f"scenario {scenario.name}: {scenario.description} (expect {expected})"
            )
            if not _scenario(run, scenario, expected, slack, console, logs):
                failures.append(scenario.name)
        if args.all and run.mode == "webhook":
            for name in pipeline_gate.GATES:
                console.scenario(f"deploy gate on scenario {name}: apcu-flush clear --wait")
                gate = SCENARIOS[name]
                if not _scenario(run, gate, gate.verdict, slack, console, logs, gate=True):
                    failures.append(f"{name} (apcu-flush)")
        elapsed = time.monotonic() - started
        if failures:
            console.say(
                f"\n{len(failures)} of {len(chosen)} scenarios did not end as expected: "
                f"{', '.join(failures)} ({elapsed:.1f} s)"
            )
        else:
            what = (
                f"all {len(chosen)} scenarios" if len(chosen) > 1 else f"scenario {chosen[0].name}"
            )
            console.say(f"\n{what} ended as expected ({elapsed:.1f} s)")
    return 1 if failures else 0


def _scenario(
    run: Run,
    scenario: Scenario,
    expected: str,
    slack: SlackWebApi,
    console: Console,
    logs: Logs,
    *,
    gate: bool = False,
) -> bool:
    log = (
        run.out
        / f"{scenario.name}{'.gate' if gate else ''}{'.app' if run.mode == 'app' else ''}.log"
    )
    logs.start(log)
    slack.reset()
    started = time.monotonic()
    # Stack's keywords are the stack's variables (str), beside its own (size, mode, …).
    settings: dict[str, Any] = {"MESSAGE_LANGUAGE": run.lang, **scenario.settings}
    try:
        with (
            EmbeddedAws() as aws,
            Stack(slack, mode=run.mode, endpoint_url=aws.endpoint, **settings) as stack,
        ):
            demo = Demo(stack, aws, slack, console, run.out, run.mode)
            emulator.fleet_answers(FleetAnswers(demo.sent))
            if gate:
                pipeline_gate.run_gate(demo, scenario)
                return True
            outcome = flow.run(demo, scenario, expected)
    except ScenarioFailed as error:
        console.say(f"  FAILED: {error} (the functions' logs: {_shown(log)})")
        return False
    except Exception as error:
        # Not the scenario's outcome but a fault of the demo or of the harness: its traceback
        # goes to the log, and the other scenarios still run.
        traceback.print_exc(file=logs)
        console.say(
            f"  FAILED: {type(error).__name__}: {error} (the traceback is in {_shown(log)})"
        )
        return False
    console.say(
        f"  {outcome} as expected ({time.monotonic() - started:.1f} s; the functions' logs: "
        f"{_shown(log)})"
    )
    return True


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--scenario", choices=list(SCENARIOS), help="run one scenario")
    choice.add_argument("--all", action="store_true", help="run every scenario in turn")
    parser.add_argument(
        "--lang", choices=("en", "ja"), default="en", help="language of the Slack messages"
    )
    parser.add_argument(
        "--slack",
        choices=("webhook", "app"),
        default="webhook",
        help="app: Slack app mode, one message per clear updated in place (without --scenario: "
        f"{APP_DEFAULT}, and its retry button pressed)",
    )
    parser.add_argument(
        "--expect", help="another expected verdict (to see the run fail when they differ)"
    )
    parser.add_argument("--out", default=str(OUT), help="where the logs and Slack payloads go")
    args = parser.parse_args(argv)
    if args.slack == "webhook" and not (args.all or args.scenario):
        parser.error("one of the arguments --scenario --all is required (or --slack app)")
    return args


if __name__ == "__main__":
    raise SystemExit(main())
