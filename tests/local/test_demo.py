"""The README's first command, `make demo`: every scenario through real durable executions in
AWS's in-process runner, Slack as a reader sees it, and each clear's execution history."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.local.demo import ROOT, Printed, barred, seconds, shared_run

EXPECTED = {
    "ok": "ok",
    "no-targets": "no_targets",
    "mismatch": "mismatch",
    "partial": "partial",
    "failed": "failed",
    "lost-notification": "ok",
    "stuck": "ok",
    "stopped": "stopped",
    "cancelled": "cancelled",
    "retry": "ok",
    "warm-pool": "ok",
    "opcache": "ok",
    "dry-run": "dry run",
}
# Slack messages each clear posts in webhook mode: the stuck alert and the verdict; a warm-pool
# clear posts only when it alerts; a dry run sends nothing.
POSTS = {"stuck": 2, "warm-pool": 0, "dry-run": 0}
# The longest the whole demo may take on a 2-core machine; it takes about 20 s.
PATIENCE_SECONDS = 90


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Printed:
    return shared_run(tmp_path_factory, "demo", "--all")


def test_every_scenario_ends_as_expected_and_quickly(demo: Printed) -> None:
    assert demo.returncode == 0, demo.stdout + demo.stderr
    for scenario, verdict in EXPECTED.items():
        assert f"\n  {verdict} as expected (" in demo.scenario(scenario), scenario
    assert f"all {len(EXPECTED)} scenarios ended as expected" in demo.stdout
    assert seconds(demo.stdout.splitlines()[-1]) < PATIENCE_SECONDS
    assert demo.stderr == "", "the functions' output goes to their logs, not the terminal"


def test_each_clear_posts_what_a_reader_needs(demo: Printed) -> None:
    for scenario in EXPECTED:
        posts = demo.slack(scenario)["webhook"]
        assert len(posts) == POSTS.get(scenario, 1), scenario
        assert all(p["text"] for p in posts), "Slack needs a top-level text for notifications"
        if posts:
            printed = barred(demo.step(scenario, "the clear: verdict"))
            assert len(printed) > 3 * len(posts), f"{scenario}: printed as Slack shows it"
    assert "<!here>" not in json.dumps(demo.slack("ok")), "the mention is for alerts only"
    assert demo.slack("failed")["webhook"][0]["text"].startswith("<!here>")


def test_the_readme_mismatch_sample_is_what_the_demo_prints(demo: Printed) -> None:
    printed = barred(demo.step("mismatch", "the clear: verdict"))
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    after = readme.split("A mismatch, as `make demo SCENARIO=mismatch` prints it", 1)[1]
    sample = after.split("```\n", 2)[1].splitlines()
    assert _normalised(sample) == _normalised(printed)


def test_each_clear_prints_its_execution_history(demo: Printed) -> None:
    for scenario in EXPECTED.keys() - {"dry-run"}:
        history = barred(demo.step(scenario, "the clear's execution history"))
        assert re.match(r"execution [0-9a-f-]{36} \(.* UTC\): SUCCEEDED after", history[0])
        steps = [line.split()[1:2] for line in history[1:-1]]
        assert ["step"] in steps and ["callback"] in steps, scenario
        assert history[-1].split()[0] == "returned", scenario
    ok = barred(demo.step("ok", "the clear's execution history"))
    assert any(re.search(r"callback +SSM's notification +succeeded after .*Success", o) for o in ok)
    assert any(re.search(r"step +free the group +succeeded$", line) for line in ok)


def test_the_waits_of_a_retry_and_of_a_stuck_command_are_on_the_executions_clock(
    demo: Printed,
) -> None:
    retry = "\n".join(barred(demo.step("retry", "the clear's execution history")))
    assert re.search(r"wait +wait for attempt 2 +succeeded after 5 s", retry)
    stuck = barred(demo.step("stuck", "the clear's execution history"))
    waits = [line for line in stuck if " wait " in line]
    assert len(waits) == 2 and all(w.endswith("after 15 min") for w in waits)
    assert re.search(
        r"\+9\d\d\.\d\ds +step +look at the command again \(1 of 8\)", "\n".join(stuck)
    )


def test_a_lost_notification_is_judged_when_the_wait_runs_out(demo: Printed) -> None:
    lost = demo.scenario("lost-notification")
    assert "nothing reaches the notifier" in lost
    assert re.search(r"callback +SSM's notification +TIMED OUT after", lost)
    [post] = demo.slack("lost-notification")["webhook"]
    assert "never arrived" in json.dumps(post, ensure_ascii=False)
    assert "<!here>" not in post["text"], "the verdict is ok; the note is not an alert"


def test_a_stuck_command_gets_the_alert_then_its_verdict(demo: Printed) -> None:
    stuck, verdict = demo.slack("stuck")["webhook"]
    assert "still running" in stuck["text"] and "<!here>" in stuck["text"]
    assert verdict["text"].startswith("✅")


def test_an_operators_stop_and_the_stop_alarm_are_final(demo: Printed) -> None:
    stopped = demo.scenario("stopped")
    assert "stop alarm apcu-fleet-flush-database-load: OK; the command carries it" in stopped
    assert "went into ALARM" in json.dumps(demo.slack("stopped"))
    assert "409 alarm-firing: the stop alarm apcu-fleet-flush-database-load is in ALARM" in stopped
    for scenario in ("stopped", "cancelled"):
        assert "nothing retried (RetryMissed 1): a stop is final" in demo.scenario(scenario)
    assert "aws ssm cancel-command --command-id" in demo.scenario("cancelled")


def test_the_retry_scenario_repairs_the_miss_in_one_message(demo: Printed) -> None:
    retried = demo.scenario("retry")
    assert re.search(r"the clear retried i-[0-9a-f]+ alone \(command [0-9a-f-]{36}\)", retried)
    assert "Delivery Timed Out, then cleared on attempt 2" in retried


def test_the_warm_pool_instance_waits_for_its_verdict(demo: Printed) -> None:
    held = demo.scenario("warm-pool")
    assert "waits in Pending:Wait" in held
    assert "CompleteLifecycleAction CONTINUE" in held and "is InService" in held
    assert "Launch Successful follows; the dispatcher sends nothing" in held
    assert re.search(r"step +complete the launch action +succeeded", held)


def test_the_no_targets_scenario_warns_before_the_verdict_confirms_it(demo: Printed) -> None:
    dispatched = demo.step("no-targets", "dispatcher:")
    assert "0 with an SSM agent online" in dispatched
    assert dispatched.count("warning (not-managed)") == 3


def test_a_dry_run_shows_the_plan_and_sends_nothing(demo: Printed) -> None:
    dry = demo.scenario("dry-run")
    assert "-> 200, a dry run" in dry
    assert "would send: apcu-fleet-flush-FlushDocument-" in dry and "prefix config:" in dry
    assert "nothing sent: SSM has no command, no clear started, Slack got nothing" in dry


def test_the_deploy_gate_exits_with_the_verdict(demo: Printed) -> None:
    passed = demo.scenario("ok", heading="deploy gate on scenario")
    stopped = demo.scenario("failed", heading="deploy gate on scenario")
    assert "$ apcu-flush clear web-prod --comment 'demo ok' --wait" in passed
    assert "exit 0 (verdict ok) for verdict ok, as expected" in passed
    assert "exit 1 (alert) for verdict failed, as expected" in stopped
    assert "ALERT failed: 2 of 3 targeted instances cleared their cache" in stopped


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


def test_the_logs_are_kept_for_the_reader(demo: Printed) -> None:
    log = Path(demo.out / "mismatch.log").read_text(encoding="utf-8")
    assert '"message":"clear judged"' in log
