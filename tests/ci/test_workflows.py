"""The GitHub Actions workflows: CI runs what a laptop runs; deploys use OIDC and the gate.

Each test reads a workflow as GitHub does (YAML) and checks a promise a platform team relies
on: no stored AWS keys, tests before every deploy, the deploy flags that keep a pipeline
non-interactive, and a clear that fails the run unless its verdict is ok.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
CI = WORKFLOWS / "ci.yml"
DEPLOY = WORKFLOWS / "deploy.yml"
SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def workflow(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    # YAML 1.1 reads the key `on` as true; GitHub reads it as "on".
    if True in data:
        data["on"] = data.pop(True)
    return data


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    found = job["steps"]
    assert isinstance(found, list)
    return found


def index_of(job_steps: list[dict[str, Any]], predicate: Any, what: str) -> int:
    matches = [i for i, step in enumerate(job_steps) if predicate(step)]
    assert len(matches) == 1, f"expected exactly one step that {what}, found {len(matches)}"
    return matches[0]


def uses(step: dict[str, Any], action: str) -> bool:
    return str(step.get("uses", "")).split("@")[0] == action


def runs(step: dict[str, Any]) -> list[str]:
    """The step's shell command as words, with $VARS left as written."""
    return shlex.split(str(step.get("run", "")))


def prod_samconfig() -> dict[str, Any]:
    config = tomllib.loads((REPO / "samconfig.toml").read_text(encoding="utf-8"))["prod"]
    assert isinstance(config, dict)
    return config


# ------------------------------------------------------------------------------ both


@pytest.mark.parametrize("path", [CI, DEPLOY], ids=["ci", "deploy"])
def test_no_workflow_holds_or_reads_stored_aws_keys(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for forbidden in ("aws-access-key-id", "aws-secret-access-key", "AWS_SECRET_ACCESS_KEY"):
        assert forbidden not in text
    assert "secrets." not in text, "nothing in these workflows needs a stored secret"


@pytest.mark.parametrize("path", [CI, DEPLOY], ids=["ci", "deploy"])
def test_every_action_is_pinned_to_a_full_commit_sha_with_its_tag_beside_it(path: Path) -> None:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if "uses:" in line]
    actions = [line for line in lines if not line.split("uses:", 1)[1].strip().startswith("./")]
    assert actions
    for line in actions:
        reference, _, comment = line.split("uses:", 1)[1].partition("#")
        assert SHA_PIN.match(reference.strip()), line
        assert re.fullmatch(r"\s*v\d+(\.\d+)*\s*", comment), f"name the tag: {line}"


@pytest.mark.parametrize("path", [CI, DEPLOY], ids=["ci", "deploy"])
def test_checkouts_keep_no_git_credentials_and_python_is_the_lambda_runtimes(path: Path) -> None:
    for job in workflow(path)["jobs"].values():
        for step in job.get("steps", []):
            if uses(step, "actions/checkout"):
                assert step["with"]["persist-credentials"] is False
            if uses(step, "actions/setup-python"):
                assert step["with"]["python-version"] == "3.13"


# ------------------------------------------------------------------------------ CI


def test_ci_runs_dot_ci_run_on_ubuntu_with_python_set_up_and_read_only_access() -> None:
    ci = workflow(CI)
    assert {"push", "pull_request", "workflow_call"} <= set(ci["on"])
    assert ci["on"]["push"]["branches"] == ["main"]
    assert ci["permissions"] == {"contents": "read"}
    (job,) = ci["jobs"].values()
    assert job["runs-on"].startswith("ubuntu-")
    job_steps = steps(job)
    python = index_of(job_steps, lambda s: uses(s, "actions/setup-python"), "sets up Python")
    run = index_of(job_steps, lambda s: runs(s) == [".ci/run"], "runs .ci/run")
    assert python < run
    # .ci/run is what CI promises to run: it sets CI=true and runs `make test`.
    script = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "export CI=true" in script
    assert "make test" in script


# ------------------------------------------------------------------------------ deploy


@pytest.fixture(scope="module")
def deploy() -> dict[str, Any]:
    return workflow(DEPLOY)


@pytest.fixture(scope="module")
def deploy_steps(deploy: dict[str, Any]) -> list[dict[str, Any]]:
    return steps(deploy["jobs"]["deploy"])


