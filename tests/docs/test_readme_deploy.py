"""The README's one-page deploy agrees with samconfig.toml and template.yaml: the settings live in
samconfig.toml, the sample of it the README shows is the file's own prod environment with an
alarm topic filled in, and every environment there has the AlarmTopicArn the README says to
fill. A deploy that followed the README could otherwise leave the alarms telling no one, or
replace samconfig's overrides with a command line's."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

from harness import cfn_template
from tests.stack.test_samconfig import DEPLOYS, overrides, samconfig, violations

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
ALARM_TOPIC = "AlarmTopicArn"


def _section() -> str:
    return (
        README.read_text(encoding="utf-8")
        .split("\n## Deploy to production\n", 1)[1]
        .split("\n## ", 1)[0]
    )


def _shown() -> tuple[str, dict[str, str]]:
    """The samconfig.toml sample of the deploy section: its environment, and its overrides."""
    blocks = re.findall(r"```toml\n(.*?)```", _section(), re.DOTALL)
    assert len(blocks) == 1, "the deploy section shows one sample of samconfig.toml"
    sample = tomllib.loads(re.sub(r"^[ \t]+", "", blocks[0], flags=re.MULTILINE))
    ((environment, sections),) = sample.items()
    text = sections["deploy"]["parameters"]["parameter_overrides"]
    return environment, dict(item.split("=", 1) for item in shlex.split(text))


def test_the_sample_is_samconfigs_own_environment_with_its_alarm_topic_filled() -> None:
    environment, shown = _shown()
    assert environment in DEPLOYS and DEPLOYS[environment] == "deploy"
    kept = overrides(environment)
    assert set(shown) == set(kept), "the same parameters as samconfig.toml's"
    differ = {k for k in shown if shown[k] != kept[k]}
    assert differ == {ALARM_TOPIC}, (
        f"only the alarm topic is yours to fill, not {differ - {ALARM_TOPIC}}"
    )
    assert shown[ALARM_TOPIC], "the sample shows the topic filled in"


def test_the_sample_deploys_with_values_the_template_accepts() -> None:
    _, shown = _shown()
    parameters = cfn_template.load()["Parameters"]
    refused = [v for k, value in shown.items() for v in violations(k, value, parameters[k])]
    assert not refused, refused


def test_every_environment_has_the_alarm_topic_the_readme_says_to_fill() -> None:
    assert ALARM_TOPIC in cfn_template.load()["Parameters"]
    assert f"`{ALARM_TOPIC}`" in _section()
    missing = [env for env in DEPLOYS if ALARM_TOPIC not in overrides(env)]
    assert not missing, f"samconfig.toml environments without {ALARM_TOPIC}: {missing}"


def test_the_parameters_the_readme_names_are_the_templates() -> None:
    named = set(re.findall(r"^\s*\| `(\w+)`", _section(), re.MULTILINE))
    named |= set(re.findall(r"^\s*\| `\w+`, `(\w+)`", _section(), re.MULTILINE))
    assert named, "the deploy section names the parameters a first deploy needs"
    unknown = named - set(cfn_template.load()["Parameters"])
    assert not unknown, unknown
    assert "AllowedGroups" in named and ALARM_TOPIC in named


def test_no_command_passes_parameter_overrides() -> None:
    # On the command line it replaces samconfig.toml's whole list, the required AllowedGroups too.
    for document in (README, *sorted((ROOT / "docs").glob("*.md"))):
        for block in re.findall(r"```sh\n(.*?)```", document.read_text(encoding="utf-8"), re.S):
            assert "--parameter-overrides" not in block, document.name


def test_the_readmes_deploy_commands_name_samconfigs_stack_and_region() -> None:
    environment, _ = _shown()
    settings = samconfig()[environment]
    stack = settings["global"]["parameters"]["stack_name"]
    region = settings["deploy"]["parameters"]["region"]
    assert f"make deploy ENV={environment}\n" in _section()
    assert f"make sync-notifier STACK={stack} REGION={region}\n" in _section()
