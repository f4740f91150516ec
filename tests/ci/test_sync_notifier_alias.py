""".github/scripts/sync_notifier_alias.py, the deploy's sync of the notifier's alias, against
moto: after a deploy that changed only parameters, new clears run with the new settings (a
version published from $LATEST, the alias on it); an alias already in step is left alone;
the log names what differed and never a value; and a deploy that raced it fails loudly."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

from harness import cfn_template
from tests.ci import lambda_guards

SCRIPT = Path(__file__).resolve().parents[2] / ".github" / "scripts" / "sync_notifier_alias.py"
REGION = "ap-northeast-1"
STACK = "apcu-fleet-flush-prod"
FUNCTION = f"{STACK}-notifier"
ALIAS = "live"
SECRET_ARN = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:SlackWebhookSecret-"
# The notifier's variables as a first deploy leaves them (some of template.yaml's).
DEPLOYED = {
    "ALLOWED_GROUPS": "web-prod",
    "MESSAGE_LANGUAGE": "en",
    "ALERT_MENTION": "<!subteam^S0ONCALL1>",
    "SLACK_WEBHOOK_SECRET_ARN": SECRET_ARN + "Q1w2E3",
    "STOP_ALARM_NAME": "",
    "LOG_LEVEL": "INFO",
}


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sync_notifier_alias", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up by name while the script is being executed.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


sync = _load()


@pytest.fixture(autouse=True)
def _lambda_guards(monkeypatch: pytest.MonkeyPatch) -> None:
    lambda_guards.install(monkeypatch)


def _zip(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


@pytest.fixture
def client(aws: None) -> Any:
    return boto3.client("lambda", region_name=REGION)


@pytest.fixture
def layers(client: Any) -> list[str]:
    """Two versions of the Powertools layer, as PowertoolsLayerArn may name either."""
    return [
        client.publish_layer_version(
            LayerName="AWSLambdaPowertoolsPythonV3", Content={"ZipFile": _zip(f"# {n}")}
        )["LayerVersionArn"]
        for n in (1, 2)
    ]


@pytest.fixture
def notifier(client: Any, layers: list[str]) -> None:
    """The stack as a first deploy leaves it: the notifier, its version 1, the alias on it,
    and the stack's output naming the alias. moto's CloudFormation has no alias resource, so
    the output comes in through a parameter."""
    role = boto3.client("iam", region_name=REGION).create_role(
        RoleName="notifier", AssumeRolePolicyDocument="{}"
    )["Role"]["Arn"]
    client.create_function(
        FunctionName=FUNCTION,
        Runtime="python3.13",
        Role=role,
        Handler="app.lambda_handler",
        Code={"ZipFile": _zip("def lambda_handler(event, context): ...")},
        Timeout=120,
        MemorySize=256,
        Layers=[layers[0]],
        Environment={"Variables": DEPLOYED},
    )
    client.publish_version(FunctionName=FUNCTION)
    alias_arn = client.create_alias(FunctionName=FUNCTION, Name=ALIAS, FunctionVersion="1")
    template = {
        "Parameters": {"AliasArn": {"Type": "String"}},
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {sync.ALIAS_OUTPUT: {"Value": {"Ref": "AliasArn"}}},
    }
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName=STACK,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": "AliasArn", "ParameterValue": alias_arn["AliasArn"]}],
    )


def _run(capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = sync.main(["--stack", STACK, "--region", REGION])
    captured = capsys.readouterr()
    return code, (captured.out + captured.err).splitlines()


def _versions(client: Any) -> list[str]:
    found = client.list_versions_by_function(FunctionName=FUNCTION)
    return [v["Version"] for v in found["Versions"]]


def _on_alias(client: Any) -> Any:
    return client.get_function_configuration(FunctionName=FUNCTION, Qualifier=ALIAS)


def _parameter_deploy(client: Any, **changes: Any) -> None:
    # What CloudFormation does when only a parameter changed: $LATEST's configuration, no version.
    client.update_function_configuration(FunctionName=FUNCTION, **changes)


# ------------------------------------------------------------------------------ in step or moved


def test_after_a_parameter_only_deploy_new_clears_run_with_the_new_setting(
    client: Any, notifier: None, capsys: pytest.CaptureFixture[str]
) -> None:
    _parameter_deploy(client, Environment={"Variables": {**DEPLOYED, "MESSAGE_LANGUAGE": "ja"}})
    assert _on_alias(client)["Environment"]["Variables"]["MESSAGE_LANGUAGE"] == "en"
    code, lines = _run(capsys)
    assert (code, lines[0]) == (0, "moved")
    assert _versions(client) == ["$LATEST", "1", "2"], "version 1 stays for clears in flight"
    assert client.get_alias(FunctionName=FUNCTION, Name=ALIAS)["FunctionVersion"] == "2"
    assert _on_alias(client)["Environment"]["Variables"]["MESSAGE_LANGUAGE"] == "ja"
    published = client.get_function_configuration(FunctionName=FUNCTION, Qualifier="2")
    assert "published no version" in published["Description"]
    assert "MESSAGE_LANGUAGE" in published["Description"]
    # The version's own description is not a difference: the next run finds the alias in step.
    assert _run(capsys) == (0, ["in step", f"alias {ALIAS} of {FUNCTION}: version 2, as $LATEST"])


def test_an_alias_in_step_with_latest_is_left_alone(
    client: Any, notifier: None, capsys: pytest.CaptureFixture[str]
) -> None:
    revision = client.get_alias(FunctionName=FUNCTION, Name=ALIAS)["RevisionId"]
    assert _run(capsys) == (0, ["in step", f"alias {ALIAS} of {FUNCTION}: version 1, as $LATEST"])
    assert _versions(client) == ["$LATEST", "1"]
    assert client.get_alias(FunctionName=FUNCTION, Name=ALIAS)["RevisionId"] == revision


def test_a_new_layer_through_a_parameter_reaches_the_alias(
    client: Any, notifier: None, layers: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    _parameter_deploy(client, Layers=[layers[1]], MemorySize=512)
    code, lines = _run(capsys)
    assert (code, lines[0]) == (0, "moved")
    assert lines[1].endswith("version 1 differed from $LATEST in MemorySize, Layers")
    assert [layer["Arn"] for layer in _on_alias(client)["Layers"]] == [layers[1]]
    assert _on_alias(client)["MemorySize"] == 512


def test_the_log_names_what_differed_and_never_a_value(
    client: Any, notifier: None, capsys: pytest.CaptureFixture[str]
) -> None:
    variables = {k: v for k, v in DEPLOYED.items() if k != "STOP_ALARM_NAME"}
    variables |= {
        "ALERT_MENTION": "<!subteam^S0ONCALL2>",
        "SLACK_WEBHOOK_SECRET_ARN": SECRET_ARN + "Z9x8C7",
        "DOCS_URL": "https://wiki.example.com/apcu-runbook",
    }
    _parameter_deploy(client, Environment={"Variables": variables}, Timeout=300)
    code, lines = _run(capsys)
    assert code == 0
    assert lines[1].endswith(
        "version 1 differed from $LATEST in the environment variables ALERT_MENTION, DOCS_URL, "
        "SLACK_WEBHOOK_SECRET_ARN, STOP_ALARM_NAME and Timeout"
    )
    log = "\n".join(lines)
    for value in [*DEPLOYED.values(), *variables.values()]:
        assert len(value) < 3 or value not in log, "a variable's value reached the log"
    assert "ALLOWED_GROUPS" not in log, "only what differed is named"


# ------------------------------------------------------------------------------ refused


def test_an_alias_moved_by_another_deploy_meanwhile_fails_loudly_and_stays_where_it_was_put(
    client: Any, notifier: None
) -> None:
    _parameter_deploy(client, Environment={"Variables": {**DEPLOYED, "LOG_LEVEL": "DEBUG"}})
    drift = sync.compare(client, FUNCTION, ALIAS)
    # Another deploy publishes its own version and moves the alias, as CloudFormation does.
    _parameter_deploy(client, MemorySize=1024)
    other = client.publish_version(FunctionName=FUNCTION)["Version"]
    client.update_alias(FunctionName=FUNCTION, Name=ALIAS, FunctionVersion=other)
    with pytest.raises(sync.AliasMoved, match=f"the alias {ALIAS} of {FUNCTION} moved"):
        sync.publish_and_move(client, drift)
    assert client.get_alias(FunctionName=FUNCTION, Name=ALIAS)["FunctionVersion"] == other


def test_code_changed_while_it_ran_is_not_published(client: Any, notifier: None) -> None:
    _parameter_deploy(client, Environment={"Variables": {**DEPLOYED, "LOG_LEVEL": "DEBUG"}})
    drift = sync.compare(client, FUNCTION, ALIAS)
    client.update_function_code(FunctionName=FUNCTION, ZipFile=_zip("# other code"))
    with pytest.raises(sync.SyncError, match="InvalidParameterValueException"):
        sync.publish_and_move(client, drift)
    assert _versions(client) == ["$LATEST", "1"]
    assert client.get_alias(FunctionName=FUNCTION, Name=ALIAS)["FunctionVersion"] == "1"


def test_code_that_reached_latest_outside_a_deploy_fails_the_run_and_publishes_nothing(
    client: Any, notifier: None, capsys: pytest.CaptureFixture[str]
) -> None:
    client.update_function_code(FunctionName=FUNCTION, ZipFile=_zip("# by hand"))
    _parameter_deploy(client, Environment={"Variables": {**DEPLOYED, "LOG_LEVEL": "DEBUG"}})
    code, lines = _run(capsys)
    assert code == 1
    assert lines[0].startswith(f"::error::the code of {FUNCTION}'s $LATEST is not the code of")
    assert _versions(client) == ["$LATEST", "1"]


def test_a_stack_without_the_alias_output_fails_naming_it(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName=STACK,
        TemplateBody=json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}),
    )
    error = f"::error::the stack {STACK} has no output NotifierAliasArn naming a function alias"
    assert _run(capsys) == (1, [error])


# ------------------------------------------------------------------------------ what is compared


@pytest.mark.parametrize(
    ("name", "before", "after"),
    [
        ("TracingConfig", {"Mode": "PassThrough"}, {"Mode": "Active"}),
        ("LoggingConfig", {"LogFormat": "Text"}, {"LogFormat": "JSON"}),
        ("DurableConfig", {"ExecutionTimeout": 36000}, {"ExecutionTimeout": 7200}),
    ],
)
def test_each_property_a_parameter_can_change_is_compared(
    name: str, before: Any, after: Any
) -> None:
    # moto's UpdateFunctionConfiguration keeps none of these: as GetFunctionConfiguration answers.
    common = {"CodeSha256": "c0de", "Environment": {"Variables": {"A": "1"}}}
    assert sync.differences({**common, name: before}, {**common, name: after}) == ((), (name,))
    assert sync.differences({**common, name: before}, {**common, name: before}) == ((), ())


def test_the_versions_description_keeps_within_lambdas_256_characters() -> None:
    names = tuple(f"VARIABLE_{n:02}" for n in range(40))
    drift = sync.Drift(FUNCTION, ALIAS, "7", "rev", "c0de", names, ("Timeout",))
    assert len(sync._description(drift)) <= 256


# template.yaml's properties of the notifier (its own and Globals'): each is compared, by the
# configuration field Lambda keeps it in, or is no part of a published version.
SAME_NAME = ("Layers", "LoggingConfig", "DurableConfig", "MemorySize", "Timeout", "Runtime")
COMPARED = {
    "Tracing": "TracingConfig",
    "DeadLetterQueue": "DeadLetterConfig",
    **{name: name for name in (*SAME_NAME, "Handler", "Role", "Architectures")},
}
# Environment: by variable; CodeUri: the code hash, which must already agree.
SEPARATE = {"Environment", "CodeUri"}
NOT_IN_A_VERSION = {
    *("AutoPublishAlias", "AutoPublishAliasAllProperties", "Events", "FunctionName", "Tags"),
    # Function-level in Lambda; and the version's Description is the one the sync writes.
    *("ReservedConcurrentExecutions", "Description"),
}


def test_every_property_the_template_sets_on_the_notifier_is_compared_or_unversioned() -> None:
    template = cfn_template.load()
    properties = set(template["Resources"]["NotifierFunction"]["Properties"])
    properties |= set(template["Globals"]["Function"])
    unknown = properties - set(COMPARED) - SEPARATE - NOT_IN_A_VERSION
    assert not unknown, f"decide whether the sync compares {sorted(unknown)}"
    assert {COMPARED[name] for name in properties & set(COMPARED)} <= set(sync.PROPERTIES)


def test_the_output_read_is_the_notifiers_alias_the_template_publishes() -> None:
    template = cfn_template.load()
    assert template["Outputs"][sync.ALIAS_OUTPUT]["Value"] == {"Ref": "NotifierFunction.Alias"}
    assert template["Resources"]["NotifierFunction"]["Properties"]["AutoPublishAlias"] == ALIAS
