"""`apcu-flush clear`, the installed program, against the local API and the real dispatcher."""

from __future__ import annotations

import json
import socket

import pytest

from harness import aws_emulator as emulator
from harness.aws_emulator import InvocationResult
from tests.cli.conftest import GROUP, ROLE, SESSION, Local


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_clear_exits_0_and_names_the_command(local: Local) -> None:
    # Given a deployed stack, When a pipeline clears the group without waiting,
    completed = local.run("clear", GROUP, "--comment", "release 2026.11.29")
    # Then it exits 0, names the command, and the command really went out.
    assert completed.returncode == 0, completed.stderr
    commands = local.commands()
    assert len(commands) == 1
    assert commands[0]["CommandId"] in completed.stdout
    assert f"group {GROUP}" in completed.stdout


def test_the_requester_is_the_signing_identity(local: Local) -> None:
    # The caller names nothing: the Comment says who signed, as API Gateway saw it.
    completed = local.run("clear", GROUP, "--comment", "data fix")
    assert completed.returncode == 0, completed.stderr
    assert local.commands()[0]["Comment"] == f"{ROLE}/{SESSION}: data fix"
    iam = local.gateway.events[0]["requestContext"]["authorizer"]["iam"]
    assert iam["userArn"] == f"arn:aws:sts::123456789012:assumed-role/{ROLE}/{SESSION}"
    assert iam["accessKey"] == local.credentials["AWS_ACCESS_KEY_ID"]


def test_json_prints_only_the_answer(local: Local) -> None:
    completed = local.run("clear", GROUP, "--prefix", "config:", "--json")
    assert completed.returncode == 0, completed.stderr
    answer = json.loads(completed.stdout)
    assert answer["commandId"] == local.commands()[0]["CommandId"]
    assert answer["prefix"] == "config:"
    assert completed.stderr == ""


def test_dry_run_sends_nothing(local: Local) -> None:
    completed = local.run("clear", GROUP, "--dry-run", "--wait")
    assert completed.returncode == 0, completed.stderr
    assert "dry run: nothing was sent" in completed.stdout
    assert "3 InService of 3 desired" in completed.stdout
    assert local.commands() == []


def test_the_text_dry_run_shows_the_exact_sendcommand(local: Local) -> None:
    # The reviewer of a dry run reads the request the dispatcher would send, as --json has it.
    answer = json.loads(
        local.run("clear", GROUP, "--prefix", "config:", "--dry-run", "--json").stdout
    )
    text = local.run("clear", GROUP, "--prefix", "config:", "--dry-run").stdout.splitlines()
    start = text.index("  it would send this SendCommand request:") + 1
    shown = json.loads("\n".join(line.removeprefix("    ") for line in text[start:]))
    assert shown == answer["wouldSend"]
    assert shown["Parameters"] == {"action": ["clear-apcu"], "prefix": ["config:"]}
    assert local.commands() == []


def test_a_bad_request_exits_2_with_the_apis_reason(local: Local) -> None:
    # Given a prefix the API's rule refuses, Then exit 2, the reason printed, nothing sent.
    completed = local.run("clear", GROUP, "--prefix", "a b;rm -rf /", "--wait")
    assert completed.returncode == 2
    assert "refused (400, prefix)" in completed.stderr
    assert local.commands() == []


def test_a_group_with_nothing_to_clear_exits_2_with_the_409(local: Local) -> None:
    local.aws.client("autoscaling").update_auto_scaling_group(
        AutoScalingGroupName=GROUP, MinSize=0, DesiredCapacity=0
    )
    completed = local.run("clear", GROUP, "--wait")
    assert completed.returncode == 2
    assert "refused (409, group)" in completed.stderr
    assert "no InService instance" in completed.stderr
    assert local.commands() == []


def test_a_409_names_the_running_command(local: Local) -> None:
    # Given a clear of the group still running (one clear per group at a time),
    first = local.run("clear", GROUP, "--json")
    assert first.returncode == 0, first.stderr
    running = json.loads(first.stdout)["commandId"]
    targets = emulator.targeted_instances(running)
    emulator.settle_command(
        running, {i: InvocationResult("InProgress") for i in targets}, status="InProgress"
    )
    # When a second pipeline clears it, Then exit 2, naming the running command.
    completed = local.run("clear", GROUP, "--wait")
    assert completed.returncode == 2
    assert "refused (409" in completed.stderr
    assert f"running command: {running} requested " in completed.stderr
    assert f"apcu-flush status {running} --wait" in completed.stderr
    assert len(local.commands()) == 1


