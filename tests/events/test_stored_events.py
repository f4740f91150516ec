"""Every stored event does what its name says and what the README's table says.

The dispatcher's events run the way the README says: `sam local invoke DispatcherFunction -e
EVENT --env-vars events/env.json`. Docker is not needed: the env-vars file is loaded as SAM loads
it (tests/events/sam_local.py), the handler module is imported afresh as a container's init
would, and AWS is moto, seeded with the stack the env-vars file names. The notifier is a durable
function, which runs only under Lambda's durable service: its stored notifications are delivered
to it as SNS delivers them, in the embedded stack (harness.stack).
"""

from __future__ import annotations

import base64
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
from urllib.parse import parse_qs

import boto3
import pytest
import yaml
from moto import mock_aws

from harness import aws_emulator, cfn_template
from harness.slack_web_api import SlackWebApi
from harness.stack import Stack
from local.lambda_context import LocalContext
from tests.events.sam_local import declared_variables, sam_environment

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
ENV_VARS = EVENTS / "env.json"
README = ROOT / "README.md"
FUNCTIONS = {"dispatcher": "DispatcherFunction", "notifier": "NotifierFunction"}
# The dispatcher's entry point (template.yaml: CodeUri src/dispatcher, Handler app.lambda_handler).
DISPATCHER = "apcu_dispatcher"


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
    what: str
    answer: str

    @property
    def path(self) -> Path:
        return EVENTS / self.function / self.event


def documented_events() -> list[Documented]:
    rows = []
    for line in README.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[1] in FUNCTIONS and cells[0].endswith(".json`"):
            rows.append(Documented(cells[0].strip("`"), cells[1], cells[2], cells[3]))
    return rows


def stored(function: str) -> list[str]:
    return sorted(p.name for p in (EVENTS / function).glob("*.json"))


def load(name: str, function: str = "dispatcher") -> Any:
    return json.loads((EVENTS / function / name).read_text(encoding="utf-8"))


# --- what a dispatcher event's name says ------------------------------------------------------

# The actions, as a name says them; a name that says none clears APCu (clear-apcu).
NAMED_ACTIONS = ("reset-opcache", "clear-all", "clear-apcu")
# The refusals a name says, and the field and rule of each.
NAMED_REFUSALS = {
    "reset-opcache-prefix": ("prefix", "not-with-action"),
    "bad-prefix": ("prefix", "pattern"),
    "bad-json": ("body", "json"),
    "extra-field": ("commands", "unknown-field"),
    "unknown-group": ("group", "allowed-groups"),
}
ROUTES = {
    "api-clear": "POST /flush",
    "api-bad-json": "POST /flush",
    "api-status": "GET /flush/{commandId}",
    "api-retry": "POST /flush/{commandId}/retry",
    "slack-press-retry": "POST /slack/actions",
}


@dataclass(frozen=True)
class Named:
    """What a stored dispatcher event's name says it is, and so the answer it gets."""

    status: int
    rule: str | None = None
    field: str | None = None
    action: str | None = None


def named(name: str) -> Named:
    stem = name.removesuffix(".json")
    for words, (field, rule) in NAMED_REFUSALS.items():
        if stem.endswith(words):
            return Named(400, rule, field)
    if stem in ("api-status", "api-retry"):
        # A command of the stored examples, which this stack never sent.
        return Named(404, "unknown-command", "commandId")
    if stem.startswith("slack-"):
        # events/env.json deploys webhook mode, where the route reads nothing.
        return Named(404, "slack-app-off")
    if stem.startswith("warm-pool-"):
        return Named(202, action="clear-apcu")
    action = next((a for a in NAMED_ACTIONS if a in stem), "clear-apcu")
    return Named(200 if "dry-run" in stem else 202, action=action)


def request_of(name: str) -> dict[str, Any] | None:
    """The clear a console event or a POST /flush asks for: its body; None for other events."""
    event = load(name)
    if name.startswith("console-"):
        assert isinstance(event, dict)
        return event
    if event.get("routeKey") == "POST /flush":
        try:
            body: dict[str, Any] = json.loads(event["body"])
        except ValueError:
            return None
        return body
    return None


