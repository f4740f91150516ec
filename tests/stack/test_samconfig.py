"""samconfig.toml: each environment deploys with values the template accepts.

A typo in a parameter name or a value outside a parameter's pattern only shows at
`sam deploy` time, as a failed change set; these tests show it before.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from harness import cfn_template

REPO = Path(__file__).resolve().parents[2]
SAMCONFIG = REPO / "samconfig.toml"
SAM_PYTHON = REPO / ".venv-sam" / "bin" / "python"
# Each environment with the command that deploys it: sam deploy, or sam sync for development.
DEPLOYS = {"default": "deploy", "prod": "deploy", "dev": "sync"}
ENVIRONMENTS = list(DEPLOYS)


def samconfig() -> dict[str, Any]:
    return tomllib.loads(SAMCONFIG.read_text(encoding="utf-8"))


def overrides(environment: str) -> dict[str, str]:
    """parameter_overrides as `sam deploy` or `sam sync` reads it: Key=Value pairs, shell-quoted."""
    text = samconfig()[environment][DEPLOYS[environment]]["parameters"]["parameter_overrides"]
    pairs = [item.split("=", 1) for item in shlex.split(text)]
    assert all(len(pair) == 2 for pair in pairs), text
    return dict(pairs)


def violations(name: str, value: str, spec: dict[str, Any]) -> list[str]:
    """Why CloudFormation would refuse this value for this parameter (empty when it accepts it)."""
    found = []
    if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
        found.append(f"{name}={value!r} does not match {spec['AllowedPattern']}")
    if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
        found.append(f"{name}={value!r} is not one of {spec['AllowedValues']}")
    if spec["Type"] == "Number":
        number = float(value)
        if "MinValue" in spec and number < spec["MinValue"]:
            found.append(f"{name}={value} is below {spec['MinValue']}")
        if "MaxValue" in spec and number > spec["MaxValue"]:
            found.append(f"{name}={value} is above {spec['MaxValue']}")
    return found


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_override_names_a_template_parameter_with_a_value_it_accepts(
    environment: str,
) -> None:
    parameters = cfn_template.load()["Parameters"]
    given = overrides(environment)
    assert set(given) <= set(parameters), set(given) - set(parameters)
    problems = [
        p for name, value in given.items() for p in violations(name, value, parameters[name])
    ]
    assert not problems


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_parameter_without_a_default_is_given(environment: str) -> None:
    parameters = cfn_template.load()["Parameters"]
    required = {name for name, spec in parameters.items() if "Default" not in spec}
    assert required == {"AllowedGroups"}
    assert required <= set(overrides(environment))


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_environment_shows_where_its_alarms_go(environment: str) -> None:
    # The alarms notify AlarmTopicArn; a stack deployed without it has alarms that tell no
    # one, so each environment names it, for the operator to fill, with a comment saying so.
    assert "AlarmTopicArn" in overrides(environment)


def test_the_file_says_what_alarm_topic_arn_takes() -> None:
    comments = [
        line for line in SAMCONFIG.read_text(encoding="utf-8").splitlines() if line.startswith("#")
    ]
    assert any("AlarmTopicArn" in line and "on-call" in line for line in comments)


@pytest.mark.parametrize("environment", ["default", "prod"])
def test_every_deploy_shows_the_change_set_and_needs_only_unnamed_iam(environment: str) -> None:
    deploy = samconfig()[environment]["deploy"]["parameters"]
    # The roles carry no RoleName, so CAPABILITY_IAM is enough; NAMED_IAM would hide a change.
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["confirm_changeset"] is True
    assert deploy["resolve_s3"] is True
    for role in ("DispatcherRole", "NotifierRole", "NotificationRole"):
        assert "RoleName" not in cfn_template.load()["Resources"][role]["Properties"]


def test_environments_deploy_separate_stacks_and_prod_alerts_people() -> None:
    config = samconfig()
    assert config["version"] == 0.1
    names = {env: config[env]["global"]["parameters"]["stack_name"] for env in ENVIRONMENTS}
    assert len(set(names.values())) == len(ENVIRONMENTS)
    assert overrides("prod")["AlertMention"] == "<!here>"
    assert overrides("prod")["AllowedGroups"] != overrides("default")["AllowedGroups"]
    for environment in ENVIRONMENTS:
        build = config[environment]["build"]["parameters"]
        assert build["cached"] is True
        assert build["parallel"] is True


def test_dev_is_a_stack_of_its_own_that_sam_sync_watches() -> None:
    config = samconfig()
    sync = config["dev"]["sync"]["parameters"]
    # `sam sync --config-env dev` alone builds, deploys and keeps watching.
    assert sync["watch"] is True
    # sync applies changes without a change set: never against the shared stacks.
    names = {env: config[env]["global"]["parameters"]["stack_name"] for env in ENVIRONMENTS}
    assert names["dev"] == "apcu-fleet-flush-dev"
    assert names["dev"] not in {names["default"], names["prod"]}
    assert overrides("dev")["AllowedGroups"] not in {
        overrides("default")["AllowedGroups"],
        overrides("prod")["AllowedGroups"],
    }
    assert sync["capabilities"] == "CAPABILITY_IAM"
    # The notifier's artifact is its Makefile's build; a dependency layer would rearrange it.
    assert sync["dependency_layer"] is False
    assert sync["region"] == config["default"]["deploy"]["parameters"]["region"]


def test_every_key_is_an_option_of_its_sam_command() -> None:
    # The SAM CLI ignores unknown keys silently; ask its own commands which keys they read.
    assert SAM_PYTHON.exists(), "make .venv-sam/.installed first (make pytest does)"
    run = subprocess.run(
        [
            str(SAM_PYTHON),
            str(Path(__file__).with_name("samconfig_keys_with_sam_cli.py")),
            str(SAMCONFIG),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    unknown = json.loads(run.stdout)
    assert "dev.sync" in unknown
    assert {section: keys for section, keys in unknown.items() if keys} == {}
