"""With tracing on, X-Ray patches botocore only: a patched HTTP client would record the Slack
webhook URL (the secret) in every trace of the notifier."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness import stack

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json, sys
sys.path[:0] = ["src/{function}", "src/clear"]
{load}
from aws_xray_sdk.core import patcher
print(json.dumps(sorted(patcher._PATCHED_MODULES)))
"""

LOADS = {
    "notifier": "import apcu_notifier.handler",
    "dispatcher": "import apcu_dispatcher.api",
}


@pytest.mark.parametrize("function", ["notifier", "dispatcher"])
def test_tracing_patches_botocore_only(function: str) -> None:
    env = {
        **os.environ,
        **stack.environment(),
        # As inside Lambda, with the stack's Tracing: Active.
        "AWS_LAMBDA_FUNCTION_NAME": f"apcu-{function}",
        "LAMBDA_TASK_ROOT": str(ROOT / "src" / function),
        "POWERTOOLS_TRACE_DISABLED": "false",
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
    }
    probe = PROBE.format(function=function, load=LOADS[function])
    completed = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    patched = json.loads(completed.stdout.strip().splitlines()[-1])
    assert patched == ["botocore"]
