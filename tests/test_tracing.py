"""With tracing on, X-Ray patches botocore only: a patched requests would record the Slack
webhook URL (the secret) in every trace of the notifier."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json, sys
sys.path[:0] = ["src/{function}", "src/clear"]
{load}
from aws_xray_sdk.core import patcher
print(json.dumps(sorted(patcher._PATCHED_MODULES)))
"""

LOADS = {
    "notifier": "from apcu_notifier import observability\nobservability.trace_handler(lambda e, c: None)",
    "dispatcher": "import apcu_dispatcher.handler",
}


@pytest.mark.parametrize("function", ["notifier", "dispatcher"])
def test_tracing_patches_botocore_only(function: str) -> None:
    env = {
        **os.environ,
        # As inside Lambda, with the stack's Tracing: Active.
        "AWS_LAMBDA_FUNCTION_NAME": f"apcu-{function}",
        "LAMBDA_TASK_ROOT": str(ROOT / "src" / function),
        "POWERTOOLS_TRACE_DISABLED": "false",
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        "SLACK_WEBHOOK_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:slack-AbCdEf",
        "ALLOWED_GROUPS": "web-prod",
        "DOCUMENT_NAME": "apcu-fleet-flush-FlushDocument-x",
        "NOTIFICATION_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:t",
        "NOTIFICATION_ROLE_ARN": "arn:aws:iam::123456789012:role/r",
        "COMMANDS_TABLE": "apcu-fleet-flush-commands",
        "WATCHDOG_GROUP": "apcu-fleet-flush-watchdog",
        "WATCHDOG_ROLE_ARN": "arn:aws:iam::123456789012:role/w",
        "WATCHDOG_TARGET_ARN": "arn:aws:lambda:us-east-1:123456789012:function:n",
        "WATCHDOG_DEAD_LETTER_ARN": "arn:aws:sqs:us-east-1:123456789012:q",
        "EXECUTION_TIMEOUT_SECONDS": "60",
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