@pytest.mark.parametrize("name", stored("dispatcher"))
def test_a_dispatcher_events_name_says_what_it_is(name: str) -> None:
    stem = name.removesuffix(".json")
    event = load(name)
    expected = named(name)
    request = request_of(name)
    if request is not None:
        assert request.get("action") == (expected.action or request.get("action")), (
            f"{name} says {expected.action}, its action is {request.get('action')}"
        )
        for action in NAMED_ACTIONS:
            if action in stem:
                assert request.get("action") == action, f"{name} is not a {action}"
        assert ("prefix" in stem) <= ("prefix" in request), f"{name} has no prefix"
        assert ("dry-run" in stem) == (request.get("dryRun") is True), name
    if stem.startswith("api-") or stem.startswith("slack-"):
        assert event["routeKey"] == ROUTES[stem], name
    if stem.startswith("slack-press-"):
        form = parse_qs(base64.b64decode(event["body"]).decode())
        payload = json.loads(form["payload"][0])
        [action] = payload["actions"]
        assert payload["type"] == "block_actions"
        assert (action["block_id"], action["action_id"]) == ("apcu_retry", stem.rsplit("-", 1)[1])
    if stem == "warm-pool-exit":
        assert event["detail-type"] == "EC2 Instance Launch Successful"
        assert (event["detail"]["Origin"], event["detail"]["Destination"]) == (
            "WarmPool",
            "AutoScalingGroup",
        )
    if stem == "warm-pool-lifecycle-hook":
        assert event["detail-type"] == "EC2 Instance-launch Lifecycle Action"
        assert event["detail"]["LifecycleHookName"] == "apcu-fleet-flush-warm-pool"
        assert event["detail"]["Origin"] == "WarmPool"


def test_no_two_console_events_clear_alike() -> None:
    # Each console event that clears, clears in its own way: a second one would only confuse.
    seen: dict[str, str] = {}
    for name in stored("dispatcher"):
        request = request_of(name) if name.startswith("console-") else None
        if request is None or named(name).status >= 400:
            continue
        key = json.dumps({k: v for k, v in request.items() if k != "comment"}, sort_keys=True)
        assert key not in seen, f"{name} asks what {seen.get(key)} asks"
        seen[key] = name


# --- the README -------------------------------------------------------------------------------


def test_every_stored_event_is_in_the_readme_table() -> None:
    on_disk = {f"{function}/{name}" for function in FUNCTIONS for name in stored(function)}
    documented = {f"{d.function}/{d.event}" for d in documented_events()}
    assert on_disk == documented


@pytest.mark.parametrize(
    "documented",
    [d for d in documented_events() if d.function == "dispatcher"],
    ids=lambda d: d.event,
)
def test_the_readme_gives_each_dispatcher_event_the_answer_its_name_says(
    documented: Documented,
) -> None:
    expected = named(documented.event)
    statuses = re.findall(r"\b[2-5]\d\d\b", documented.answer)
    assert statuses and int(statuses[0]) == expected.status, documented
    rules = re.findall(r"`([a-z-]+)`", documented.answer)
    if expected.rule is not None:
        assert rules and rules[0] == expected.rule, documented
    if expected.action not in (None, "clear-apcu"):
        assert f"`{expected.action}`" in documented.what, documented


def test_the_readme_runs_the_stored_events_with_the_env_vars_file() -> None:
    invocations = [
        line.strip()
        for line in README.read_text(encoding="utf-8").splitlines()
        if line.strip().startswith("sam local invoke")
    ]
    assert invocations, "the README shows how to try a stored event with sam local invoke"
    for line in invocations:
        assert "--env-vars events/env.json" in line, line
    assert any(
        "DispatcherFunction -e events/dispatcher/console-dry-run.json" in line
        for line in invocations
    ), "the first console test the README suggests is the dry run"


def test_the_events_and_the_env_vars_file_use_the_region_of_samconfig() -> None:
    for path in [ENV_VARS, *sorted(EVENTS.glob("*/*.json"))]:
        regions = set(re.findall(r"\b[a-z]{2}-[a-z]+-\d\b", path.read_text(encoding="utf-8")))
        assert regions <= {REGION}, (path.name, regions)


# --- the env-vars file ------------------------------------------------------------------------


def test_the_env_vars_file_gives_the_dispatcher_what_the_template_cannot_resolve() -> None:
    # A Ref to a resource or a GetAtt has no value before a deploy: the file must give one.
    names = json.loads(ENV_VARS.read_text(encoding="utf-8"))
    parameters = cfn_template.load().get("Parameters", {})
    unresolved = {
        name
        for name, value in declared_variables(FUNCTIONS["dispatcher"]).items()
        if isinstance(value, dict)
        and not ("Ref" in value and "Default" in parameters.get(value["Ref"], {}))
    }
    assert unresolved <= set(names[FUNCTIONS["dispatcher"]]), unresolved


def test_without_the_env_vars_file_the_dispatcher_fails_its_configuration_check() -> None:
    # What SAM gives the function from the template alone: resource names, not ARNs.
    from apcu_dispatcher.config import Config, ConfigError

    with pytest.raises(ConfigError, match="NOTIFICATION_TOPIC_ARN"):
        Config.from_env(sam_environment("DispatcherFunction", None, region=REGION))
    Config.from_env(sam_environment("DispatcherFunction", ENV_VARS, region=REGION))