def test_deploys_run_from_main_or_by_hand_one_at_a_time(deploy: dict[str, Any]) -> None:
    assert set(deploy["on"]) == {"push", "workflow_dispatch"}
    assert deploy["on"]["push"]["branches"] == ["main"]
    assert deploy["concurrency"]["cancel-in-progress"] is False


def test_deploy_runs_the_ci_tests_first(deploy: dict[str, Any]) -> None:
    jobs = deploy["jobs"]
    assert jobs["test"]["uses"] == "./.github/workflows/ci.yml"
    assert jobs["deploy"]["needs"] == "test"


def test_only_the_deploy_job_may_ask_for_an_oidc_token(deploy: dict[str, Any]) -> None:
    assert deploy["permissions"] == {"contents": "read"}
    job = deploy["jobs"]["deploy"]
    assert job["permissions"] == {"id-token": "write", "contents": "read"}
    assert job["environment"] == "prod"


def test_credentials_come_from_a_role_named_by_a_repository_variable(
    deploy: dict[str, Any], deploy_steps: list[dict[str, Any]]
) -> None:
    i = index_of(
        deploy_steps,
        lambda s: uses(s, "aws-actions/configure-aws-credentials"),
        "configures AWS credentials",
    )
    settings = deploy_steps[i]["with"]
    assert settings["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
    assert set(settings) == {"role-to-assume", "role-session-name", "aws-region"}
    assert settings["aws-region"] == "${{ env.AWS_REGION }}"
    # The region and stack the workflow names are samconfig.toml's prod ones.
    assert deploy["env"]["AWS_REGION"] == prod_samconfig()["deploy"]["parameters"]["region"]
    assert deploy["env"]["STACK_NAME"] == prod_samconfig()["global"]["parameters"]["stack_name"]


def test_build_then_credentials_then_a_non_interactive_prod_deploy(
    deploy_steps: list[dict[str, Any]],
) -> None:
    build = index_of(deploy_steps, lambda s: runs(s) == ["make", "build"], "runs sam build")
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert "$(SAM) build" in makefile.split("\nbuild:", 1)[1].split("\n\n", 1)[0]
    credentials = index_of(
        deploy_steps,
        lambda s: uses(s, "aws-actions/configure-aws-credentials"),
        "configures AWS credentials",
    )
    deploy = index_of(
        deploy_steps, lambda s: runs(s)[:1] == [".venv-sam/bin/sam"], "runs sam deploy"
    )
    assert build < credentials < deploy
    assert runs(deploy_steps[deploy]) == [
        ".venv-sam/bin/sam",
        "deploy",
        "--config-env",
        "prod",
        "--no-confirm-changeset",
        "--no-fail-on-empty-changeset",
    ]


def test_after_the_deploy_the_gate_clears_the_prod_group_and_waits_for_its_verdict(
    deploy: dict[str, Any], deploy_steps: list[dict[str, Any]]
) -> None:
    deployed = index_of(
        deploy_steps, lambda s: runs(s)[:2] == [".venv-sam/bin/sam", "deploy"], "deploys"
    )
    install = index_of(
        deploy_steps,
        lambda s: runs(s) == ["python", "-m", "pip", "install", "./cli"],
        "installs apcu-flush",
    )
    gate = index_of(deploy_steps, lambda s: runs(s)[:1] == ["apcu-flush"], "runs apcu-flush")
    assert deployed < install < gate
    assert gate == len(deploy_steps) - 1, "nothing after the gate can hide its exit code"
    command = runs(deploy_steps[gate])
    assert command[:4] == ["apcu-flush", "clear", "$GROUP", "--wait"]
    assert command[command.index("--stack") + 1] == "$STACK_NAME"
    assert "continue-on-error" not in deploy_steps[gate]
    # The group defaults to the one group the prod stack allows.
    group = deploy_steps[gate]["env"]["GROUP"]
    default = re.fullmatch(r"\$\{\{ vars\.APCU_FLUSH_GROUP \|\| '([^']+)' \}\}", group)
    assert default, group
    allowed = shlex.split(prod_samconfig()["deploy"]["parameters"]["parameter_overrides"])
    assert f"AllowedGroups={default.group(1)}" in allowed
