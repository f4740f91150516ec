"""The GitHub Actions workflows: CI runs what a laptop runs; deploys use OIDC and the gate.

Each test reads a workflow as GitHub does (YAML) and checks a promise a platform team relies
on: no stored AWS keys, tests before every deploy, the deploy flags that keep a pipeline
non-interactive, and a release that clears no production cache: a dry run of the prod group,
or a real clear of a canary group named for it that fails the run unless its verdict is ok.
"""

from __future__ import annotations

import ast
import itertools
import json
import re
import shlex
import subprocess
import sys
import tomllib
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
CI = WORKFLOWS / "ci.yml"
DEPLOY = WORKFLOWS / "deploy.yml"
DEPLOY_MD = REPO / "docs/deploy.md"
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


@pytest.fixture(scope="module")
def changeset_steps(deploy: dict[str, Any]) -> list[dict[str, Any]]:
    return steps(deploy["jobs"]["changeset"])


def _secret_check(step: dict[str, Any]) -> bool:
    return runs(step)[:2] == ["python", ".github/scripts/slack_secret_state.py"]


def test_prod_deploys_only_when_asked_by_hand_or_by_a_version_tag_one_at_a_time(
    deploy: dict[str, Any],
) -> None:
    # A push to main deploys nothing: a person starts a deploy, and another approves it.
    assert set(deploy["on"]) == {"workflow_dispatch", "push"}
    assert deploy["on"]["push"] == {"tags": ["v*.*.*"]}
    assert deploy["concurrency"]["cancel-in-progress"] is False


def test_deploy_runs_the_ci_tests_first_then_the_change_set_then_the_approved_deploy(
    deploy: dict[str, Any],
) -> None:
    jobs = deploy["jobs"]
    assert set(jobs) == {"test", "changeset", "deploy"}
    assert jobs["test"]["uses"] == "./.github/workflows/ci.yml"
    assert jobs["changeset"]["needs"] == "test"
    assert jobs["deploy"]["needs"] == "changeset"


def test_the_review_is_the_prod_environments_approval_and_only_those_jobs_get_oidc_tokens(
    deploy: dict[str, Any],
) -> None:
    assert deploy["permissions"] == {"contents": "read"}
    jobs = deploy["jobs"]
    for name in ("changeset", "deploy"):
        assert jobs[name]["permissions"] == {"id-token": "write", "contents": "read"}
    # Required reviewers are set on the environment (docs/deploy.md says how); the job that
    # executes the change set waits for them, the one that creates it does not.
    assert jobs["deploy"]["environment"] == "prod"
    assert jobs["changeset"]["environment"] == "prod-changeset"
    docs = DEPLOY_MD.read_text(encoding="utf-8")
    assert "Required reviewers" in docs
    assert "repo:<owner>/<repository>:environment:prod-changeset" in docs


@pytest.mark.parametrize(
    ("job", "variable"),
    [("changeset", "AWS_CHANGESET_ROLE_ARN"), ("deploy", "AWS_DEPLOY_ROLE_ARN")],
)
def test_credentials_come_from_a_role_named_by_a_repository_variable(
    deploy: dict[str, Any], job: str, variable: str
) -> None:
    job_steps = steps(deploy["jobs"][job])
    i = index_of(
        job_steps,
        lambda s: uses(s, "aws-actions/configure-aws-credentials"),
        "configures AWS credentials",
    )
    settings = job_steps[i]["with"]
    assert settings["role-to-assume"] == "${{ vars." + variable + " }}"
    assert set(settings) == {"role-to-assume", "role-session-name", "aws-region"}
    assert settings["aws-region"] == "${{ env.AWS_REGION }}"
    # The region and stack the workflow names are samconfig.toml's prod ones.
    assert deploy["env"]["AWS_REGION"] == prod_samconfig()["deploy"]["parameters"]["region"]
    assert deploy["env"]["STACK_NAME"] == prod_samconfig()["global"]["parameters"]["stack_name"]


def _script_lines(step: dict[str, Any]) -> list[list[str]]:
    return [shlex.split(line) for line in str(step.get("run", "")).splitlines() if line.strip()]


