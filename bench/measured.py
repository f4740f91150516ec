"""The parts measured on the embedded stack: one moto server, one Slack stand-in, one
harness.stack.Stack (both functions in this process, the notifier behind its alias in AWS's
in-process runner), the durable API served to fresh processes (bench.durable_service).

The process is made as the functions' containers would have it (local.process.prepare), and
every botocore client is counted from the start (bench.watch). The functions' logs go to a
file; the terminal gets the bench's progress.
"""

from __future__ import annotations

import os
import traceback
from pathlib import Path
from typing import Any

from harness import durable_lambda
from local.process import Logs, functions_log_to, prepare

# How long an execution may run here. The harness bounds it at two minutes, for tests; the
# template gives a clear ten hours (DurableConfig), and a 20,000-instance clear with throttled
# pages takes minutes on a busy 2-core machine.
EXECUTION_TIMEOUT_SECONDS = 900


def measured(parts: tuple[str, ...], runs: int, log: Path) -> dict[str, Any]:
    prepare()
    durable_lambda.PATIENCE = EXECUTION_TIMEOUT_SECONDS
    from bench import watch as watching

    watch = watching.install()  # before any client is built
    from bench import deployed
    from bench.clears import per_clear
    from bench.cold_row import Setting, measure
    from bench.cold_setup import Rows
    from bench.durable_service import ColdBridge, serve
    from bench.latency import notification_to_post
    from bench.scale import scaling
    from bench.xray import XRayReceiver
    from harness import aws_emulator as emulator
    from harness import cfn_template
    from harness.slack_web_api import BOT_TOKEN, SIGNING_SECRET, SlackWebApi
    from harness.stack import DISPATCHER, GROUP, Stack
    from local.embedded_aws import EmbeddedAws

    template = cfn_template.load()
    memory = int(template["Globals"]["Function"]["MemorySize"])
    durable_config = template["Resources"]["NotifierFunction"]["Properties"]["DurableConfig"]
    report: dict[str, Any] = {}
    logs = Logs()
    logs.start(log)
    with (
        functions_log_to(logs) as terminal,
        SlackWebApi() as slack,
        EmbeddedAws() as aws,
        Stack(slack, endpoint_url=aws.endpoint) as stack,
    ):

        def say(line: str) -> None:
            terminal.write(line + "\n")
            terminal.flush()

        serve(stack.lambda_)
        watching.follow(watch, stack.lambda_)
        bridge = ColdBridge(stack.lambda_, stack.lambda_.runner._invoker.handler)
        rows = Rows(stack, bridge)
        emulator.subscribe(None)  # the cold rows deliver SSM's notifications themselves
        app_arn = aws.client("secretsmanager").describe_secret(
            SecretId="apcu-fleet-flush/slack-app"
        )["ARN"]
        setting = Setting(
            local=deployed.stand_ins(stack.env),
            parameters={
                "AllowedGroups": GROUP,
                "SlackWebhookSecretArn": stack.env["SLACK_WEBHOOK_SECRET_ARN"],
            },
            base_env=dict(os.environ),
            overrides={"SLACK_API_URL": slack.base_url},
            secrets={
                "the webhook URL": slack.webhook_url,
                "the bot token": BOT_TOKEN,
                "the signing secret": SIGNING_SECRET,
            },
            runs=runs,
        )

        def cold() -> dict[str, Any]:
            measured: dict[str, Any] = {}
            with XRayReceiver() as xray:
                for key, row in (
                    ("dispatcher", rows.dispatcher()),
                    ("clear start", rows.clear_start()),
                    ("relay", rows.relay()),
                    ("press", rows.press(app_arn)),
                ):
                    say(f"cold {key}: {runs} runs each of the handler (each Tracing) and its floor")
                    measured[key] = measure(row, setting, xray)
            return measured

        def latency() -> dict[str, Any]:
            say("from SSM's notification to the verdict in Slack, cold and warm ...")
            env = deployed.deployment(
                "notifier",
                setting.local,
                setting.base_env,
                parameters=setting.parameters,
                overrides=setting.overrides,
            ).env
            return notification_to_post(rows, env, max(3, runs // 2))

        def clears() -> dict[str, Any]:
            say("per clear: ok, and ok after one retry round ...")
            retention = int(durable_config["RetentionPeriodInDays"])
            return per_clear(stack, watch, memory, retention)

        def scale() -> dict[str, Any]:
            say("clears of 3 to 20,000 instances; 10,000 and 20,000 throttled ...")
            return scaling(rows, watch, aws.endpoint)

        for name, part in (
            ("cold", cold),
            ("latency", latency),
            ("clears", clears),
            ("scale", scale),
        ):
            if name not in parts:
                continue
            try:
                report[name] = part()
            except (Exception, SystemExit) as error:
                # One part's failure is a missed target of its own; the other parts still run.
                traceback.print_exc(file=logs)
                report.setdefault("failed", {})[name] = f"{type(error).__name__}: {error}"
                say(f"  {name} failed: {type(error).__name__}: {error} (traceback in {log})")
            # What a part left behind: waiting clears, the press row's no-op, a claim.
            stack.lambda_.functions[DISPATCHER] = stack.dispatch
            bridge.stop_waiting()
            emulator.fleet_answers(None)
            emulator.subscribe(None)
            rows.end_previous()
            rows.in_process()
    return report
