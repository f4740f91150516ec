"""One scenario, start to end: the request, the clear's durable execution waiting for its command,
the fleet, SSM's notification, the verdict, Slack as a reader sees it, and the execution's
history."""

from __future__ import annotations

import json
from typing import Any

from harness import aws_emulator as emulator
from harness.durable_lambda import ExecutionFailed
from harness.stack import DOCUMENT, GROUP
from local import history, presses
from local.console import dispatcher_answer
from local.context import Demo, ScenarioFailed
from local.scenarios import Scenario
from local.slack_view import Shown, own_messages, record, render

FINAL = {"Success", "Failed", "TimedOut", "Cancelled"}
DRY_RUN = "dry run"


def run(demo: Demo, scenario: Scenario, expected: str) -> str:
    """The scenario's outcome: the clear's verdict, or DRY_RUN; ScenarioFailed when it is not
    `expected` or anything else went wrong."""
    shown = Shown()
    stack, console = demo.stack, demo.console
    settings = ", ".join(f"{k}={v}" for k, v in scenario.settings.items())
    console.step(
        f"deployed ({demo.mode} mode{', ' + settings if settings else ''}): group {GROUP} "
        f"({len(stack.instances)} InService), document {DOCUMENT}, the commands table, the "
        "notifier as a durable function behind its alias"
    )
    scenario.prepare(demo)
    if not scenario.notified:
        # SNS delivers to no one: the subscription, or the topic's policy, is broken.
        emulator.subscribe(None)
    label, event = scenario.request(demo)
    if scenario.dry_run:
        return _dry_run(demo, label, event)
    clear_id = _accepted(demo, label, stack.dispatch(event))
    stack.lambda_.waiting(clear_id)
    # Its first look at the command made and its invocation over: what the fleet does next
    # is seen by the clear's next look, at the same step on every run.
    stack.lambda_.settle()
    console.step(
        "notifier: the dispatcher started the clear's durable execution (Lambda Invoke of the "
        f"notifier's alias, DurableExecutionName {clear_id}); it waits for SSM's notification, a "
        "callback that times out a minute past the command's expiry"
    )
    _show_slack(demo, shown)
    outcome = scenario.fleet(demo, clear_id)
    console.step(f"fleet: {outcome.summary}")
    console.step(_notification(outcome.status, scenario.notified))
    try:
        verdict = str(stack.outcome(clear_id)["verdict"])
    except ExecutionFailed as error:
        raise ScenarioFailed(f"the clear's execution failed: {error}") from error
    console.step(f"the clear: verdict {verdict}; {_posted(demo)}")
    _show_slack(demo, shown)
    _show_history(demo, clear_id)
    status = stack.status(clear_id)
    console.step(
        f"GET /flush/{clear_id}: state {status['state']}, verdict {status['verdict']['kind']}"
    )
    scenario.then(demo, clear_id)
    if demo.is_app and scenario.press:
        retry_id = presses.press_retry(demo, clear_id, lambda: _show_slack(demo, shown))
        _show_history(demo, retry_id, "the retry's")
    _save(demo, scenario.name)
    _check(demo, scenario, verdict, expected)
    return verdict


def _accepted(demo: Demo, label: str, answer: dict[str, Any]) -> str:
    body = answer.get("body") or {}
    if answer.get("statusCode") != 202 or "commandId" not in body:
        raise ScenarioFailed(
            f"the dispatcher answered {answer.get('statusCode')}: {json.dumps(body)}"
        )
    if "expect" in body:
        line, notes = dispatcher_answer(label, body)
    else:
        line, notes = f"dispatcher: {label} -> 202, command {body['commandId']}", []
    demo.console.step(line)
    for note in notes:
        demo.console.detail(note)
    return str(body["commandId"])


def _notification(status: str, notified: bool) -> str:
    if status not in FINAL:
        return (
            "SSM has nothing to notify: the command still runs. The clear's wait runs out a "
            "minute past the command's expiry (2 s after the request here): it looks itself"
        )
    if not notified:
        return (
            f"SSM notifies {status}, but nothing reaches the notifier: the clear's wait runs out "
            "a minute past the command's expiry (2 s after the request here), and it looks itself"
        )
    return (
        f"SSM notifies {status}; SNS hands it to the notifier's alias, whose relay completes "
        "the clear's callback"
    )


def _posted(demo: Demo) -> str:
    if demo.is_app:
        count = len(own_messages(demo.slack))
        return f"{count} message{'' if count == 1 else 's'} of its own in the channel"
    count = len(demo.slack.webhook_posts)
    return f"{count} message{'' if count == 1 else 's'} to Slack"


def _show_slack(demo: Demo, shown: Shown) -> None:
    for n, (label, payload) in enumerate(shown.new(demo.slack)):
        if label:
            demo.console.detail(f"Slack, {label}:")
        elif n:
            demo.console.block([""])
        demo.console.block(render(payload, indent="").splitlines())


def _show_history(demo: Demo, clear_id: str, whose: str = "the clear's") -> None:
    demo.console.step(
        f"{whose} execution history, as the Lambda console lists it (its own clock: the "
        "local runner skips each wait and moves the clock on by its length):"
    )
    demo.console.block(history.lines(demo.stack.lambda_, clear_id))


def _dry_run(demo: Demo, label: str, event: dict[str, Any]) -> str:
    answer = demo.stack.dispatch(event)
    body = answer.get("body") or {}
    if answer.get("statusCode") != 200 or body.get("dryRun") is not True:
        raise ScenarioFailed(f"the dry run answered {answer.get('statusCode')}: {json.dumps(body)}")
    plan, params = body["plan"], body["wouldSend"]
    console = demo.console
    console.step(f"dispatcher: {label} -> 200, a dry run: the plan, nothing claimed or sent")
    console.detail(
        f"plan: {plan['group']} wants {plan['desiredCapacity']}, {len(plan['inService'])} "
        f"InService ({', '.join(plan['inService'])}), {plan['pending']} pending, "
        f"{plan['terminating']} terminating, {plan['managedOnline']} with an SSM agent online"
    )
    for warning in plan.get("warnings", []):
        console.detail(f"warning ({warning['reason']}): {warning['message']}")
    targets = ", ".join(f"{t['Key']}={','.join(t['Values'])}" for t in params.get("Targets", []))
    arguments = ", ".join(
        f"{k} {' '.join(v) or '(empty)'}" for k, v in params["Parameters"].items()
    )
    console.detail(
        f"would send: {params['DocumentName']} to {targets} ({arguments}); MaxConcurrency "
        f"{params['MaxConcurrency']}, MaxErrors {params['MaxErrors']}, delivery timeout "
        f"{params['TimeoutSeconds']} s"
    )
    sent = demo.commands()
    posts = demo.slack.webhook_posts or own_messages(demo.slack)
    if sent or posts:
        raise ScenarioFailed(f"a dry run sent {len(sent)} commands and {len(posts)} messages")
    console.step("nothing sent: SSM has no command, no clear started, Slack got nothing")
    _save(demo, "dry-run")
    return DRY_RUN


def _save(demo: Demo, name: str) -> None:
    path = demo.out / f"{name}{'.app' if demo.is_app else ''}.slack.json"
    path.write_text(
        json.dumps(record(demo.slack), ensure_ascii=False, indent=2, default=str), encoding="utf-8"
    )


def _check(demo: Demo, scenario: Scenario, verdict: str, expected: str) -> None:
    if verdict != expected:
        raise ScenarioFailed(f"verdict {verdict}, expected {expected}")
    if demo.is_app:
        own = len(own_messages(demo.slack))
        if own != min(scenario.posts, 1):
            raise ScenarioFailed(f"{own} messages of the clear's own in app mode")
    elif len(demo.slack.webhook_posts) != scenario.posts:
        raise ScenarioFailed(
            f"{len(demo.slack.webhook_posts)} Slack messages, expected {scenario.posts}"
        )