def test_the_change_set_is_built_created_and_shown_but_not_executed(
    changeset_steps: list[dict[str, Any]],
) -> None:
    build = index_of(changeset_steps, lambda s: runs(s) == ["make", "build"], "runs sam build")
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert "$(SAM) build" in makefile.split("\nbuild:", 1)[1].split("\n\n", 1)[0]
    credentials = index_of(
        changeset_steps,
        lambda s: uses(s, "aws-actions/configure-aws-credentials"),
        "configures AWS credentials",
    )
    check = index_of(changeset_steps, _secret_check, "checks the Slack secret")
    create = index_of(
        changeset_steps,
        lambda s: any(line[:1] == [".venv-sam/bin/sam"] for line in _script_lines(s)),
        "runs sam deploy",
    )
    assert build < credentials < check < create
    step = changeset_steps[create]
    (sam,) = [line for line in _script_lines(step) if line[:1] == [".venv-sam/bin/sam"]]
    assert sam[: sam.index("|")] == [
        ".venv-sam/bin/sam",
        "deploy",
        "--config-env",
        "prod",
        "--no-execute-changeset",
        "--no-fail-on-empty-changeset",
    ]
    # The change set SAM printed is the one the deploy job executes.
    assert step["id"] == "changeset"
    assert "set -o pipefail" in step["run"]
    assert '"arn=$arn" >> "$GITHUB_OUTPUT"' in step["run"]


def test_the_deploy_job_executes_the_reviewed_change_set_and_nothing_else(
    deploy: dict[str, Any], deploy_steps: list[dict[str, Any]]
) -> None:
    text = DEPLOY.read_text(encoding="utf-8")
    assert "--no-confirm-changeset" not in text, "every change set is read before it runs"
    job = deploy["jobs"]["deploy"]
    assert deploy["jobs"]["changeset"]["outputs"] == {
        "change-set": "${{ steps.changeset.outputs.arn }}"
    }
    assert job["env"]["CHANGE_SET"] == "${{ needs.changeset.outputs.change-set }}"
    assert not any(".venv-sam/bin/sam" in str(s.get("run", "")) for s in deploy_steps)
    execute = index_of(
        deploy_steps, lambda s: "execute-change-set" in str(s.get("run", "")), "executes"
    )
    lines = _script_lines(deploy_steps[execute])
    assert [
        "aws",
        "cloudformation",
        "execute-change-set",
        "--change-set-name",
        "$CHANGE_SET",
    ] in lines
    assert deploy_steps[execute]["if"] == "env.CHANGE_SET != ''"


# ------------------------------------------------------------------------------ after the deploy

# The commit GitHub gives a run as GITHUB_SHA, fixed for the tests below.
SHA = "0123456789abcdef0123456789abcdef01234567"


def _gate(deploy_steps: list[dict[str, Any]]) -> dict[str, Any]:
    """The deploy job's last step: what a release leaves the fleet with."""
    return deploy_steps[-1]


def _expression(expression: str, context: dict[str, str]) -> str:
    """What GitHub makes of `${{ a.b || c.d || 'literal' }}`: the first operand that is set;
    an input a push did not give, or a variable nobody set, is empty."""
    match = re.fullmatch(r"\$\{\{ (.+) \}\}", expression)
    assert match, f"not an expression: {expression}"
    for operand in (o.strip() for o in match.group(1).split("||")):
        if operand.startswith("'"):
            value = operand.strip("'")
        else:
            assert re.fullmatch(r"(inputs|vars)\.\w+", operand), f"not evaluated here: {operand}"
            value = context.get(operand, "")
        if value:
            return value
    return ""


def _run_gate(
    deploy: dict[str, Any], tmp_path: Path, context: dict[str, str], exit_code: int = 0
) -> tuple[int, list[list[str]], str]:
    """Runs the gate's script as GitHub would (bash -e), with `apcu-flush` replaced by a stub
    that records its arguments and exits `exit_code`. Answers (exit, the calls, the output)."""
    step = _gate(steps(deploy["jobs"]["deploy"]))
    stub = tmp_path / "bin" / "apcu-flush"
    stub.parent.mkdir(exist_ok=True)
    calls = tmp_path / "calls.jsonl"
    calls.write_text("", encoding="utf-8")
    stub.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        "with open(os.environ['CALLS'], 'a') as f: f.write(json.dumps(sys.argv[1:]) + '\\n')\n"
        "sys.exit(int(os.environ['STUB_EXIT']))\n",
        encoding="utf-8",
    )
    stub.chmod(0o755)
    env = {name: _expression(value, context) for name, value in step["env"].items()}
    env |= {
        "STACK_NAME": deploy["env"]["STACK_NAME"],
        "GITHUB_SHA": SHA,
        "PATH": f"{stub.parent}:/usr/bin:/bin",
        "CALLS": str(calls),
        "STUB_EXIT": str(exit_code),
    }
    done = subprocess.run(
        ["bash", "-e", "-c", step["run"]], env=env, capture_output=True, text=True, check=False
    )
    made = [json.loads(line) for line in calls.read_text(encoding="utf-8").splitlines()]
    return done.returncode, made, done.stdout + done.stderr


def _prod_group() -> str:
    allowed = shlex.split(prod_samconfig()["deploy"]["parameters"]["parameter_overrides"])
    (group,) = [a.split("=", 1)[1] for a in allowed if a.startswith("AllowedGroups=")]
    return group


