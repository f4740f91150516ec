"""Fixtures and rules every test shares."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

# Fake credentials and a fixed region before anything builds a boto3 client, so that nothing
# can ever sign a request to a real account. AWS_ENDPOINT_URL is dropped: the tests use
# mock_aws, and only the local run points boto3 at moto's server.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "ApcuFleetFlush",
        "POWERTOOLS_DEV": "false",
        # moto rebuilds its EC2 backend at every mock_aws start and stop, and by default loads
        # its catalogue of public AMIs each time: 0.27 s, twice a test, a third of a dispatcher
        # test's time. No code here reads an AMI (instances without one get moto's defaults,
        # and AMI validation is off), so the tests skip the catalogue (moto/settings.py).
        "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
    }
)
for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
    os.environ.pop(name, None)

import functools  # noqa: E402

import botocore.loaders  # noqa: E402
import botocore.session  # noqa: E402

# Every boto3.Session a test builds (each notifier runtime, each dispatcher's clients) has a
# botocore loader of its own, which parses the service models' JSON again: 8 of 30 s in the
# dispatcher's tests. One loader for the whole run parses each model once; a function in a
# fresh process (Lambda's cold start, the demo, the bench) still loads its own.
botocore.session.create_loader = functools.cache(botocore.loaders.create_loader)

from harness import aws_emulator, stack  # noqa: E402  (after the credentials above)
from harness.slack_web_api import SlackWebApi  # noqa: E402

# Both functions read their configuration when imported, as at a Lambda init: the stack's
# variables are there first. harness.stack.Stack gives them the resources' real ARNs.
os.environ.update(stack.environment())

import socket  # noqa: E402

from moto import mock_aws  # noqa: E402

# Tests talk to 127.0.0.1 only: moto in-process, the Slack stand-in, the web node. A name or an
# address elsewhere (a real AWS endpoint reached by a clear outliving its test's mock, a Slack
# URL) is refused before any packet leaves, DNS query included, and the test that asked fails.
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_getaddrinfo = socket.getaddrinfo


def _loopback_only(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else host
    if name is not None and str(name) not in _LOOPBACK:
        raise OSError(f"tests reach 127.0.0.1 only; refused a connection to {name!r}")
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _loopback_only


@pytest.fixture(autouse=True)
def _fresh_emulator() -> Iterator[None]:
    aws_emulator.reset()
    yield
    aws_emulator.reset()


@pytest.fixture(scope="module")
def slack_server() -> Iterator[SlackWebApi]:
    """One Slack stand-in for a module's tests (each test gets it reset: `slack`)."""
    with SlackWebApi() as api:
        yield api


@pytest.fixture
def slack(slack_server: SlackWebApi) -> SlackWebApi:
    """The Slack stand-in on 127.0.0.1, with nothing posted yet: the bot token, signing secret
    and channel are harness.slack_web_api's BOT_TOKEN, SIGNING_SECRET and CHANNEL."""
    slack_server.reset()
    return slack_server


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def deployed(aws: None, slack: SlackWebApi) -> Iterator[stack.Stack]:
    """The stack with its defaults, webhook mode, a group of 3 InService instances."""
    with stack.Stack(slack) as deployed:
        yield deployed


# Modules whose tests share files outside tmp_path: `local.run` writes local/out/.
_SHARED_FILES = {
    "tests/local/test_demo.py": "local-out",
    "tests/local/test_demo_output.py": "local-out",
}
# A session-scoped fixture of ours only looks a program up; what a test module starts for all
# its tests is module-scoped.
_SHARED_SCOPES = {"module", "package"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`make pytest` spreads the tests over workers (pytest-xdist, `--dist loadgroup`). A module
    whose tests share a module-scoped fixture (a started web node, moto's server, the every-
    scenario demo run) stays on one worker: the fixture starts once, and its tests run in the
    order they are written, as without workers. Every other test goes wherever a worker is free.
    """
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        path = item.path.relative_to(config.rootpath).as_posix()
        group = _SHARED_FILES.get(path)
        if group is None and _shares_a_fixture(item):
            group = path
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


def _shares_a_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(
        definition.scope in _SHARED_SCOPES and definition.baseid.startswith("tests/")
        for definitions in info.name2fixturedefs.values()
        for definition in definitions
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a skipped test is a failed run: install the tool instead of skipping. With
    workers, each worker's reports reach the controller's terminal reporter, so the controller
    counts every skip; a worker counts only its own and decides nothing."""
    if not os.environ.get("CI") or hasattr(session.config, "workerinput"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped and session.exitstatus == 0:
        print(f"\nCI: {skipped} test(s) skipped; a skipped test fails the run.")
        session.exitstatus = 1
