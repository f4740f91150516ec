"""What docs/deploy.md tells an operator to grant and where to look holds against the code: the
deploy roles may read the Slack secret of either mode, the alias sync's statement allows exactly
the calls the sync script makes on the notifier, and the console path to a clear's execution
names the function and alias the template creates."""

from __future__ import annotations

import json
import re
import tomllib
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import botocore.session
from botocore import xform_name

from harness import cfn_template

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "docs/deploy.md"
SYNC_SCRIPT = ROOT / ".github/scripts/sync_notifier_alias.py"
ACCOUNT, REGION = "123456789012", "ap-northeast-1"


def _statements() -> dict[str, dict[str, Any]]:
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", DEPLOY.read_text(), re.S)]
    return {b["Sid"]: b for b in blocks if isinstance(b, dict) and "Sid" in b}


def _prod_stack() -> str:
    settings = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    name = settings["prod"]["global"]["parameters"]["stack_name"]
    assert isinstance(name, str)
    return name


def _allows(action: str, arn: str) -> bool:
    for statement in _statements().values():
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        resources = (
            statement["Resource"]
            if isinstance(statement["Resource"], list)
            else [statement["Resource"]]
        )
        if (
            statement["Effect"] == "Allow"
            and action in actions
            and any(fnmatchcase(arn, resource) for resource in resources)
        ):
            return True
    return False


def test_the_deploy_roles_may_read_the_secret_of_either_slack_mode() -> None:
    # CloudFormation names a secret it creates "<logical id>-<random>", and Secrets Manager adds
    # six characters.
    for logical_id in ("SlackWebhookSecret", "SlackAppSecret"):
        secret = (
            f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{logical_id}-Q1w2E3r4T5y6-AbCdEf"
        )
        assert _allows("secretsmanager:GetSecretValue", secret), logical_id
        for resource in cfn_template.load()["Resources"]:
            assert resource == logical_id or not resource.startswith(logical_id)


def _calls_on_lambda() -> set[str]:
    """The Lambda operations the sync script calls, as IAM names them; a waiter calls its own."""
    source = SYNC_SCRIPT.read_text(encoding="utf-8")
    methods = set(re.findall(r"\bclient\.([a-z_]+)\(", source)) - {"get_waiter"}
    assert methods, "the script calls Lambda through `client`"
    operations = {"".join(part.title() for part in m.split("_")) for m in methods}
    waiters = botocore.session.get_session().get_waiter_model("lambda")
    by_method = {xform_name(name): name for name in waiters.waiter_names}
    for waiter in re.findall(r"\bclient\.get_waiter\(\s*\"(\w+)\"", source):
        operations.add(waiters.get_waiter(by_method[waiter]).operation)
    return {f"lambda:{operation}" for operation in operations}


def test_the_alias_sync_statement_allows_what_the_script_calls_on_the_notifier() -> None:
    statement = _statements()["NotifierAliasSync"]
    assert statement["Effect"] == "Allow"
    assert set(statement["Action"]) == _calls_on_lambda()
    function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{_prod_stack()}-notifier"
    for arn in (function, f"{function}:live", f"{function}:7"):
        assert fnmatchcase(arn, statement["Resource"]), arn
    # and not the dispatcher, which runs its $LATEST and has no alias
    assert not fnmatchcase(
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{_prod_stack()}-DispatcherFunction-AbC",
        statement["Resource"],
    )


def test_the_console_path_names_the_templates_function_and_alias() -> None:
    notifier = cfn_template.load()["Resources"]["NotifierFunction"]["Properties"]
    assert notifier["FunctionName"] == {"Fn::Sub": "${AWS::StackName}-notifier"}
    section = DEPLOY.read_text(encoding="utf-8").split("\n## A clear's durable execution\n")[1]
    section = " ".join(section.split("\n## ", 1)[0].split())
    assert "`<stack>-notifier`" in section
    assert f"**{notifier['AutoPublishAlias']}**" in section
    assert "**Durable executions**" in section
    assert (
        f"--function-name {_prod_stack()}-notifier --qualifier {notifier['AutoPublishAlias']}"
        in section
    )