def test_after_the_deploy_the_secret_check_then_the_gate_run_last_with_nothing_hiding_it(
    deploy: dict[str, Any], deploy_steps: list[dict[str, Any]]
) -> None:
    deployed = index_of(
        deploy_steps, lambda s: "execute-change-set" in str(s.get("run", "")), "deploys"
    )
    install = index_of(
        deploy_steps,
        lambda s: runs(s) == ["python", "-m", "pip", "install", "./cli"],
        "installs apcu-flush",
    )
    check = index_of(deploy_steps, _secret_check, "checks the Slack secret")
    gate = index_of(deploy_steps, lambda s: "apcu-flush" in str(s.get("run", "")), "runs it")
    # A first deploy creates the secret with its placeholder: the check runs after it.
    assert install < deployed < check < gate
    assert runs(deploy_steps[check])[2:] == ["--stack", "$STACK_NAME", "--region", "$AWS_REGION"]
    assert gate == len(deploy_steps) - 1, "nothing after the gate can hide its exit code"
    assert "continue-on-error" not in deploy_steps[gate]
    assert "shell" not in deploy_steps[gate], "GitHub's bash -e, as the tests run it"
    # The prod group defaults to the one group the prod stack allows.
    env = deploy_steps[gate]["env"]
    assert env["GROUP"] == f"${{{{ vars.APCU_FLUSH_GROUP || '{_prod_group()}' }}}}"
    # A canary group is named by the run's input, else by a repository variable; a tag push
    # has no input, and nobody has to name one.
    assert env["CANARY_GROUP"] == "${{ inputs.canary_group || vars.APCU_FLUSH_CANARY_GROUP }}"
    canary = deploy["on"]["workflow_dispatch"]["inputs"]["canary_group"]
    assert (canary["type"], canary["required"], canary["default"]) == ("string", False, "")


def _alias_sync(step: dict[str, Any]) -> bool:
    return runs(step)[:2] == ["python", ".github/scripts/sync_notifier_alias.py"]


def test_right_after_the_change_set_the_notifiers_alias_is_synced_on_every_attempt(
    deploy_steps: list[dict[str, Any]],
) -> None:
    executed = index_of(
        deploy_steps, lambda s: "execute-change-set" in str(s.get("run", "")), "deploys"
    )
    synced = index_of(deploy_steps, _alias_sync, "syncs the notifier's alias")
    # A parameter's new value alone publishes no notifier version: the alias moves to one
    # before anything clears, the gate's canary included.
    assert synced == executed + 1
    assert synced < len(deploy_steps) - 1
    assert runs(deploy_steps[synced])[2:] == ["--stack", "$STACK_NAME", "--region", "$AWS_REGION"]
    # Not only on an attempt that had a change set to execute: a re-run after an earlier
    # attempt executed it syncs too. And a sync that failed fails the run.
    assert "if" not in deploy_steps[synced]
    assert "continue-on-error" not in deploy_steps[synced]
    # A hand deploy runs the same script through make.
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    target = makefile.split("\nsync-notifier:", 1)[1].split("\n\n", 1)[0]
    assert (
        '.github/scripts/sync_notifier_alias.py --stack "$(STACK)" --region "$(REGION)"' in target
    )


