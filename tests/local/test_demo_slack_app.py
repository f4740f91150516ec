"""`make demo SLACK=app`: one clear in one Slack message, from its start to the verdict of the
retry its button asked for, through the real functions, the local HTTP API and the Slack Web
API stand-in."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "local" / "out"


@pytest.fixture(scope="module")
def app_run() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "local.run", "--slack", "app"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_the_app_demo_ends_ok_in_one_message(app_run: subprocess.CompletedProcess[str]) -> None:
    output = app_run.stdout + app_run.stderr
    assert app_run.returncode == 0, output
    assert "verdict ok, one message from start to end" in output
    assert "SSM notifies InProgress" in output


def test_the_message_goes_from_started_to_alert_with_its_button_to_ok(
    app_run: subprocess.CompletedProcess[str],
) -> None:
    assert app_run.returncode == 0
    versions = json.loads((OUT / "slack-app.slack.json").read_text(encoding="utf-8"))
    texts = [v["text"] for v in versions]
    assert texts[0].startswith("⏳ APCu clear started")
    assert texts[1].startswith("🚨 APCu clear failed")
    assert texts[-1].startswith("✅")
    buttons = [
        element
        for block in versions[1]["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]
    assert [b["text"]["text"] for b in buttons] == ["Clear the 1 stale instance again"]
    # The press is shown on the message before the retry's verdict replaces it.
    assert "Retry asked by <@U0APCUOPS>" in texts[2]


def test_only_the_allowed_user_could_send_the_retry(
    app_run: subprocess.CompletedProcess[str],
) -> None:
    assert app_run.returncode == 0
    calls = json.loads((OUT / "slack-app.calls.json").read_text(encoding="utf-8"))
    ephemerals = [params for method, params in calls if method == "chat.postEphemeral"]
    assert [e["user"] for e in ephemerals] == ["U0APCUDEV"]
    assert "Nothing was sent" in ephemerals[0]["text"]
    own = [
        params
        for method, params in calls
        if method == "chat.postMessage" and "thread_ts" not in params
    ]
    assert len(own) == 1, "the clear posted more than one message of its own"
    broadcast = [p for method, p in calls if p.get("reply_broadcast") in (True, "true")]
    assert len(broadcast) == 1 and broadcast[0]["text"].startswith("<!here>")
