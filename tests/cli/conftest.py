"""The local API for the command line: the SigV4 front end on 127.0.0.1 (one per test process)
in front of the stack on moto's server, with the real dispatcher and the clear's durable
execution behind it; and the installed `apcu-flush`.

`local` deploys the stack afresh for each test, on a moto server of its own (moto's server keeps
the Lambda routes of the first durable runner it served: local/embedded_aws.py); it starts and
stops in a fraction of a second. `shared_local` is one deployment for a module whose tests leave
nothing behind: dry runs, and requests the program, the front end or the API refuse.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from harness import aws_emulator
from harness.slack_web_api import SlackWebApi
from harness.stack import Stack
from local.api_gateway import ApiGateway
from local.embedded_aws import REGION, EmbeddedAws
from local.pipeline_gate import pipeline_credentials
from tests.cli.fleet import Fleet
from tests.cli.pipeline import APCU_FLUSH, Front, Local


@pytest.fixture(scope="session")
def apcu_flush() -> Path:
    assert APCU_FLUSH.exists(), (
        f"{APCU_FLUSH} is not installed: run `make venv` (pip install ./cli)"
    )
    return APCU_FLUSH


@pytest.fixture(scope="session")
def front() -> Front:
    return Front()


@pytest.fixture(scope="session")
def gateway(front: Front) -> Iterator[ApiGateway]:
    with ApiGateway(front, region=REGION, clock=front.clock) as api:
        yield api


@contextmanager
def _deployed(gateway: ApiGateway, front: Front, slack: SlackWebApi, home: Path) -> Iterator[Local]:
    """The stack with its defaults (webhook mode, a group of 3 InService instances) behind the
    front end, the fleet answering its commands, and the pipeline's role session."""
    with (
        EmbeddedAws() as aws,
        Stack(slack, endpoint_url=aws.endpoint) as stack,
    ):
        fleet = Fleet()
        aws_emulator.fleet_answers(fleet)
        front.stack = stack
        # The pipeline's identity: a role session, as OIDC federation gives a CI job.
        credentials = pipeline_credentials(aws)
        local = Local(aws, stack, gateway, front, fleet, credentials, home)
        try:
            yield local
        finally:
            local.stop()
            front.stack = None


def _fresh(local: Local) -> Local:
    """What one test may have changed in front of the stack, undone for the next."""
    local.gateway.events.clear()
    local.gateway.answered.clear()
    local.front.stand_in, local.front.skew = None, dt.timedelta(0)
    return local


@pytest.fixture
def local(
    gateway: ApiGateway, front: Front, slack: SlackWebApi, apcu_flush: Path, tmp_path: Path
) -> Iterator[Local]:
    """The stack deployed for this test alone."""
    with _deployed(gateway, front, slack, tmp_path) as deployed:
        yield _fresh(deployed)


@pytest.fixture(scope="module")
def _shared_deployment(
    gateway: ApiGateway,
    front: Front,
    slack_server: SlackWebApi,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Local]:
    with _deployed(gateway, front, slack_server, tmp_path_factory.mktemp("home")) as deployed:
        yield deployed


@pytest.fixture
def shared_local(_shared_deployment: Local, apcu_flush: Path) -> Iterator[Local]:
    """The module's one deployment, for tests that send nothing to the fleet."""
    yield _fresh(_shared_deployment)
    assert _shared_deployment.commands() == [], "a test of a shared deployment sent a command"
