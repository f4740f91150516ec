"""Every command the README shows is one that works, checked as far as this machine allows.

What runs here runs elsewhere: `make demo` and `local.run` in tests/local, the stored events in
tests/events (as `sam local invoke` runs them). What needs an AWS account is checked for its
shape: `aws` commands against botocore's service model (operation and every option), `make`
targets with `make -n`, the API body against the dispatcher's own validator, the names
against samconfig.toml and the template. A README command no rule here knows fails the test.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import tomllib
from collections.abc import Callable
from functools import cache
from pathlib import Path

import botocore.session
import pytest

from apcu_dispatcher.validation import validate_request
from apcu_flush.cli import parser as apcu_flush_parser
from harness import cfn_template
from local.scenarios import SCENARIOS

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
_SH_BLOCK = re.compile(r"^[ \t]*```sh\n(.*?)^[ \t]*```", re.MULTILINE | re.DOTALL)
_SUBSHELL = re.compile(r"\$\(\s*(aws [^()]*?)\)")
# Options of the aws CLI itself, not of an operation.
AWS_GLOBAL_OPTIONS = {"region", "query", "output", "profile", "cli-binary-format"}


def readme_commands(document: Path = README) -> list[str]:
    commands = []
    for block in _SH_BLOCK.findall(document.read_text(encoding="utf-8")):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            # A comment starts at " #" outside quotes; the README's commands keep # out of quotes.
            command = re.split(r"\s+#\s", line.strip(), maxsplit=1)[0].strip()
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


@cache
def samconfig() -> dict[str, object]:
    return tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))


def _stack_settings() -> dict[str, tuple[str, str]]:
    """stack name -> (config env, region), from samconfig.toml."""
    found = {}
    for env, sections in samconfig().items():
        if not isinstance(sections, dict):
            continue
        # A stack is made by `sam deploy`, or by `sam sync` for a development stack.
        command = "deploy" if "deploy" in sections else "sync" if "sync" in sections else None
        if command is None:
            continue
        name = sections["global"]["parameters"]["stack_name"]
        found[name] = (env, sections[command]["parameters"]["region"])
    return found


def _options(words: list[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for index, word in enumerate(words):
        if word.startswith("--"):
            following = words[index + 1] if index + 1 < len(words) else ""
            options[word[2:]] = "" if following.startswith("-") else following
    return options


def check_aws(command: str) -> None:
    words = shlex.split(command)
    service, operation_name = words[1], words[2]
    model = botocore.session.get_session().get_service_model(service)
    operation = "".join(part.capitalize() for part in operation_name.split("-"))
    assert operation in model.operation_names, f"aws {service} has no {operation_name}"
    members = model.operation_model(operation).input_shape.members
    kebab = {re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower() for name in members}
    for option in _options(words[3:]):
        assert option in kebab | AWS_GLOBAL_OPTIONS, f"{operation_name} has no --{option}"
    options = _options(words[3:])
    if options.get("stack-name", "$").startswith("$"):
        options.pop("stack-name", None)  # a shell variable, set by the runbook
    if "stack-name" in options:
        assert options["stack-name"] in _stack_settings()
        if "region" in options:
            assert _stack_settings()[options["stack-name"]][1] == options["region"]
    if "query" in options:
        outputs = re.findall(r"OutputKey=='(\w+)'", options["query"])
        assert set(outputs) <= set(cfn_template.load()["Outputs"]), outputs


def check_make(command: str) -> None:
    words = shlex.split(command)
    completed = subprocess.run(
        ["make", "-n", "--no-print-directory", *words[1:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    settings = dict(w.split("=", 1) for w in words[1:] if "=" in w)
    if "SCENARIO" in settings:
        assert settings["SCENARIO"] in SCENARIOS
    if "LANGUAGE" in settings:
        assert f"--lang {settings['LANGUAGE']}" in completed.stdout
    if "SLACK" in settings:
        assert settings["SLACK"] == "app"
        assert "--slack app" in completed.stdout
    if "ENV" in settings:
        assert settings["ENV"] in samconfig()
        assert f"--config-env {settings['ENV']}" in completed.stdout


def check_local_run(command: str) -> None:
    options = _options(shlex.split(command))
    assert options.get("scenario") in SCENARIOS
    assert options.get("lang") in {"en", "ja"}


def check_sam_local_invoke(command: str) -> None:
    words = shlex.split(command)
    function = words[3]
    assert function in cfn_template.load()["Resources"]
    options = dict(zip(words[4::2], words[5::2], strict=True))
    assert (ROOT / options["-e"]).is_file()
    assert options["--env-vars"] == "events/env.json"
    assert function in json.loads((ROOT / "events" / "env.json").read_text(encoding="utf-8"))


def check_sam_remote_invoke(command: str) -> None:
    words = shlex.split(command)
    assert words[3] in cfn_template.load()["Resources"]
    options = _options(words[4:])
    assert set(options) <= {"stack-name", "region", "event-file"}
    env, region = _stack_settings()[options["stack-name"]]
    assert options["region"] == region, env
    assert (ROOT / options["event-file"]).is_file()


def check_sam_sync(command: str) -> None:
    # sam sync skips the change set review: only an environment meant for it may be synced.
    env = _options(shlex.split(command))["config-env"]
    sections = samconfig()[env]
    assert isinstance(sections, dict) and "sync" in sections, env


def check_sam_logs(command: str) -> None:
    words = shlex.split(command)
    options = _options(words[2:])
    env, region = _stack_settings()[options["stack-name"]]
    assert options["region"] == region, env
    if "-n" in words:
        assert words[words.index("-n") + 1] in cfn_template.load()["Resources"]


def check_awscurl(command: str) -> None:
    body = json.loads(_awscurl_body(command))
    validate_request(body, allowed_groups={"web-prod"}, requester="arn:aws:iam::1:user/x")
    assert "--region ap-northeast-1" in command


def _awscurl_body(command: str) -> str:
    words = shlex.split(command)
    return words[words.index("-d") + 1]


def check_pip_install_cli(command: str) -> None:
    project = tomllib.loads((ROOT / "cli" / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["scripts"]["apcu-flush"] == "apcu_flush.cli:main"


def check_apcu_flush(command: str) -> None:
    args = apcu_flush_parser().parse_args(shlex.split(command)[1:])
    if args.command == "clear":
        body = {"group": args.group, "action": args.action, "dryRun": args.dry_run}
        body |= {k: v for k, v in (("prefix", args.prefix), ("comment", args.comment)) if v}
        validate_request(body, allowed_groups={"web-prod"}, requester="arn:aws:iam::1:user/x")
    if args.stack:
        assert args.stack in _stack_settings()
        assert _stack_settings()[args.stack][1] == args.region, "the stack's region"


def nothing_to_check(command: str) -> None:
    return None


def check_sam_on_path(command: str) -> None:
    # The folder put first on PATH holds the sam `make build` installs.
    folder = re.fullmatch(r'export PATH="\$PWD/(\S+)/bin:\$PATH"', command)
    assert folder, command
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    venv = re.search(r"^SAM_VENV\s*:=\s*(\S+)$", makefile, re.MULTILINE)
    assert venv and venv.group(1) == folder.group(1), command
    assert re.search(r"^SAM\s*:=\s*\$\(SAM_VENV\)/bin/sam$", makefile, re.MULTILINE)
    assert re.search(r"^build: \$\(SAM_VENV\)/\.installed", makefile, re.MULTILINE)


RULES: list[tuple[str, Callable[[str], None]]] = [
    (r"make test", nothing_to_check),  # it is what CI runs
    (r'export PATH="\$PWD/\S+:\$PATH"', check_sam_on_path),
    (r"make [a-z-]+( [A-Z_]+=\S+)*", check_make),
    (r"\.venv/bin/python -m local\.run .*", check_local_run),
    (r"sam local invoke .*", check_sam_local_invoke),
    (r"sam remote invoke .*", check_sam_remote_invoke),
    (r"sam sync --config-env [a-z]+", check_sam_sync),
    (r"sam logs .*", check_sam_logs),
    (r"aws [a-z0-9-]+ [a-z0-9-]+ .*", check_aws),
    (r"pip install awscurl", nothing_to_check),
    (r"awscurl .*", check_awscurl),
    (r"pip install \./cli", check_pip_install_cli),
    (r"apcu-flush .*", check_apcu_flush),
]


def _rule(command: str) -> Callable[[str], None]:
    for pattern, check in RULES:
        if re.fullmatch(pattern, command):
            return check
    raise AssertionError(f"no test knows the README command {command!r}")


def _expanded() -> list[str]:
    """Each README command, and each `aws` command inside a $(...) of it, on its own."""
    commands = []
    for command in readme_commands():
        commands.extend(_SUBSHELL.findall(command))
        commands.append(_SUBSHELL.sub("URL", command))
    return commands


@pytest.mark.parametrize("command", _expanded())
def test_a_readme_command_is_one_that_works(command: str) -> None:
    _rule(command)(command)


def test_the_readme_shows_commands() -> None:
    commands = readme_commands()
    assert any(c.startswith("make demo") for c in commands)
    assert any(c.startswith("aws secretsmanager put-secret-value") for c in commands)


def _docs_aws_commands() -> list[str]:
    found = []
    for document in sorted((ROOT / "docs").glob("*.md")):
        for command in readme_commands(document):
            found.extend(_SUBSHELL.findall(command))
            command = _SUBSHELL.sub("VALUE", command)
            if command.startswith("aws "):
                found.append(command)
    return found


@pytest.mark.parametrize("command", _docs_aws_commands())
def test_an_aws_command_in_the_docs_exists_with_its_options(command: str) -> None:
    check_aws(command)


def test_the_readme_puts_the_pinned_sam_on_path_before_its_first_sam_command() -> None:
    # `make build` installs SAM into .venv-sam, not on PATH: a bare `sam` fails without this.
    commands = readme_commands()
    first_sam = next(i for i, c in enumerate(commands) if c.startswith("sam "))
    exports = [i for i, c in enumerate(commands) if _rule(c) is check_sam_on_path]
    assert exports and exports[0] < first_sam
