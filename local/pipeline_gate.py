"""`apcu-flush clear --wait` in the demo, as a deploy pipeline runs it.

The installed command line signs its requests with a role session the embedded AWS issued (a
CI job's OIDC role, here assumed in moto) and talks to the local HTTP API (local/api_gateway.py),
which checks the signature as API Gateway's IAM authoriser does and hands the dispatcher its
event. The fleet then answers, the clear judges, and the command line exits with the verdict.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from harness.stack import GROUP
from local.api_gateway import ApiGateway
from local.context import Demo, ScenarioFailed
from local.embedded_aws import REGION, EmbeddedAws
from local.scenarios import Scenario

PIPELINE_ROLE = "deploy-gate"
PIPELINE_SESSION = "pipeline"
# `make venv` installs ./cli into the virtualenv, next to this interpreter.
APCU_FLUSH = Path(sys.executable).with_name("apcu-flush")
EXIT_CODES = {0: "verdict ok", 1: "alert", 2: "refused", 3: "timed out", 4: "error"}
# A verdict that passes the gate, and an alert that stops it: the exit code each must give.
GATES = {"ok": 0, "failed": 1}
PATIENCE = 60.0


@dataclass(frozen=True)
class Finished:
    exit_code: int
    output: str  # what a pipeline log shows: stderr's progress, then stdout's verdict


def run_gate(demo: Demo, scenario: Scenario) -> int:
    """Clear through the installed command line and the signed local API; its exit code."""
    if not APCU_FLUSH.exists():
        raise ScenarioFailed(f"{APCU_FLUSH} is not installed: run `make venv` (pip install ./cli)")
    expected = GATES[scenario.name]
    args = ("clear", GROUP, "--comment", f"demo {scenario.name}", "--wait")
    with ApiGateway(demo.stack.dispatch, region=REGION) as api:
        # The pipeline's log shows the command running, then its verdict.
        process = subprocess.Popen(
            [str(APCU_FLUSH), *args],
            env=_pipeline_env(demo, api.url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            command_id = _sent_command(demo, process)
            demo.stack.lambda_.waiting(command_id)
            scenario.fleet(demo, command_id)
            finished = _finish(process)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    console = demo.console
    console.step(f"$ apcu-flush {' '.join(args[:3])} '{args[3]}' {args[4]}")
    console.block(finished.output.splitlines())
    meaning = EXIT_CODES.get(finished.exit_code, "unknown")
    if finished.exit_code != expected:
        raise ScenarioFailed(
            f"apcu-flush exited {finished.exit_code} ({meaning}), expected {expected}"
        )
    console.step(
        f"exit {finished.exit_code} ({meaning}) for verdict {scenario.verdict}, as expected"
    )
    return finished.exit_code


def pipeline_credentials(aws: EmbeddedAws) -> dict[str, str]:
    """A role session, as a CI job gets one from OIDC federation: the requester the API sees."""
    role_arn = aws.client("iam").create_role(
        RoleName=PIPELINE_ROLE,
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    issued = aws.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=PIPELINE_SESSION)
    return {
        "AWS_ACCESS_KEY_ID": issued["Credentials"]["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": issued["Credentials"]["SecretAccessKey"],
        "AWS_SESSION_TOKEN": issued["Credentials"]["SessionToken"],
    }


def _pipeline_env(demo: Demo, api_url: str) -> dict[str, str]:
    """Only what a CI runner has: the role session's credentials, the region and the API URL.
    No AWS endpoint override and no config files: the command line must need nothing else."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),  # noqa: S108 (a default for HOME only)
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_REGION": REGION,
        "APCU_FLUSH_API_URL": api_url,
        **pipeline_credentials(demo.aws),
    }


def _sent_command(demo: Demo, process: subprocess.Popen[str]) -> str:
    """The id of the command the waiting program had sent, once SSM has it."""
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline and process.poll() is None:
        if demo.sent:
            return demo.sent[0][0]
        time.sleep(0.05)
    process.kill()
    _, stderr = process.communicate()
    raise ScenarioFailed(f"apcu-flush sent no command: {stderr.strip()}")


def _finish(process: subprocess.Popen[str]) -> Finished:
    try:
        stdout, stderr = process.communicate(timeout=PATIENCE)
    except subprocess.TimeoutExpired:
        process.kill()
        raise ScenarioFailed(f"apcu-flush was still waiting after {PATIENCE:g}s") from None
    return Finished(process.returncode, stderr + stdout)
