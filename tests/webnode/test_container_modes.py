"""The SSM document's two ways of reaching the web node, as the instance runs them.

The script is taken from template.yaml as CloudFormation deploys it (Fn::Sub fills in
ContainerName and ApcuPort) and run by sh and bash, with PATH holding only stand-ins, so that
the very programs the script calls, and how, are what the test sees:

- ContainerName empty (nginx and php-fpm installed from packages on the instance): PATH has a
  stand-in `curl` and no `docker`; the script must call curl itself.
- ContainerName set (nginx in a container): PATH has a stand-in `docker` and no `curl`; the
  stand-in records `exec <container> curl ...` and runs the stand-in curl, which only the
  "container" can see. A script calling curl outside the container would find none.

The stand-in curl records its arguments and answers as apcu.php and opcache.php do, or fails
as curl does on an HTTP error (exit 22) when told to.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness import cfn_template

PORT = 8123
APCU_URL = f"http://127.0.0.1:{PORT}/apcu.php"
OPCACHE_URL = f"http://127.0.0.1:{PORT}/opcache.php"
CONTAINER = "php-web"
# Absolute paths: the script's PATH holds nothing but the stand-ins.
SHELLS = {name: shutil.which(name) for name in ("sh", "bash")}

# Answers one call as the endpoint the URL names would. STANDIN_FAIL names the call that fails
# instead (apcu, reset or confirm): exit 22 with curl's message, and the body printed only with
# --fail-with-body, as curl 7.76+ does.
CURL = """#!{python}
import json, os, sys

