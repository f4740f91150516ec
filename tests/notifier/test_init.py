"""A wrong configuration fails the container's init, once, not every event after it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _import_app(language: str) -> subprocess.CompletedProcess[str]:
    """Import the notifier as Lambda does at init, in a fresh process."""
    env = {**os.environ, "MESSAGE_LANGUAGE": language, "POWERTOOLS_TRACE_DISABLED": "true"}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.path[:0] = ['src/notifier', 'src/clear']; import app",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_bad_language_fails_the_import_with_its_name() -> None:
    completed = _import_app("fr")
    assert completed.returncode != 0
    assert "MESSAGE_LANGUAGE" in completed.stderr


def test_a_good_configuration_imports() -> None:
    completed = _import_app("ja")
    assert completed.returncode == 0, completed.stderr


def _cold_start(mode: str) -> subprocess.CompletedProcess[str]:
    """Import the notifier and build its runtime, as its first event does; print whether
    slack_sdk was loaded, whether there is a Web API client, and whether requests was loaded."""
    env = {**os.environ, "POWERTOOLS_TRACE_DISABLED": "true", "SLACK_MODE": mode}
    if mode == "app":
        env["SLACK_APP_SECRET_ARN"] = (
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:apcu-fleet-flush/slack-app-AbCdEf"
        )
    code = (
        "import sys; sys.path[:0] = ['src/notifier', 'src/clear']; import app; "
        "from apcu_notifier import handler; rt = handler.runtime(); "
        "print('slack_sdk' in sys.modules, rt.slack_web is not None, 'requests' in sys.modules)"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )


def test_webhook_mode_never_loads_slack_sdk_and_app_mode_never_loads_requests() -> None:
    webhook = _cold_start("webhook")
    app = _cold_start("app")

    assert webhook.returncode == 0, webhook.stderr
    assert webhook.stdout.split() == ["False", "False", "True"]
    assert app.returncode == 0, app.stderr
    assert app.stdout.split() == ["True", "True", "False"]
