"""Where apcu-flush sends its requests, for which region it signs them, and with whose
credentials; what it says when the call lacks one of them. Each request that gets through is a
dry run: signed, checked by the front end and answered by the real dispatcher, with nothing sent.
"""

from __future__ import annotations

import json
import socket

import botocore.session
import pytest

from apcu_flush.api import flush_url
from apcu_flush.aws import signing_region
from apcu_flush.exits import CliError, Exit
from harness.stack import GROUP
from tests.cli.pipeline import Local

API = "https://a1b2c3d4e5.execute-api.ap-northeast-1.amazonaws.com"
DRY_RUN = ("clear", GROUP, "--dry-run")
PLANNED = "dry run: nothing was sent"


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _stack_with_the_api(local: Local, name: str) -> None:
    """A CloudFormation stack whose ApiUrl output is the local API."""
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"ApiUrl": {"Value": local.gateway.url}},
    }
    local.aws.client("cloudformation").create_stack(
        StackName=name, TemplateBody=json.dumps(template)
    )


@pytest.mark.parametrize("given", [f"{API}/flush", f"{API}/flush/", API, f"{API}/"])
def test_the_stacks_output_or_the_apis_base_url_both_lead_to_post_flush(given: str) -> None:
    assert flush_url(given) == f"{API}/flush"


def test_a_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(CliError) as raised:
        flush_url("file:///etc/passwd")
    assert raised.value.exit is Exit.REFUSED


def test_requests_are_signed_for_the_region_the_api_lives_in() -> None:
    session = botocore.session.Session()
    session.set_config_variable("region", "us-east-1")
    assert signing_region(f"{API}/flush", session) == "ap-northeast-1"
    assert signing_region("http://127.0.0.1:8080/flush", session) == "us-east-1"


def test_the_api_url_from_the_environment(shared_local: Local) -> None:
    env = shared_local.env(APCU_FLUSH_API_URL=shared_local.gateway.url)
    completed = shared_local.run(*DRY_RUN, env=env, api_url=False)
    assert completed.returncode == 0, completed.stderr
    assert PLANNED in completed.stdout
    assert len(shared_local.gateway.events) == 1


def test_the_api_url_from_the_stacks_output(shared_local: Local) -> None:
    # Given a stack whose ApiUrl output is the local API, read with DescribeStacks (signed),
    _stack_with_the_api(shared_local, "apcu-fleet-flush-local")
    env = shared_local.env(AWS_ENDPOINT_URL=shared_local.aws.endpoint)
    stack = ("--stack", "apcu-fleet-flush-local")
    completed = shared_local.run(*DRY_RUN, *stack, env=env, api_url=False)
    assert completed.returncode == 0, completed.stderr
    assert PLANNED in completed.stdout
    assert len(shared_local.gateway.events) == 1
    missing = shared_local.run(*DRY_RUN, "--stack", "no-such-stack", env=env, api_url=False)
    assert missing.returncode == 2
    assert "stack no-such-stack" in missing.stderr


def test_a_stack_to_read_without_a_region_exits_2_naming_the_option_and_the_variable(
    shared_local: Local,
) -> None:
    # Given a stack whose ApiUrl output is the local API, and no region configured
    _stack_with_the_api(shared_local, "apcu-fleet-flush-no-region")
    env = shared_local.env(
        AWS_ENDPOINT_URL=shared_local.aws.endpoint, AWS_REGION=None, AWS_DEFAULT_REGION=None
    )
    stack = ("--stack", "apcu-fleet-flush-no-region")
    completed = shared_local.run(*DRY_RUN, *stack, env=env, api_url=False)
    # Then the call is wrong (2), not "retry later" (4), and the message says how to fix it,
    # in the command line's words rather than botocore's
    assert completed.returncode == 2, completed.stderr
    assert "no AWS region to read stack apcu-fleet-flush-no-region" in completed.stderr
    assert "--region" in completed.stderr and "AWS_REGION" in completed.stderr
    assert "You must specify a region" not in completed.stderr
    assert shared_local.gateway.events == []
    # And the option it names is the fix
    fixed = shared_local.run(*DRY_RUN, *stack, "--region", "us-east-1", env=env, api_url=False)
    assert fixed.returncode == 0, fixed.stderr
    assert PLANNED in fixed.stdout