args = sys.argv[1:]
with open(os.environ["STANDIN_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps(["curl", *args]) + "\\n")
url = args[-1]
data = [args[i + 1] for i, a in enumerate(args) if a in ("--data", "--data-urlencode")]
if url.endswith("/apcu.php"):
    call = "apcu"
    prefix = next((d[len("prefix="):] for d in data if d.startswith("prefix=")), None)
    body = {{"cache": "apcu", "status": "cleared", "scope": "prefix" if prefix else "all",
            "prefix": prefix, "cleared": 3, "host": "ip-10-0-1-5", "pid": 4242}}
elif "step=reset" in data:
    call = "reset"
    body = {{"cache": "opcache", "status": "scheduled", "host": "ip-10-0-1-5",
            "scripts_before": 4, "manual_restarts_before": 0, "restarts_before": 0}}
else:
    call = "confirm"
    body = {{"cache": "opcache", "status": "reset", "host": "ip-10-0-1-5", "caveats": []}}
if os.environ.get("STANDIN_FAIL") == call:
    if "--fail-with-body" in args:
        print(json.dumps({{"cache": body["cache"], "status": "error", "error": "disabled"}}))
    print("curl: (22) The requested URL returned error: 503", file=sys.stderr)
    sys.exit(22)
print(json.dumps(body, separators=(",", ":")))
"""

# `docker exec <container> <command...>`: recorded, then the command run "in the container",
# whose PATH is the folder only the container sees.
DOCKER = """#!{python}
import json, os, sys

with open(os.environ["STANDIN_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps(["docker", *sys.argv[1:]]) + "\\n")
if sys.argv[1:2] != ["exec"] or len(sys.argv) < 4 or sys.argv[2].startswith("-"):
    print("docker stand-in: expected exec CONTAINER COMMAND...", file=sys.stderr)
    sys.exit(125)
command = os.path.join(os.environ["STANDIN_CONTAINER_PATH"], sys.argv[3])
os.execv(command, [command, *sys.argv[4:]])
"""


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    calls: list[list[str]]

    def answers(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines()]


def _write(path: Path, text: str) -> None:
    path.write_text(text.format(python=sys.executable), encoding="utf-8")
    path.chmod(0o755)


def run_script(
    tmp_path: Path,
    container: str,
    action: str,
    prefix: str = "",
    *,
    shell: str = "bash",
    fail: str = "",
    docker: bool | None = None,
    agent: str = "env-var agent",
) -> Run:
    """The document's script as deployed with ContainerName=container and ApcuPort=PORT, run
    the way the SSM agent runs it. The stand-in curl is on PATH on the host, or only inside the
    container; docker is on PATH with a container (`docker` overrides that)."""
    script = cfn_template.flush_script({"ContainerName": container, "ApcuPort": str(PORT)})
    host, inside = tmp_path / "host-bin", tmp_path / "container-bin"
    host.mkdir()
    inside.mkdir()
    log = tmp_path / "calls.jsonl"
    log.touch()
    _write((inside if container else host) / "curl", CURL)
    if bool(container) if docker is None else docker:
        _write(host / "docker", DOCKER)
    env = {
        "PATH": str(host),
        "STANDIN_LOG": str(log),
        "STANDIN_CONTAINER_PATH": str(inside),
        "STANDIN_FAIL": fail,
    }
    if agent == "env-var agent":
        env |= {"SSM_action": action, "SSM_prefix": prefix}
    else:
        # Older agents substitute the parameters' text instead, allowedPattern having checked it.
        script = script.replace("{{ action }}", action).replace("{{ prefix }}", prefix)
    interpreter = SHELLS[shell]
    assert interpreter, f"{shell} is not installed"
    done = subprocess.run(
        [interpreter, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    calls = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    return Run(done.returncode, done.stdout, done.stderr, calls)


def apcu_call(prefix: str) -> list[str]:
    data = ["--data-urlencode", f"prefix={prefix}"] if prefix else []
    return ["curl", "-fsS", "--max-time", "20", "-X", "POST", *data, APCU_URL]


RESET_CALL = [
    "curl",
    "-sS",
    "--fail-with-body",
    "--max-time",
    "20",
    "-X",
    "POST",
    "--data",
    "step=reset",
    OPCACHE_URL,
]
SCHEDULED = {
    "cache": "opcache",
    "status": "scheduled",
    "host": "ip-10-0-1-5",
    "scripts_before": 4,
    "manual_restarts_before": 0,
    "restarts_before": 0,
}


def confirm_call() -> list[str]:
    # The confirmation carries the reset step's answer, word for word.
    scheduled = json.dumps(SCHEDULED, separators=(",", ":"))
    return [
        "curl",
        "-sS",
        "--fail-with-body",
        "--max-time",
        "20",
        "-X",
        "POST",
        "--data",
        "step=confirm",
        "--data-urlencode",
        f"scheduled={scheduled}",
        OPCACHE_URL,
    ]


def curl_calls(action: str, prefix: str) -> list[list[str]]:
    """The curl calls, in order, that a clear with this action and prefix makes."""
    return {
        "clear-apcu": [apcu_call(prefix)],
        "reset-opcache": [RESET_CALL, confirm_call()],
        "clear-all": [apcu_call(prefix), RESET_CALL, confirm_call()],
    }[action]


def as_made(container: str, calls: list[list[str]]) -> list[list[str]]:
    """What the stand-ins record for these curl calls: in the container, docker's call first."""
    if not container:
        return calls
    made = []
    for call in calls:
        made += [["docker", "exec", container, *call], call]
    return made


MODES = {"packages on the host": "", "container": CONTAINER}
CLEARS = [
    ("clear-apcu", ""),
    ("clear-apcu", "user:"),
    ("reset-opcache", ""),
    ("clear-all", ""),
    ("clear-all", "user:"),
]


@pytest.mark.parametrize("shell", sorted(SHELLS))
@pytest.mark.parametrize(("action", "prefix"), CLEARS)
@pytest.mark.parametrize("mode", MODES)
def test_each_action_makes_its_calls_on_the_host_or_in_the_container(
    tmp_path: Path, mode: str, action: str, prefix: str, shell: str
) -> None:
    container = MODES[mode]
    run = run_script(tmp_path, container, action, prefix, shell=shell)

    assert run.returncode == 0, run.stderr
    assert run.calls == as_made(container, curl_calls(action, prefix))
    # The invocation's output is what the notifier reads: the endpoints' lines, APCu's first
    caches = [a["cache"] for a in run.answers()]
    assert caches == {"clear-apcu": ["apcu"], "reset-opcache": ["opcache"]}.get(
        action, ["apcu", "opcache"]
    )
    if action != "reset-opcache":
        assert run.answers()[0]["prefix"] == (prefix or None)


@pytest.mark.parametrize("mode", MODES)
def test_the_text_agent_makes_the_same_calls(tmp_path: Path, mode: str) -> None:
    # SSM agents before 3.3.2746.0 put the parameters into the script's text
    container = MODES[mode]
    run = run_script(tmp_path, container, "clear-all", "user:", agent="text agent")
    assert run.returncode == 0, run.stderr
    assert run.calls == as_made(container, curl_calls("clear-all", "user:"))


@pytest.mark.parametrize("shell", sorted(SHELLS))
@pytest.mark.parametrize("mode", MODES)
def test_a_prefix_with_reset_opcache_is_refused_before_any_call(
    tmp_path: Path, mode: str, shell: str
) -> None:
    run = run_script(tmp_path, MODES[mode], "reset-opcache", "user:", shell=shell)
    assert run.returncode == 2
    assert run.calls == []
    assert run.stdout == ""
    assert "a prefix applies to APCu only" in run.stderr


@pytest.mark.parametrize("mode", MODES)
def test_an_unknown_action_is_refused_before_any_call(tmp_path: Path, mode: str) -> None:
    run = run_script(tmp_path, MODES[mode], "flush-everything")
    assert run.returncode == 2
    assert run.calls == []
    assert "unknown action: flush-everything" in run.stderr


@pytest.mark.parametrize(
    ("action", "fail", "made"),
    [
        # APCu's clear fails: clear-all goes no further, OPcache is not touched
        ("clear-apcu", "apcu", 1),
        ("clear-all", "apcu", 1),
        # the reset step fails: nothing to confirm; its reason is printed for the notifier
        ("reset-opcache", "reset", 1),
        ("clear-all", "reset", 2),
        # the confirmation fails: the restart did not take
        ("reset-opcache", "confirm", 2),
        ("clear-all", "confirm", 3),
    ],
)
@pytest.mark.parametrize("shell", sorted(SHELLS))
@pytest.mark.parametrize("mode", MODES)
def test_a_failing_curl_fails_the_invocation(
    tmp_path: Path, mode: str, shell: str, action: str, fail: str, made: int
) -> None:
    container = MODES[mode]
    run = run_script(tmp_path, container, action, shell=shell, fail=fail)

    assert run.returncode != 0
    assert run.calls == as_made(container, curl_calls(action, "")[:made])
    assert "curl: (22) The requested URL returned error: 503" in run.stderr
    if fail != "apcu":
        # opcache.php's reason, which --fail-with-body prints, is the output's last line
        assert run.answers()[-1] == {"cache": "opcache", "status": "error", "error": "disabled"}


@pytest.mark.parametrize("action", ["clear-apcu", "reset-opcache", "clear-all"])
def test_a_container_name_on_a_host_without_docker_fails_and_says_what_to_deploy(
    tmp_path: Path, action: str
) -> None:
    # Given a stack deployed with ContainerName=php-web, on an instance without docker
    run = run_script(tmp_path, CONTAINER, action, docker=False)

    # Then nothing ran, the invocation fails, and its output names the fix
    assert run.returncode != 0
    assert run.calls == []
    assert f"ContainerName is {CONTAINER}, but this instance has no docker" in run.stderr
    assert "deploy with ContainerName empty" in run.stderr


def test_with_container_name_empty_docker_is_never_called_even_where_installed(
    tmp_path: Path,
) -> None:
    # Given an instance with nginx and php-fpm from packages that also has docker, for
    # something else: the clear must reach the instance's own nginx, never a container's
    run = run_script(tmp_path, "", "clear-all", docker=True)

    assert run.returncode == 0, run.stderr
    assert run.calls == curl_calls("clear-all", "")