def test_no_credentials_exit_4(local: Local) -> None:
    env = local.env(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None, AWS_SESSION_TOKEN=None)
    completed = local.run("clear", GROUP, env=env)
    assert completed.returncode == 4
    assert "no AWS credentials found" in completed.stderr
    assert local.gateway.events == []


def test_an_unreachable_api_exits_4(local: Local) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/flush"
    completed = local.run("clear", GROUP, "--api-url", url, api_url=False)
    assert completed.returncode == 4
    assert f"could not reach {url}" in completed.stderr


def test_a_server_error_exits_4(local: Local) -> None:
    # Given a dispatcher that cannot reach AWS (it raises, so API Gateway answers 500),
    local.function.env["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{_closed_port()}"
    completed = local.run("clear", GROUP, "--json")
    # Then exit 4 and the 500 is what --json prints.
    assert completed.returncode == 4
    assert json.loads(completed.stdout) == {"message": "Internal Server Error"}


def test_no_api_url_exits_2_and_says_where_to_find_one(local: Local) -> None:
    completed = local.run("clear", GROUP, api_url=False)
    assert completed.returncode == 2
    assert "--api-url" in completed.stderr
    assert "APCU_FLUSH_API_URL" in completed.stderr


def test_no_api_url_is_said_before_missing_credentials(local: Local) -> None:
    # Given neither an API URL nor credentials (nor a region): the URL is the first to fix
    env = local.env(
        AWS_ACCESS_KEY_ID=None,
        AWS_SECRET_ACCESS_KEY=None,
        AWS_SESSION_TOKEN=None,
        AWS_REGION=None,
    )
    completed = local.run("clear", GROUP, env=env, api_url=False)
    # Then it is the one said, with its exit code: the call is wrong
    assert completed.returncode == 2, completed.stderr
    assert completed.stderr.startswith("apcu-flush: no API URL: pass --api-url URL")
    assert "credentials" not in completed.stderr
    assert "region" not in completed.stderr


def test_a_stack_to_read_without_a_region_exits_2_naming_the_option_and_the_variable(
    local: Local,
) -> None:
    # Given a stack whose ApiUrl output is the local API, and no region configured
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"ApiUrl": {"Value": local.gateway.url}},
    }
    local.aws.client("cloudformation").create_stack(
        StackName="apcu-fleet-flush-local", TemplateBody=json.dumps(template)
    )
    env = local.env(AWS_ENDPOINT_URL=local.aws.endpoint, AWS_REGION=None, AWS_DEFAULT_REGION=None)
    stack = ("--stack", "apcu-fleet-flush-local")
    completed = local.run("clear", GROUP, *stack, env=env, api_url=False)
    # Then the call is wrong (2), not "retry later" (4), and the message says how to fix it,
    # in the command line's words rather than botocore's
    assert completed.returncode == 2, completed.stderr
    assert "no AWS region to read stack apcu-fleet-flush-local" in completed.stderr
    assert "--region" in completed.stderr and "AWS_REGION" in completed.stderr
    assert "You must specify a region" not in completed.stderr
    assert local.commands() == [] and local.gateway.events == []
    # And the option it names is the fix
    fixed = local.run("clear", GROUP, *stack, "--region", "us-east-1", env=env, api_url=False)
    assert fixed.returncode == 0, fixed.stderr
    assert len(local.commands()) == 1


@pytest.mark.parametrize(
    "url",
    [
        "notaurl",
        "https://",
        "execute-api.us-east-1.amazonaws.com/flush",
        "http://127.0.0.1:80x/flush",
    ],
)
def test_a_url_that_is_not_one_exits_2_and_says_so(local: Local, url: str) -> None:
    # With no region configured either: the URL is the mistake to name, not the region.
    env = local.env(AWS_REGION=None, AWS_DEFAULT_REGION=None)
    completed = local.run("clear", GROUP, "--api-url", url, env=env, api_url=False)
    assert completed.returncode == 2, completed.stderr
    assert f"the API URL {url!r} is not a URL" in completed.stderr
    assert "ApiUrl output" in completed.stderr
    assert "region" not in completed.stderr
    assert local.gateway.events == []