def _imported(path: Path) -> set[str]:
    """The top-level packages a script imports when it runs (not for type checking only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
        for inner in ast.walk(node)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("script", ["slack_secret_state.py", "sync_notifier_alias.py"])
def test_the_scripts_the_deploy_job_runs_need_only_what_installing_apcu_flush_gives(
    script: str,
) -> None:
    # The deploy job's Python is setup-python's, with `pip install ./cli` and nothing else.
    cli = tomllib.loads((REPO / "cli" / "pyproject.toml").read_text(encoding="utf-8"))
    given = {re.split(r"[<>=!~ \[]", d, maxsplit=1)[0] for d in cli["project"]["dependencies"]}
    path = REPO / ".github" / "scripts" / script
    assert _imported(path) - set(sys.stdlib_module_names) <= given


@pytest.mark.parametrize(
    ("context", "group"),
    [
        ({}, None),
        ({"inputs.canary_group": ""}, None),
        ({"vars.APCU_FLUSH_GROUP": "web-main"}, "web-main"),
    ],
    ids=["tag-push", "by-hand", "prod-group-variable"],
)
def test_a_release_dry_runs_the_prod_group_and_sends_nothing(
    deploy: dict[str, Any], tmp_path: Path, context: dict[str, str], group: str | None
) -> None:
    # Given a release with no canary group named, When the gate runs
    code, calls, _ = _run_gate(deploy, tmp_path, context)
    # Then it asks for the prod group's plan, and for no clear
    assert code == 0
    assert calls == [
        ["clear", group or _prod_group(), "--dry-run", "--stack", deploy["env"]["STACK_NAME"]]
    ]


@pytest.mark.parametrize(
    "context",
    [
        {"inputs.canary_group": "web-canary"},
        {"vars.APCU_FLUSH_CANARY_GROUP": "web-canary"},
        # the run's input wins over the repository's standing choice
        {"inputs.canary_group": "web-canary", "vars.APCU_FLUSH_CANARY_GROUP": "web-other"},
    ],
    ids=["input", "variable", "input-over-variable"],
)
def test_a_named_canary_group_is_cleared_for_real_and_waited_for(
    deploy: dict[str, Any], tmp_path: Path, context: dict[str, str]
) -> None:
    code, calls, _ = _run_gate(deploy, tmp_path, context)
    assert code == 0
    (call,) = calls
    assert call[:3] == ["clear", "web-canary", "--wait"]
    assert call[call.index("--stack") + 1] == deploy["env"]["STACK_NAME"]
    assert call[call.index("--comment") + 1] == f"deploy {SHA}"
    assert "--dry-run" not in call


@pytest.mark.parametrize(
    "context",
    [{"inputs.canary_group": "web-prod"}, {"vars.APCU_FLUSH_CANARY_GROUP": "web-prod"}],
    ids=["input", "variable"],
)
def test_the_prod_group_named_as_the_canary_is_refused_and_nothing_is_sent(
    deploy: dict[str, Any], tmp_path: Path, context: dict[str, str]
) -> None:
    assert _prod_group() == "web-prod"
    code, calls, out = _run_gate(deploy, tmp_path, context)
    assert code != 0
    assert calls == []
    assert "::error::The canary group is the prod group web-prod" in out


@pytest.mark.parametrize(
    ("context", "exit_code"),
    [
        # the dry run refused (the stop alarm firing, a clear in progress) or failed
        ({}, 2),
        ({}, 4),
        # the canary's verdict an alert, or no verdict in time
        ({"vars.APCU_FLUSH_CANARY_GROUP": "web-canary"}, 1),
        ({"vars.APCU_FLUSH_CANARY_GROUP": "web-canary"}, 3),
    ],
)
def test_the_gate_fails_the_run_with_apcu_flushs_exit_code(
    deploy: dict[str, Any], tmp_path: Path, context: dict[str, str], exit_code: int
) -> None:
    code, calls, _ = _run_gate(deploy, tmp_path, context, exit_code)
    assert (code, len(calls)) == (exit_code, 1)


def test_no_choice_of_inputs_and_variables_clears_the_prod_group(
    deploy: dict[str, Any], tmp_path: Path
) -> None:
    prod = _prod_group()
    for given_input, canary_variable, group_variable in itertools.product(
        ["", "web-canary", prod], ["", "web-other", prod], ["", "web-main"]
    ):
        context = {
            "inputs.canary_group": given_input,
            "vars.APCU_FLUSH_CANARY_GROUP": canary_variable,
            "vars.APCU_FLUSH_GROUP": group_variable,
        }
        production = group_variable or prod
        _, calls, _ = _run_gate(deploy, tmp_path, context)
        for call in calls:
            assert call[1] != production or "--dry-run" in call, (context, call)


def _json_blocks(markdown: str) -> list[Any]:
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", markdown, re.S)]


def test_the_documented_roles_let_the_change_set_job_create_but_not_execute() -> None:
    blocks = _json_blocks(DEPLOY_MD.read_text(encoding="utf-8"))
    by_sid = {block["Sid"]: block for block in blocks if isinstance(block, dict) and "Sid" in block}
    deny = by_sid["NoUnreviewedDeploy"]
    assert deny["Effect"] == "Deny"
    assert "cloudformation:ExecuteChangeSet" in deny["Action"]
    stack = f"arn:aws:cloudformation:ap-northeast-1:123456789012:stack/{prod_samconfig()['global']['parameters']['stack_name']}/0a1b"
    assert fnmatchcase(stack, deny["Resource"])
    # SAM's own artifact-bucket stack stays deployable by the change set job.
    assert not fnmatchcase(
        "arn:aws:cloudformation:ap-northeast-1:123456789012:stack/aws-sam-cli-managed-default/0a1b",
        deny["Resource"],
    )
    read = by_sid["WebhookSecretState"]
    assert (read["Effect"], read["Action"]) == ("Allow", "secretsmanager:GetSecretValue")
    # The secret CloudFormation creates is named "<logical id>-<random>".
    secret = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:SlackWebhookSecret-Q1w2E3r4T5y6-AbCdEf"
    assert fnmatchcase(secret, read["Resource"])
