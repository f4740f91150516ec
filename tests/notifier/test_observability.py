"""The X-Ray SDK is loaded only where the notifier will trace: inside Lambda, with the stack's
Tracing parameter Active (POWERTOOLS_TRACE_DISABLED=false). Everywhere else a cold start
skips its import and the botocore patching."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAMBDA = {
    "LAMBDA_TASK_ROOT": str(ROOT / "src" / "notifier"),
    "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
}


@pytest.mark.parametrize(
    ("extra_env", "traced"),
    [
        # The stack's default, Tracing PassThrough.
        ({**LAMBDA, "POWERTOOLS_TRACE_DISABLED": "true"}, False),
        # Tracing Active.
        ({**LAMBDA, "POWERTOOLS_TRACE_DISABLED": "false"}, True),
        ({**LAMBDA, "POWERTOOLS_TRACE_DISABLED": "0"}, True),
        # Outside Lambda, and under `sam local`, there is no daemon to send traces to.
        ({"POWERTOOLS_TRACE_DISABLED": "false"}, False),
        ({**LAMBDA, "POWERTOOLS_TRACE_DISABLED": "false", "AWS_SAM_LOCAL": "true"}, False),
    ],
)
def test_xray_sdk_is_imported_only_when_the_notifier_will_trace(
    extra_env: dict[str, str], traced: bool
) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"LAMBDA_TASK_ROOT", "POWERTOOLS_TRACE_DISABLED", "AWS_SAM_LOCAL"}
    }
    code = (
        "import sys; sys.path[:0] = ['src/notifier', 'src/clear']; import app; "
        "print('aws_xray_sdk' in sys.modules, callable(app.lambda_handler))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, **extra_env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == [str(traced), "True"]


def test_a_cold_start_leaves_out_what_the_notifier_does_not_use() -> None:
    # Given the notifier as the stack deploys it by default (inside Lambda, tracing off)
    env = {**os.environ, **LAMBDA, "POWERTOOLS_TRACE_DISABLED": "true"}
    code = (
        "import sys; sys.path[:0] = ['src/notifier', 'src/clear']; import app; "
        "print(' '.join(sorted(m for m in sys.modules if m.startswith(("
        "'aws_xray_sdk', 'aws_lambda_powertools.utilities.data_classes', "
        "'aws_lambda_powertools.utilities.idempotency')))))"
    )
    # When the handler is imported, as at a Lambda init
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    # Then none of these was loaded: the X-Ray SDK (tracing is off), Powertools' event data
    # classes (the records are read as dicts) and its idempotency layer (loaded with the
    # clients, on the first event, and only when a table is configured)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == []
