"""What a scenario shows after its clear's verdict, and checks."""

from __future__ import annotations

import json
from pathlib import Path

from harness import aws_emulator as emulator
from harness.stack import GROUP
from local.context import Demo, ScenarioFailed

EVENTS = Path(__file__).resolve().parent.parent / "events" / "dispatcher"


def nothing_retried(demo: Demo, clear_id: str) -> None:
    """An operator's stop is final: nothing is sent again, whatever RetryMissed says."""
    if len(demo.sent) != 1:
        raise ScenarioFailed(f"{len(demo.sent)} commands sent; a stopped clear is never retried")
    demo.console.step(
        f"nothing retried (RetryMissed {demo.stack.env['RETRY_MISSED']}): a stop is final; the "
        "alert says how to finish once it is safe"
    )


def refused_while_the_alarm_fires(demo: Demo, clear_id: str) -> None:
    """The same request again while the alarm still fires: refused, nothing sent."""
    nothing_retried(demo, clear_id)
    event = json.loads((EVENTS / "console-clear-apcu.json").read_text(encoding="utf-8"))
    answer = demo.stack.dispatch(event)
    error = answer.get("body", {}).get("error", {})
    if answer.get("statusCode") != 409 or error.get("rule") != "alarm-firing":
        raise ScenarioFailed(f"a clear while the alarm fires got {json.dumps(answer)}")
    demo.console.step(f"dispatcher, asked again: 409 alarm-firing: {error.get('message')}")


def retried_once(demo: Demo, clear_id: str) -> None:
    """The clear sent the same clear again to the instance the first command missed, alone."""
    if len(demo.sent) != 2 or len(demo.sent[1][1]) != 1:
        raise ScenarioFailed(f"expected one retry to one instance, got {demo.sent}")
    command, [instance] = demo.sent[1]
    demo.console.step(
        f"the clear retried {instance} alone (command {command}); the one message says so"
    )


def launch_continued(demo: Demo, clear_id: str) -> None:
    """The verdict completed the held launch (the instance goes InService), and the "Launch
    Successful" event that follows sends nothing."""
    assert demo.held is not None
    instance, token = demo.held
    result = emulator.lifecycle_result(token)
    state = emulator.lifecycle_state(GROUP, instance)
    if (result, state) != ("CONTINUE", "InService"):
        raise ScenarioFailed(f"the launch action ended {result}, {instance} is {state}")
    demo.console.step(
        f"the clear completed the launch action: CompleteLifecycleAction {result}, {instance} "
        f"is {state} (a warm-pool clear posts only when it alerts)"
    )
    event = json.loads((EVENTS / "warm-pool-exit.json").read_text(encoding="utf-8"))
    event["detail"] |= {"EC2InstanceId": instance, "AutoScalingGroupName": GROUP}
    answer = demo.stack.dispatch(event)
    body = answer.get("body", {})
    if body.get("clearedBy") != clear_id:
        raise ScenarioFailed(f"Launch Successful got {json.dumps(answer)}")
    demo.console.step(
        f"Auto Scaling: Launch Successful follows; the dispatcher sends nothing: {body.get('message')}"
    )
