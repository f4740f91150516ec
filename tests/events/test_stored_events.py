"""Every stored event, run the way the README says: `sam local invoke FUNCTION -e EVENT
--env-vars events/env.json`, with the outcome the README's table gives it.

Docker is not needed: the env-vars file is loaded as SAM loads it (tests/events/sam_local.py),
the handler module is imported afresh as a container's init would, and AWS is moto, seeded with
the stack the env-vars file names. Slack is a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws
from pytest_httpserver import HTTPServer

from harness import aws_emulator, cfn_template
from local.invoke import timeout_seconds
from local.lambda_context import LocalContext
from tests.events.sam_local import declared_variables, sam_environment

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
ENV_VARS = EVENTS / "env.json"
README = ROOT / "README.md"
FUNCTIONS = {"dispatcher": "DispatcherFunction", "notifier": "NotifierFunction"}
HANDLERS = {"dispatcher": "apcu_dispatcher", "notifier": "apcu_notifier"}
WEBHOOK_PATH = "/services/T0STORED0/B0STORED0/stored-event-webhook"


def _deploy_region() -> str:
    # The events and the env-vars file describe the prod stack of samconfig.toml.
    config = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    region: str = config["prod"]["deploy"]["parameters"]["region"]
    return region


REGION = _deploy_region()


@dataclass(frozen=True)
class Documented:
    """One row of the README's table of stored events."""

    event: str
    function: str
    answer: str

    @property
    def path(self) -> Path:
        return EVENTS / self.function / self.event


def documented_events() -> list[Documented]:
    rows = []
    for line in README.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[1] in FUNCTIONS and cells[0].endswith(".json`"):
            rows.append(Documented(cells[0].strip("`"), cells[1], cells[3]))
    return rows


def _readme_invocations() -> list[str]:
    return [
        line.strip()
        for line in README.read_text(encoding="utf-8").splitlines()
        if line.strip().startswith("sam local invoke")
    ]


@contextmanager
def fresh_import(package: str) -> Iterator[ModuleType]:
    """The handler imported as a new container imports it; the test run's own copy is kept."""
    kept = {n: m for n, m in sys.modules.items() if n == package or n.startswith(package + ".")}
    for name in kept:
        del sys.modules[name]
    try:
        yield importlib.import_module(f"{package}.handler")
    finally:
        for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
            del sys.modules[name]
        sys.modules.update(kept)


@pytest.fixture
def stack(httpserver: HTTPServer) -> Iterator[dict[str, dict[str, str]]]:
    """moto holding what events/env.json names: the group, topic, role, document, secret, the
    commands table and the watchdog's schedule group."""
    names = json.loads(ENV_VARS.read_text(encoding="utf-8"))
    dispatcher, notifier = names["DispatcherFunction"], names["NotifierFunction"]
    with mock_aws():
        for group in dispatcher["ALLOWED_GROUPS"].split(","):
            aws_emulator.create_group(group.strip(), 3, region=REGION)
        boto3.client("sns", region_name=REGION).create_topic(
            Name=dispatcher["NOTIFICATION_TOPIC_ARN"].rsplit(":", 1)[-1]
        )
        boto3.client("iam", region_name=REGION).create_role(
            RoleName=dispatcher["NOTIFICATION_ROLE_ARN"].rsplit("/", 1)[-1],
            AssumeRolePolicyDocument="{}",
        )
        boto3.client("ssm", region_name=REGION).create_document(
            Name=dispatcher["DOCUMENT_NAME"],
            DocumentType="Command",
            DocumentFormat="YAML",
            Content=yaml.safe_dump(cfn_template.flush_document(), sort_keys=False),
        )
        # Secrets Manager finds a secret by its full ARN's last part, as moto does too.
        boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name=notifier["SLACK_WEBHOOK_SECRET_ARN"].rsplit(":", 1)[-1],
            SecretString=json.dumps({"url": httpserver.url_for(WEBHOOK_PATH)}),
        )
        aws_emulator.create_commands_table(notifier["COMMANDS_TABLE"], region=REGION)
        boto3.client("scheduler", region_name=REGION).create_schedule_group(
            Name=dispatcher["WATCHDOG_GROUP"]
        )
        httpserver.expect_request(WEBHOOK_PATH, method="POST").respond_with_data("ok")
        yield names


