"""`apcu-flush clear --wait` in the local run, as a deploy pipeline runs it.

The installed command line signs its requests with a role session the embedded AWS issued (a
CI job's OIDC role, here assumed in moto) and talks to the local API front end, which checks
the signature and runs the real dispatcher. The run then lets the fleet answer and the real
notifier judge, and the command line exits with the verdict.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness import aws_emulator as emulator
from harness.aws_emulator import InvocationResult
from local.api_gateway import ApiGateway, in_fresh_process
from local.embedded_aws import REGION, EmbeddedAws

PIPELINE_ROLE = "deploy-gate"
PIPELINE_SESSION = "pipeline"
# `make venv` installs ./cli into the virtualenv, next to this interpreter.
APCU_FLUSH = Path(sys.executable).with_name("apcu-flush")
EXIT_CODES = {0: "verdict ok", 1: "alert", 2: "refused", 3: "timed out", 4: "error"}


class GateFailed(Exception):
    pass


@dataclass(frozen=True)
class Finished:
    command_id: str
    exit_code: int
    output: str  # what a pipeline log would show: stderr's progress, then stdout's verdict


def pipeline_credentials(aws: EmbeddedAws) -> dict[str, str]:
    """A role session, as a CI job gets from OIDC federation: the requester the API sees."""
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


class Gate:
    def __init__(self, aws: EmbeddedAws, api: ApiGateway, credentials: Mapping[str, str]) -> None:
        self._aws = aws
        self._api = api
        self.api_url = api.url
        # Only what a CI runner has: the credentials, the region, the API URL. No AWS endpoint
        # override and no config files: the command line must need nothing else.
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),  # noqa: S108 (a default for HOME only)
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_REGION": REGION,
            "APCU_FLUSH_API_URL": api.url,
            **credentials,
        }

    def start(self, *args: str) -> subprocess.Popen[str]:
        if not APCU_FLUSH.exists():
            raise GateFailed(f"{APCU_FLUSH} is not installed: run `make venv` (pip install ./cli)")
        return subprocess.Popen(
            [str(APCU_FLUSH), *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def sent_command(self, process: subprocess.Popen[str], timeout: float = 60) -> str:
        """The id of the command the waiting program sent, once the embedded SSM has it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            commands = self._aws.client("ssm").list_commands()["Commands"]
            if commands:
                return str(commands[0]["CommandId"])
            if process.poll() is not None:
                break
            time.sleep(0.2)
        process.kill()
        _, stderr = process.communicate()
        raise GateFailed(f"apcu-flush sent no command: {stderr.strip()}")

    def seen_running(self, process: subprocess.Popen[str], command_id: str) -> None:
        """The fleet is halfway through the command; returns once the pipeline has read that."""
        targets = emulator.targeted_instances(command_id)
        emulator.settle_command(
            command_id,
            {
                i: emulator.ok() if n == 0 else InvocationResult("InProgress")
                for n, i in enumerate(targets)
            },
            status="InProgress",
        )
        since = len(self._api.events)
        deadline = time.monotonic() + 60
        # A read asked after the fleet's progress was recorded, and answered: it saw it.
        while not self._api.status_reads_answered(since):
            if process.poll() is not None or time.monotonic() > deadline:
                raise GateFailed("apcu-flush never read the command's status")
            time.sleep(0.2)

    @staticmethod
    def finish(process: subprocess.Popen[str], command_id: str, timeout: float = 120) -> Finished:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            raise GateFailed(f"apcu-flush was still waiting after {timeout:g}s") from None
        return Finished(command_id, process.returncode, stderr + stdout)


@contextmanager
def gate(aws: EmbeddedAws, dispatcher_env: Mapping[str, str], log: Path) -> Iterator[Gate]:
    """The local API in front of the real dispatcher, and a pipeline allowed to call it."""
    with ApiGateway(in_fresh_process(dispatcher_env, log), region=REGION) as api:
        yield Gate(aws, api, pipeline_credentials(aws))
