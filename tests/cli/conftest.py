"""The local API for the command line: moto's server, a Slack receiver and the SigV4 front
end on 127.0.0.1, with the real dispatcher behind it; and the installed `apcu-flush`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from local.api_gateway import ApiGateway, in_fresh_process
from local.embedded_aws import REGION, EmbeddedAws, Stack
from local.pipeline_gate import PIPELINE_ROLE, PIPELINE_SESSION, pipeline_credentials
from local.run import function_env
from local.slack_receiver import SlackReceiver

GROUP = "web-prod"
GROUP_SIZE = 3
ROLE = PIPELINE_ROLE
SESSION = PIPELINE_SESSION
# Installed by `make venv` from ./cli, as a pipeline installs it: the tests run that program.
APCU_FLUSH = Path(sys.executable).with_name("apcu-flush")

Invoke = Callable[[dict[str, Any]], dict[str, Any]]
# Runs argv[1:] with SIGINT's default action restored; exec keeps it (execve(2)).
_SIGINT_DEFAULT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


class Function:
    """What the front end invokes: the real dispatcher in a fresh process, or a test's stand-in."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.env: dict[str, str] = {}
        self.stand_in: Invoke | None = None

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        if self.stand_in is not None:
            return self.stand_in(event)
        return self.dispatcher(event)

    def dispatcher(self, event: dict[str, Any]) -> dict[str, Any]:
        return in_fresh_process(self.env, self.log)(event)


@dataclass
class Servers:
    aws: EmbeddedAws
    slack: SlackReceiver
    gateway: ApiGateway
    function: Function


@dataclass
class Local:
    """One freshly deployed stack, the front end's URL, and the pipeline's role session."""

    servers: Servers
    stack: Stack
    credentials: dict[str, str]
    home: Path
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def aws(self) -> EmbeddedAws:
        return self.servers.aws

    @property
    def gateway(self) -> ApiGateway:
        return self.servers.gateway

    @property
    def function(self) -> Function:
        return self.servers.function

    def env(self, **overrides: str | None) -> dict[str, str]:
        """A clean environment: the caller's credentials and region, and no AWS config files."""
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(self.home),
            "AWS_CONFIG_FILE": str(self.home / "no-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.home / "no-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_REGION": REGION,
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
        return subprocess.Popen(
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

    def commands(self) -> list[dict[str, Any]]:
        listed: list[dict[str, Any]] = self.aws.client("ssm").list_commands()["Commands"]
        return listed


@pytest.fixture(scope="session")
def apcu_flush() -> Path:
    assert APCU_FLUSH.exists(), (
        f"{APCU_FLUSH} is not installed: run `make venv` (pip install ./cli)"
    )
    return APCU_FLUSH


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    saved = dict(os.environ)
    function = Function(tmp_path_factory.mktemp("dispatcher") / "dispatcher.log")
    try:
        with (
            EmbeddedAws() as aws,
            SlackReceiver() as slack,
            ApiGateway(function, region=REGION) as gateway,
        ):
            yield Servers(aws, slack, gateway, function)
    finally:
        # EmbeddedAws points this process at moto's server; the other tests use mock_aws.
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture
def local(servers: Servers, apcu_flush: Path, tmp_path: Path) -> Local:
    aws = servers.aws
    aws.reset()
    servers.slack.payloads.clear()
    servers.gateway.events.clear()
    stack = aws.deploy(group=GROUP, size=GROUP_SIZE, webhook_url=servers.slack.url)
    servers.function.env = function_env(aws, stack, "dispatcher", "en")
    servers.function.stand_in = None
    # The pipeline's identity: a role session, as OIDC federation gives a CI job.
    credentials = pipeline_credentials(aws)
    return Local(servers, stack, credentials, tmp_path)
