"""`make demo SLACK=app`: one clear in one Slack message, from its start to the verdict of the
retry its button asked for, pressed through POST /slack/actions (the local HTTP API, signed as
Slack signs); and SLACK=app with a SCENARIO runs that scenario in app mode."""

from __future__ import annotations

from typing import Any

import pytest

from tests.local.demo import Printed, barred, run_demo, shared_run


@pytest.fixture(scope="module")
def app_run(tmp_path_factory: pytest.TempPathFactory) -> Printed:
    return shared_run(tmp_path_factory, "app", "--slack", "app")


def versions(run: Printed, name: str) -> list[dict[str, Any]]:
    [message] = run.slack(name)["messages"]
    found: list[dict[str, Any]] = message["versions"]
    return found


def test_the_app_demo_ends_with_the_retry_ok_in_the_one_message(app_run: Printed) -> None:
    assert app_run.returncode == 0, app_run.stdout + app_run.stderr
    assert "scenario failed: one web node answers 503" in app_run.stdout
    assert "failed as expected" in app_run.stdout
    texts = [v["text"] for v in versions(app_run, "failed.app")]
    assert texts[0].startswith("⏳ APCu clear started")
    assert texts[1].startswith("🚨 APCu clear failed")
    assert "Retry asked by <@U0APCUOPS>" in texts[2]
    assert texts[-1].startswith("✅")
    buttons = [
        element
        for block in versions(app_run, "failed.app")[1]["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    ]
    assert [b["text"]["text"] for b in buttons] == ["Clear the 1 instance still stale again"]


def test_only_the_allowed_user_could_send_the_retry(app_run: Printed) -> None:
    assert app_run.returncode == 0
    recorded = app_run.slack("failed.app")
    refused, accepted = recorded["responses"]
    assert refused["text"].startswith("You may not clear from Slack: your user id U0APCUDEV")
    assert "Nothing was sent" in refused["text"]
    assert accepted["text"].startswith("Retry asked by <@U0APCUOPS>")
    press = app_run.step("failed", "U0APCUDEV (not in SlackAllowedUsers) presses")
    assert "-> HTTP 200; nothing sent" in press
    assert barred(press) == [refused["text"]]
    broadcast = [r for r in recorded["messages"][0]["replies"] if r["broadcast"]]
    assert len(broadcast) == 1 and broadcast[0]["text"].startswith("<!here>")


def test_the_retry_is_a_clear_of_its_own_with_its_history(app_run: Printed) -> None:
    assert app_run.returncode == 0
    retry = barred(app_run.step("failed", "the retry's execution history"))
    assert "SUCCEEDED" in retry[0]
    assert any("send attempt 2 (1)" in line for line in retry)
    assert any("update the clear's message" in line for line in retry)


def test_a_scenario_runs_in_app_mode_when_named(tmp_path: Any) -> None:
    run = run_demo(tmp_path, "--slack", "app", "--scenario", "ok")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "(app mode" in run.stdout and "ok as expected" in run.stdout
    texts = [v["text"] for v in versions(run, "ok.app")]
    assert texts[0].startswith("⏳") and texts[-1].startswith("✅") and len(texts) == 2
    assert "Slack, updated in place:" in run.step("ok", "the clear: verdict ok")
    assert "presses" not in run.stdout, "the button is pressed in the app demo's own scenario"