def test_no_region_to_sign_for_exits_2_and_names_the_fix(shared_local: Local) -> None:
    # Given a URL that names no region (not an execute-api host) and no region configured,
    env = shared_local.env(AWS_REGION=None, AWS_DEFAULT_REGION=None)
    completed = shared_local.run(*DRY_RUN, env=env)
    # Then it is the caller's to fix, not a "retry later": exit 2, saying how.
    assert completed.returncode == 2, completed.stderr
    assert "no AWS region to sign for" in completed.stderr
    assert "--region" in completed.stderr
    assert "AWS_REGION" in completed.stderr
    assert shared_local.gateway.events == []
    with_flag = shared_local.run(*DRY_RUN, "--region", "us-east-1", env=env)
    assert with_flag.returncode == 0, with_flag.stderr
    assert PLANNED in with_flag.stdout


@pytest.mark.parametrize(
    "url",
    [
        "notaurl",
        "https://",
        "execute-api.us-east-1.amazonaws.com/flush",
        "http://127.0.0.1:80x/flush",
    ],
)
def test_a_url_that_is_not_one_exits_2_and_says_so(shared_local: Local, url: str) -> None:
    # With no region configured either: the URL is the mistake to name, not the region.
    env = shared_local.env(AWS_REGION=None, AWS_DEFAULT_REGION=None)
    completed = shared_local.run("clear", GROUP, "--api-url", url, env=env, api_url=False)
    assert completed.returncode == 2, completed.stderr
    assert f"the API URL {url!r} is not a URL" in completed.stderr
    assert "ApiUrl output" in completed.stderr
    assert "region" not in completed.stderr
    assert shared_local.gateway.events == []


def test_no_api_url_exits_2_and_says_where_to_find_one(shared_local: Local) -> None:
    completed = shared_local.run("clear", GROUP, api_url=False)
    assert completed.returncode == 2
    assert "--api-url" in completed.stderr
    assert "APCU_FLUSH_API_URL" in completed.stderr


def test_no_api_url_is_said_before_missing_credentials(shared_local: Local) -> None:
    # Given neither an API URL nor credentials (nor a region): the URL is the first to fix
    env = shared_local.env(
        AWS_ACCESS_KEY_ID=None,
        AWS_SECRET_ACCESS_KEY=None,
        AWS_SESSION_TOKEN=None,
        AWS_REGION=None,
    )
    completed = shared_local.run("clear", GROUP, env=env, api_url=False)
    # Then it is the one said, with its exit code: the call is wrong
    assert completed.returncode == 2, completed.stderr
    assert completed.stderr.startswith("apcu-flush: no API URL: pass --api-url URL")
    assert "credentials" not in completed.stderr
    assert "region" not in completed.stderr


def test_no_credentials_exit_4(shared_local: Local) -> None:
    env = shared_local.env(
        AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None, AWS_SESSION_TOKEN=None
    )
    completed = shared_local.run("clear", GROUP, env=env)
    assert completed.returncode == 4
    assert "no AWS credentials found" in completed.stderr
    assert shared_local.gateway.events == []


def test_a_named_profile_signs_and_an_unknown_one_exits_4(shared_local: Local) -> None:
    # Given the pipeline's keys in a shared credentials file, under a profile name,
    keys = shared_local.credentials
    credentials = shared_local.home / "credentials"
    credentials.write_text(
        "[deploy]\n"
        f"aws_access_key_id = {keys['AWS_ACCESS_KEY_ID']}\n"
        f"aws_secret_access_key = {keys['AWS_SECRET_ACCESS_KEY']}\n"
        f"aws_session_token = {keys['AWS_SESSION_TOKEN']}\n",
        encoding="utf-8",
    )
    env = shared_local.env(
        AWS_ACCESS_KEY_ID=None,
        AWS_SECRET_ACCESS_KEY=None,
        AWS_SESSION_TOKEN=None,
        AWS_SHARED_CREDENTIALS_FILE=str(credentials),
    )
    completed = shared_local.run(*DRY_RUN, "--profile", "deploy", env=env)
    assert completed.returncode == 0, completed.stderr
    assert PLANNED in completed.stdout
    iam = shared_local.gateway.events[0]["requestContext"]["authorizer"]["iam"]
    assert iam["accessKey"] == keys["AWS_ACCESS_KEY_ID"]
    unknown = shared_local.run(*DRY_RUN, "--profile", "nobody", env=env)
    assert unknown.returncode == 4
    assert "nobody" in unknown.stderr


def test_an_unreachable_api_exits_4(shared_local: Local) -> None:
    url = f"http://127.0.0.1:{closed_port()}/flush"
    completed = shared_local.run("clear", GROUP, "--api-url", url, api_url=False)
    assert completed.returncode == 4
    assert f"could not reach {url}" in completed.stderr
