"""What `make demo` prints: readable steps, the dispatcher's warnings, Slack as Slack shows it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from local.slack_receiver import render
from local.steps import dispatcher_answer

ROOT = Path(__file__).resolve().parents[2]

ANSWER = {
    "commandId": "11111111-2222-4333-8444-555555555555",
    "group": "web-prod",
    "prefix": None,
    "expect": {"desiredCapacity": 3, "inService": 3, "managedOnline": 2},
    "warnings": [
        {
            "reason": "not-online",
            "message": "i-0abc is InService but its SSM agent is ConnectionLost; "
            "its invocation will likely end DeliveryTimedOut",
            "instanceId": "i-0abc",
        }
    ],
    "consoleUrl": "https://example.invalid/",
}


def test_the_dispatcher_step_reads_as_a_sentence_and_shows_each_warning() -> None:
    line, notes = dispatcher_answer("console-clear-all.json", ANSWER)
    assert "{" not in line and "'" not in line, "no raw dict in a step line"
    assert "wants 3, 3 InService, 2 with an SSM agent online" in line
    assert notes == [
        "warning (not-online): i-0abc is InService but its SSM agent is ConnectionLost; "
        "its invocation will likely end DeliveryTimedOut"
    ]


def test_an_answer_without_warnings_says_so() -> None:
    _, notes = dispatcher_answer("console-clear-all.json", {**ANSWER, "warnings": []})
    assert notes == ["no warnings: every InService instance has an agent online"]


def test_slack_is_printed_as_slack_shows_it() -> None:
    payload = {
        "text": "fallback",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "APCu clear failed"}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "<!here> *web-prod*: a &lt;!channel&gt;"},
            },
        ],
    }
    lines = render(payload, indent="").splitlines()
    # Slack shows a header as written (larger, bold), not upper-cased.
    assert lines[0] == "APCu clear failed"
    # A mention shows as @here, bold without its asterisks, escaped text as text.
    assert lines[1] == "@here web-prod: a <!channel>"


def test_the_no_targets_scenario_warns_before_the_verdict_confirms_it() -> None:
    # Given no instance with a registered agent, When the demo runs no-targets, Then the
    # dispatcher already says so (0 online, a warning per instance) and the verdict agrees.
    completed = subprocess.run(
        [sys.executable, "-m", "local.run", "--scenario", "no-targets"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = completed.stdout
    assert completed.returncode == 0, out + completed.stderr
    dispatched = out[out.index("[2/6]") : out.index("[3/6]")]
    assert "0 with an SSM agent online" in dispatched
    assert dispatched.count("warning (not-managed)") == 3
    assert "verdict no_targets as expected" in out
