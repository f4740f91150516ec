"""A pipeline's view of the stack: the installed `apcu-flush`, run with only what a CI job has
(a role session, a region, an API URL), against the local HTTP API (local/api_gateway.py) in
front of the stack embedded on moto's server (harness.stack.Stack: the real dispatcher, and the
clear's durable execution in AWS's in-process runner).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.stack import Stack
from local.api_gateway import ApiGateway
from local.embedded_aws import EmbeddedAws
from local.pipeline_gate import PIPELINE_ROLE, PIPELINE_SESSION
from tests.cli.fleet import Fleet, Outcome

ROLE = PIPELINE_ROLE
SESSION = PIPELINE_SESSION
# Installed by `make venv` from ./cli, as a pipeline installs it: the tests run that program.
APCU_FLUSH = Path(sys.executable).with_name("apcu-flush")
# The program's pauses (polls, backoff) shortened: a wait's first poll would otherwise come
# after 2 s. Its hidden option, for tests only.
FAST = ("--pause-scale", "0.05")
PATIENCE = 60.0

Invoke = Callable[[dict[str, Any]], Any]
# Runs argv[1:] with SIGINT's default action restored; exec keeps it (execve(2)).
_SIGINT_DEFAULT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


class Front:
    """What the API front end invokes: the running test's stack's dispatcher, unless the test
    puts a stand-in before it (a throttle's 429, a function that raises). Its clock is the API's:
    a test may set it off the signer's."""

    def __init__(self) -> None:
        self.stack: Stack | None = None
        self.stand_in: Invoke | None = None
        self.skew = dt.timedelta(0)

    def __call__(self, event: dict[str, Any]) -> Any:
        return (self.stand_in or self.dispatcher)(event)

    def dispatcher(self, event: dict[str, Any]) -> dict[str, Any]:
        assert self.stack is not None, "no stack is deployed for this test"
        return self.stack.dispatch(event)

    def clock(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.skew


@dataclass
class Local:
    """One freshly deployed stack, the API in front of it, the fleet, and the pipeline's role
    session."""

    aws: EmbeddedAws
    stack: Stack
    gateway: ApiGateway
    front: Front
    fleet: Fleet
    credentials: dict[str, str]
    home: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    # What start() started: whatever still runs when the test ends is killed.
    started: list[subprocess.Popen[str]] = field(default_factory=list)

    def env(self, **overrides: str | None) -> dict[str, str]:
        """A clean environment: the caller's credentials and region, and no AWS config files."""
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(self.home),
            "AWS_CONFIG_FILE": str(self.home / "no-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.home / "no-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_REGION": self.stack.env["AWS_REGION"],
            # Kept, so that `PYTHONPATH=$PWD/cli` runs this tree's apcu_flush through the
            # installed entry point.
            **({"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}),
            **self.credentials,
            **self.extra_env,
        }
        for name, value in overrides.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def run(
        self, *args: str, env: dict[str, str] | None = None, api_url: bool = True
    ) -> subprocess.CompletedProcess[str]:
        command = [str(APCU_FLUSH), *args]
        if api_url:
            command += ["--api-url", self.gateway.url]
        return subprocess.run(
            command,
            env=env if env is not None else self.env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        """The command line in the background, for a test that acts while it waits.

        It starts with SIGINT at its default, as from a terminal, even when the tests run as a
        background job (`nohup make test &`), whose children inherit SIGINT ignored (POSIX
        exec keeps an ignored signal ignored). A small exec shim rather than preexec_fn, which
        the subprocess documentation calls unsafe in a process with threads (the servers).
        """
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _SIGINT_DEFAULT,
                str(APCU_FLUSH),
                *args,
                "--api-url",
                self.gateway.url,
            ],
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.started.append(process)
        return process

    def stop(self) -> None:
        """End what start() started and still runs (a test that failed while it waited)."""
        for process in self.started:
            if process.poll() is None:
                process.kill()
            process.communicate()

    def commands(self) -> list[dict[str, Any]]:
        """The commands SSM was sent, in the order they were sent."""
        listed: list[dict[str, Any]] = self.aws.client("ssm").list_commands()["Commands"]
        return listed

    def sent_command(self, process: subprocess.Popen[str]) -> str:
        """The command the background `clear` sent, once SSM has it."""
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline and process.poll() is None:
            if commands := self.commands():
                return str(commands[0]["CommandId"])
            time.sleep(0.05)
        process.kill()
        _, stderr = process.communicate()
        raise AssertionError(f"no command was sent; apcu-flush said: {stderr}")

    def status_read(self, process: subprocess.Popen[str]) -> None:
        """Returns once the waiting program has been answered a status read at least once."""
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline and process.poll() is None:
            if self.gateway.status_reads_answered():
                return
            time.sleep(0.05)
        raise AssertionError("apcu-flush never read the clear's status")

    def judge(self, clear_id: str, outcome: Outcome) -> str:
        """Drive the clear to its verdict: once its execution waits for SSM's notification, the
        fleet ends the command as `outcome` says, SSM notifies, and the clear judges, records,
        posts and frees the group. Its verdict."""
        self.stack.lambda_.waiting(clear_id)
        outcome(self.fleet, clear_id)
        return self.verdict(clear_id)

    def verdict(self, clear_id: str) -> str:
        """The verdict the clear's execution returned, once it ended."""
        return str(self.stack.lambda_.outcome(clear_id, timeout=PATIENCE)["verdict"])