def invoke_as_sam_local(
    function: str, event_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    for name, value in sam_environment(FUNCTIONS[function], ENV_VARS, region=REGION).items():
        monkeypatch.setenv(name, value)
    event = json.loads(event_path.read_text(encoding="utf-8"))
    with fresh_import(HANDLERS[function]) as handler:
        # The template's Timeout, as Lambda gives it: the notifier checks the time left.
        context = LocalContext(
            function_name=FUNCTIONS[function], timeout_seconds=timeout_seconds(function)
        )
        result: dict[str, Any] = handler.lambda_handler(event, context)
    return result


def test_the_readme_runs_the_stored_events_with_the_env_vars_file() -> None:
    invocations = _readme_invocations()
    assert invocations, "the README shows how to try a stored event with sam local invoke"
    for line in invocations:
        assert "--env-vars events/env.json" in line, line
    assert any(
        "DispatcherFunction -e events/dispatcher/console-dry-run.json" in line
        for line in invocations
    ), "the first console test the README suggests is the dry run"


def test_every_stored_event_is_in_the_readme_table() -> None:
    stored = {f"{p.parent.name}/{p.name}" for f in FUNCTIONS for p in (EVENTS / f).glob("*.json")}
    documented = {f"{d.function}/{d.event}" for d in documented_events()}
    assert stored == documented


def test_the_env_vars_file_sets_every_variable_the_template_cannot_resolve() -> None:
    # A Ref to a resource or a GetAtt has no value before a deploy: the file must give one.
    names = json.loads(ENV_VARS.read_text(encoding="utf-8"))
    for logical_id in FUNCTIONS.values():
        unresolved = {
            name
            for name, value in declared_variables(logical_id).items()
            if isinstance(value, dict) and not _is_parameter_ref(value)
        }
        assert unresolved <= set(names[logical_id]), (logical_id, unresolved)


def _is_parameter_ref(value: dict[str, Any]) -> bool:
    parameters = cfn_template.load().get("Parameters", {})
    return "Ref" in value and "Default" in parameters.get(value["Ref"], {})


def test_without_the_env_vars_file_the_dispatcher_fails_its_configuration_check() -> None:
    # What SAM gives the function from the template alone: resource names, not ARNs.
    from apcu_dispatcher.config import Config, ConfigError

    with pytest.raises(ConfigError, match="NOTIFICATION_TOPIC_ARN"):
        Config.from_env(sam_environment("DispatcherFunction", None, region=REGION))
    Config.from_env(sam_environment("DispatcherFunction", ENV_VARS, region=REGION))


def _dispatcher_events() -> list[Documented]:
    return [d for d in documented_events() if d.function == "dispatcher"]


def _notifier_events() -> list[Documented]:
    return [d for d in documented_events() if d.function == "notifier"]


@pytest.mark.parametrize("documented", _dispatcher_events(), ids=lambda d: d.event)
def test_a_stored_dispatcher_event_gets_its_documented_answer(
    documented: Documented,
    stack: dict[str, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the stack events/env.json names, When the stored event runs as `sam local invoke`
    # runs it, Then the answer is the README's, and only a 202 sent a command.
    answer = invoke_as_sam_local("dispatcher", documented.path, monkeypatch)
    body = answer["body"] if isinstance(answer["body"], dict) else json.loads(answer["body"])
    status = int(re.findall(r"\b[2-5]\d\d\b", documented.answer)[0])
    assert answer["statusCode"] == status, body
    rules = re.findall(r"`([a-z-]+)`", documented.answer)
    if rules:
        assert body["error"]["rule"] == rules[0], body
    commands = boto3.client("ssm", region_name=REGION).list_commands()["Commands"]
    if status == 202:
        assert [c["CommandId"] for c in commands] == [body["commandId"]]
        assert commands[0]["DocumentName"] == stack["DispatcherFunction"]["DOCUMENT_NAME"]
    else:
        assert commands == [], "a refusal or a dry run sends nothing"
    if status == 200:
        assert body["dryRun"] is True


@pytest.mark.parametrize("documented", _notifier_events(), ids=lambda d: d.event)
def test_a_stored_notifier_event_posts_what_the_readme_says(
    documented: Documented,
    stack: dict[str, dict[str, str]],
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the stack events/env.json names (SSM has never heard of the stored command),
    # When the stored notification runs as `sam local invoke` runs it, Then Slack hears
    # what the README says: one message for a final status, nothing otherwise.
    result = invoke_as_sam_local("notifier", documented.path, monkeypatch)
    posted = [json.loads(request.get_data()) for request, _ in httpserver.log]
    assert len(result["outcomes"]) == 1
    if "nothing" in documented.answer:
        assert posted == []
    else:
        assert len(posted) == 1, posted
        # Trying a stored event on a real stack pages nobody: it says it was a test, and the
        # env-vars file's ALERT_MENTION is not used.
        assert result["outcomes"][0]["verdict"] == "test_event"
        assert "<!" not in json.dumps(posted[0]), posted[0]
        # events/env.json deploys MESSAGE_LANGUAGE ja, as samconfig's prod does.
        assert "テストイベント" in posted[0]["text"], posted[0]["text"]


def test_the_events_and_the_env_vars_file_use_the_region_of_samconfig() -> None:
    files = [ENV_VARS, *sorted(EVENTS.glob("*/*.json"))]
    for path in files:
        regions = set(re.findall(r"\b[a-z]{2}-[a-z]+-\d\b", path.read_text(encoding="utf-8")))
        assert regions <= {REGION}, (path.name, regions)
