"""The README's first command: the whole flow, every scenario, on this machine."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = {
    "ok": "ok",
    "no-targets": "no_targets",
    "mismatch": "mismatch",
    "partial": "partial",
    "failed": "failed",
    "lost-notification": "ok",
    "stuck": "stuck",
    "stopped": "stopped",
    "retry": "ok",
    "warm-pool": "ok",
    "opcache": "ok",
}


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "local.run", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def every_scenario() -> subprocess.CompletedProcess[str]:
    return _run("--all")


def test_every_scenario_gets_its_verdict(every_scenario: subprocess.CompletedProcess[str]) -> None:
    # Given the local run of every scenario, When it ends, Then it exits 0 and says so per scenario.
    output = every_scenario.stdout + every_scenario.stderr
    assert every_scenario.returncode == 0, output
    for scenario, verdict in EXPECTED.items():
        assert f"scenario {scenario}:" in output
        assert f"verdict {verdict} as expected" in output
    assert f"all {len(EXPECTED)} scenarios got the expected verdict" in output


def test_each_scenario_posted_one_slack_message(
    every_scenario: subprocess.CompletedProcess[str],
) -> None:
    assert every_scenario.returncode == 0
    for scenario in EXPECTED:
        payloads = json.loads((ROOT / "local" / "out" / f"{scenario}.slack.json").read_text())
        # stuck: the alert, then the verdict the follow-up watchdog brings; warm-pool: an ok
        # warm-pool clear posts nothing
        assert len(payloads) == {"stuck": 2, "warm-pool": 0}.get(scenario, 1), scenario
        assert all(p["text"] for p in payloads), "Slack needs a top-level text for notifications"
    ok = json.loads((ROOT / "local" / "out" / "ok.slack.json").read_text())[0]
    assert "<!here>" not in json.dumps(ok), "the mention is for alerts only"
    mismatch = json.loads((ROOT / "local" / "out" / "mismatch.slack.json").read_text())[0]
    assert "<!here>" in mismatch["text"]


def test_the_mismatch_says_the_group_is_scaling(
    every_scenario: subprocess.CompletedProcess[str],
) -> None:
    # The scale-out launched one instance after the command was sent, still Pending when the
    # command ended; the message says the group is scaling and counts it.
    assert every_scenario.returncode == 0
    mismatch = (ROOT / "local" / "out" / "mismatch.slack.json").read_text()
    log = (ROOT / "local" / "out" / "mismatch.log").read_text()
    assert "The group is scaling: desired 4, InService 3, pending 1" in mismatch
    assert "ListCommandInvocations" not in mismatch
    assert log, "the function logs are kept for the reader"


def test_the_watchdog_brings_the_verdict_of_a_lost_notification_and_alerts_on_a_stuck_command(
    every_scenario: subprocess.CompletedProcess[str],
) -> None:
    # The schedule the dispatcher created in the embedded AWS is what fired
    assert every_scenario.returncode == 0
    assert "the watchdog schedule fires (at(" in every_scenario.stdout
    [lost] = json.loads((ROOT / "local" / "out" / "lost-notification.slack.json").read_text())
    assert "never arrived" in json.dumps(lost, ensure_ascii=False)
    assert "<!here>" not in lost["text"], "the verdict is ok; the note is not an alert"
    [stuck, verdict] = json.loads((ROOT / "local" / "out" / "stuck.slack.json").read_text())
    assert "still running after its expiry" in stuck["text"]
    assert "<!here>" in stuck["text"]
    # SNS is lost for the stuck command too: the notifier's follow-up schedule brings its verdict
    assert "verdict stuck as expected, then ok from the follow-up" in every_scenario.stdout
    assert "the notifier's follow-up schedule fires (at(" in every_scenario.stdout
    assert "APCu cleared on every instance" in verdict["text"]
    assert "never arrived" in json.dumps(verdict, ensure_ascii=False)


def test_the_deploy_gate_exits_with_the_verdict(
    every_scenario: subprocess.CompletedProcess[str],
) -> None:
    # The installed apcu-flush, signed and waiting, exits 0 for ok and 1 for the mismatch alert.
    assert every_scenario.returncode == 0
    output = every_scenario.stdout
    assert "$ apcu-flush clear web-prod --comment 'demo ok' --wait" in output
    assert "running (InProgress) · " in output, "the pipeline log shows the command running"
    assert "exit 0 (verdict ok) for verdict ok, as expected" in output
    assert "exit 1 (alert) for verdict mismatch, as expected" in output
    assert "ALERT mismatch: 3 of 3 targeted instances cleared their cache" in output


def test_a_wrong_verdict_fails_the_run() -> None:
    completed = _run("--scenario", "ok", "--expect", "mismatch")
    assert completed.returncode == 1
    assert "verdict ok, expected mismatch" in completed.stdout


# What differs from run to run in a message: command ids, instance ids, times.
_VARYING = [
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<command id>"),
    (re.compile(r"\bi-[0-9a-f]{8,17}\b"), "<instance id>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}( UTC|Z)?"), "<time>"),
]


def _normalised(lines: list[str]) -> list[str]:
    for pattern, replacement in _VARYING:
        lines = [pattern.sub(replacement, line) for line in lines]
    return lines


def test_the_readme_mismatch_sample_is_what_the_demo_prints(
    every_scenario: subprocess.CompletedProcess[str],
) -> None:
    assert every_scenario.returncode == 0
    out = every_scenario.stdout
    scenario = out[out.index("scenario mismatch:") :]
    posted = scenario[scenario.index("[5/6]") : scenario.index("[6/6]")]
    printed = [line.split("│ ", 1)[1] for line in posted.splitlines() if "│ " in line]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    after = readme.split("A mismatch, as `make demo SCENARIO=mismatch` prints it", 1)[1]
    sample = after.split("```\n", 2)[1].splitlines()
    assert _normalised(sample) == _normalised(printed)


def test_the_stopped_scenario_refuses_a_clear_while_the_alarm_fires(
    every_scenario: subprocess.CompletedProcess[str],
) -> None:
    # The brake, as the local run shows it: the verdict names the alarm, and the same request
    # asked again while it fires is refused with nothing sent.
    output = every_scenario.stdout
    stopped = output.split("scenario stopped:", 1)[1].split("\nscenario ", 1)[0]
    assert "stop alarm web-prod-database-struggling: OK; the command carries it" in stopped
    assert "The stop alarm web-prod-database-struggling went into ALARM" in stopped
    assert "409 alarm-firing: the stop alarm web-prod-database-struggling is in ALARM" in stopped


def test_the_warm_pool_scenario_holds_the_instance_until_its_verdict(
    every_scenario: subprocess.CompletedProcess[str],
) -> None:
    output = every_scenario.stdout
    held = output.split("scenario warm-pool:", 1)[1].split("\nscenario ", 1)[0]
    assert "waits in Pending:Wait" in held
    assert "CompleteLifecycleAction CONTINUE" in held and "is InService" in held
    assert "Launch Successful follows; the dispatcher sends nothing" in held


def test_the_retry_scenario_repairs_the_miss_and_posts_once(
    every_scenario: subprocess.CompletedProcess[str],
) -> None:
    output = every_scenario.stdout
    retried = output.split("scenario retry:", 1)[1].split("\nscenario ", 1)[0]
    assert "nothing posted; the same command sent again to" in retried
    assert "the clear's verdict ok, 1 message(s) to Slack" in retried
    assert "DeliveryTimedOut, cleared on the second attempt" in retried