def test_no_region_to_sign_for_exits_2_and_names_the_fix(local: Local) -> None:
    # Given a URL that names no region (not an execute-api host) and no region configured,
    env = local.env(AWS_REGION=None, AWS_DEFAULT_REGION=None)
    completed = local.run("clear", GROUP, env=env)
    # Then it is the caller's to fix, not a "retry later": exit 2, saying how.
    assert completed.returncode == 2, completed.stderr
    assert "no AWS region to sign for" in completed.stderr
    assert "--region" in completed.stderr
    assert "AWS_REGION" in completed.stderr
    assert local.gateway.events == []
    with_flag = local.run("clear", GROUP, "--region", "us-east-1", env=env)
    assert with_flag.returncode == 0, with_flag.stderr


def test_the_api_url_from_the_environment(local: Local) -> None:
    env = local.env(APCU_FLUSH_API_URL=local.gateway.url)
    completed = local.run("clear", GROUP, env=env, api_url=False)
    assert completed.returncode == 0, completed.stderr
    assert len(local.commands()) == 1


def test_the_api_url_from_the_stacks_output(local: Local) -> None:
    # Given a stack whose ApiUrl output is the local API, read with DescribeStacks (signed),
    template = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"ApiUrl": {"Value": local.gateway.url}},
    }
    local.aws.client("cloudformation").create_stack(
        StackName="apcu-fleet-flush-local", TemplateBody=json.dumps(template)
    )
    env = local.env(AWS_ENDPOINT_URL=local.aws.endpoint)
    completed = local.run(
        "clear", GROUP, "--stack", "apcu-fleet-flush-local", env=env, api_url=False
    )
    assert completed.returncode == 0, completed.stderr
    assert len(local.commands()) == 1
    missing = local.run("clear", GROUP, "--stack", "no-such-stack", env=env, api_url=False)
    assert missing.returncode == 2
    assert "stack no-such-stack" in missing.stderr


def test_a_named_profile_signs_and_an_unknown_one_exits_4(local: Local) -> None:
    # Given the pipeline's keys in a shared credentials file, under a profile name,
    keys = local.credentials
    credentials = local.home / "credentials"
    credentials.write_text(
        "[deploy]\n"
        f"aws_access_key_id = {keys['AWS_ACCESS_KEY_ID']}\n"
        f"aws_secret_access_key = {keys['AWS_SECRET_ACCESS_KEY']}\n"
        f"aws_session_token = {keys['AWS_SESSION_TOKEN']}\n",
        encoding="utf-8",
    )
    env = local.env(
        AWS_ACCESS_KEY_ID=None,
        AWS_SECRET_ACCESS_KEY=None,
        AWS_SESSION_TOKEN=None,
        AWS_SHARED_CREDENTIALS_FILE=str(credentials),
    )
    completed = local.run("clear", GROUP, "--profile", "deploy", env=env)
    assert completed.returncode == 0, completed.stderr
    assert len(local.commands()) == 1
    unknown = local.run("clear", GROUP, "--profile", "nobody", env=env)
    assert unknown.returncode == 4
    assert "nobody" in unknown.stderr


def test_clear_all_sends_both_caches_in_one_command(local: Local) -> None:
    completed = local.run("clear", GROUP, "--action", "clear-all", "--prefix", "config:", "--json")
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["action"] == "clear-all"
    [command] = local.commands()
    assert command["Parameters"] == {"action": ["clear-all"], "prefix": ["config:"]}


def test_reset_opcache_with_a_prefix_exits_2_before_anything_is_sent(local: Local) -> None:
    # No credentials at all: the refusal comes before any signing or request
    env = local.env(AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None, AWS_SESSION_TOKEN=None)
    completed = local.run(
        "clear", GROUP, "--action", "reset-opcache", "--prefix", "config:", env=env
    )
    assert completed.returncode == 2
    assert completed.stderr.startswith(
        "apcu-flush: prefix applies to APCu keys only, and OPcache has no key prefixes"
    )
    assert local.commands() == [] and local.gateway.events == []


def test_the_command_line_refuses_a_prefix_in_the_dispatchers_words() -> None:
    from apcu_dispatcher.validation import ACTIONS, PREFIX_WITH_OPCACHE
    from apcu_flush import cli

    assert cli.PREFIX_WITH_OPCACHE == PREFIX_WITH_OPCACHE
    assert set(cli.ACTIONS) == ACTIONS


def test_an_unknown_action_exits_2(local: Local) -> None:
    completed = local.run("clear", GROUP, "--action", "flush-everything")
    assert completed.returncode == 2
    assert "invalid choice: 'flush-everything'" in completed.stderr
    assert local.commands() == []