# --- the dispatcher's events, run -------------------------------------------------------------


@contextmanager
def fresh_import(package: str) -> Iterator[ModuleType]:
    """The handler imported as a new container imports it; the test run's own copy is kept."""
    kept = {n: m for n, m in sys.modules.items() if n == package or n.startswith(package + ".")}
    for name in kept:
        del sys.modules[name]
    try:
        yield importlib.import_module(f"{package}.api")
    finally:
        for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
            del sys.modules[name]
        sys.modules.update(kept)


@pytest.fixture
def prod() -> Iterator[dict[str, str]]:
    """moto holding what events/env.json names for the dispatcher: the group (with the stored
    events' instance among its InService ones), the document and the commands table."""
    names: dict[str, str] = json.loads(ENV_VARS.read_text(encoding="utf-8"))[
        FUNCTIONS["dispatcher"]
    ]
    with mock_aws():
        for group in names["ALLOWED_GROUPS"].split(","):
            aws_emulator.create_group(group.strip(), 3, region=REGION)
        boto3.client("ssm", region_name=REGION).create_document(
            Name=names["DOCUMENT_NAME"],
            DocumentType="Command",
            DocumentFormat="YAML",
            Content=yaml.safe_dump(cfn_template.flush_document(), sort_keys=False),
        )
        aws_emulator.create_commands_table(names["COMMANDS_TABLE"], region=REGION)
        yield names


def invoke_as_sam_local(name: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    for variable, value in sam_environment(
        FUNCTIONS["dispatcher"], ENV_VARS, region=REGION
    ).items():
        monkeypatch.setenv(variable, value)
    with fresh_import(DISPATCHER) as handler:
        result: dict[str, Any] = handler.lambda_handler(
            load(name), LocalContext(FUNCTIONS["dispatcher"], function_name="DispatcherFunction")
        )
    return result


@pytest.mark.parametrize("name", stored("dispatcher"))
def test_a_stored_dispatcher_event_gets_the_answer_its_name_says(
    name: str, prod: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = named(name)

    answer = invoke_as_sam_local(name, monkeypatch)

    body = answer["body"] if isinstance(answer["body"], dict) else json.loads(answer["body"])
    assert answer["statusCode"] == expected.status, body
    commands = boto3.client("ssm", region_name=REGION).list_commands()["Commands"]
    if expected.status >= 400:
        assert body["error"]["rule"] == expected.rule, body
        assert body["error"].get("field") == expected.field, body
    if expected.status != 202:
        assert commands == [], "a refusal or a dry run sends nothing"
        assert expected.status != 200 or body["dryRun"] is True
        return
    [command] = commands
    assert command["CommandId"] == body["commandId"]
    assert command["DocumentName"] == prod["DOCUMENT_NAME"]
    assert command["Parameters"]["action"] == [expected.action]
    request = request_of(name) or {}
    assert command["Parameters"]["prefix"] == [request.get("prefix", "")]
    if name.startswith("warm-pool-"):
        assert command["InstanceIds"] == [load(name)["detail"]["EC2InstanceId"]]


# --- the notifier's events, delivered -----------------------------------------------------------


@pytest.mark.parametrize(
    "documented",
    [d for d in documented_events() if d.function == "notifier"],
    ids=lambda d: d.event,
)
def test_a_stored_notification_posts_what_the_readme_says(
    documented: Documented, aws: None, slack: SlackWebApi
) -> None:
    # Given a stack in webhook mode (SSM has never heard of the stored command), When SNS
    # delivers the stored notification, Then Slack hears what the README says: one message
    # for a final status, saying it was a test, paging nobody; nothing otherwise.
    event = json.loads(documented.path.read_text(encoding="utf-8"))
    with Stack(slack, ALERT_MENTION="<!here>") as stack:
        relayed = stack.lambda_.outcome(stack.lambda_.deliver(event))
        started = [json.loads(m)["commandId"] for m in _commands_of(event) if _final(m)]
        outcomes = [stack.outcome(command_id) for command_id in started]

    if "nothing" in documented.answer:
        assert started == [] and slack.webhook_posts == [], relayed
        return
    assert [o["verdict"] for o in outcomes] == ["test_event"]
    [post] = slack.webhook_posts
    assert "Test event" in post["text"], post["text"]
    assert "<!" not in json.dumps(post), "a stored event pages nobody"


def _commands_of(event: dict[str, Any]) -> list[str]:
    return [r["Sns"]["Message"] for r in event["Records"] if "commandId" in r["Sns"]["Message"]]


def _final(message: str) -> bool:
    parsed = json.loads(message)
    return "instanceId" not in parsed and parsed.get("status") in (
        "Success",
        "Failed",
        "TimedOut",
        "Cancelled",
    )
