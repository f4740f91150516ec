"""The SSM document's script out of template.yaml, run here the way the SSM agent runs it.

The script is the one CloudFormation deploys with ContainerName empty, the choice for nginx and
php-fpm installed on the instance itself, as on this machine: curl runs here, and everything
(set -eu, the agent fallback, the action's case, curl's options) runs as written. The script is
run by sh, which the SSM agent uses for aws:runShellScript (dash on Debian and Ubuntu, bash on
Amazon Linux), or by bash. tests/webnode/test_container_modes.py runs the container mode.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from typing import Any

from harness import cfn_template
from harness.webnode_server import Tools, local_flush_script

SHELLS = ["sh", "bash"]
# How the agent hands over the parameters: 3.3.2746.0+ sets $SSM_<name> (interpolationType
# ENV_VAR) and leaves the text alone; older agents only replace {{ <name> }} in the text.
AGENTS = ["env-var agent", "text agent"]


def document_script(port: int) -> str:
    """The script as deployed with ApcuPort=port and ContainerName empty."""
    template = cfn_template.load()
    assert "FlushDocument" in template["Resources"], "template.yaml has no FlushDocument"
    local = local_flush_script(port)
    assert "${!" not in local, "Fn::Sub's ${!...} escape left in the script"
    return local


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str

    def lines(self) -> list[dict[str, Any]]:
        """Every line of stdout, each one JSON object: what the notifier reads."""
        assert self.stdout.endswith("\n"), self.stdout
        found = [json.loads(line) for line in self.stdout.splitlines()]
        assert all(isinstance(line, dict) for line in found), self.stdout
        return found

    def answer(self) -> dict[str, Any]:
        """The one line of a run that succeeded."""
        assert self.returncode == 0, self.stderr
        (line,) = self.lines()
        return line


def run_document(
    tools: Tools,
    port: int,
    prefix: str = "",
    *,
    action: str = "clear-apcu",
    interpreter: str = "sh",
    agent: str = "env-var agent",
) -> Run:
    """Runs the document's script the way the SSM agent would, with these parameters."""
    script = document_script(port)
    env = {key: value for key, value in os.environ.items() if not key.startswith("SSM_")}
    env["PATH"] = f"{tools.curl.parent}:{env.get('PATH', '/usr/bin:/bin')}"
    if agent == "env-var agent":
        env["SSM_prefix"] = prefix
        env["SSM_action"] = action
    else:
        assert "{{ prefix }}" in script and "{{ action }}" in script
        script = script.replace("{{ prefix }}", prefix).replace("{{ action }}", action)
    done = subprocess.run(
        [interpreter, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)
