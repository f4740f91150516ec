"""`make demo`: the whole flow on this machine, with no AWS account, Slack or Docker.

For each scenario: moto's server plays AWS (extended by harness/aws_emulator), a local
receiver plays Slack, and the real dispatcher and notifier run in fresh processes whose boto3
calls go over HTTP to moto (AWS_ENDPOINT_URL) and whose Slack post goes over HTTP to the
receiver. The fleet's part (what each instance's invocation did) is the scenario's.

    python -m local.run --all
    python -m local.run --scenario mismatch --lang ja
    python -m local.run --scenario lost-notification
    python -m local.run --slack app
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

from harness import aws_emulator as emulator
from harness import cfn_template
from local import pipeline_gate
from local.embedded_aws import REGION, EmbeddedAws, Stack
from local.scenarios import SCENARIOS, Fleet, Scenario
from local.slack_receiver import SlackReceiver, render
from local.steps import print_dispatcher_answer
from local.steps import step as _step

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
OUT = ROOT / "local" / "out"
GROUP = "web-prod"
GROUP_SIZE = 3


class ScenarioFailed(Exception):
    pass


def invoke(function: str, event: dict[str, Any], env: dict[str, str], log: Path) -> dict[str, Any]:
    """Run one handler in a fresh process, as a Lambda cold start would."""
    with tempfile.TemporaryDirectory() as tmp:
        event_path, result_path = Path(tmp) / "event.json", Path(tmp) / "result.json"
        event_path.write_text(json.dumps(event), encoding="utf-8")
        with log.open("a", encoding="utf-8") as log_file:
            subprocess.run(
                [sys.executable, "-m", "local.invoke", function, str(event_path), str(result_path)],
                cwd=ROOT,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                check=True,
                timeout=120,
            )
        result: dict[str, Any] = json.loads(result_path.read_text(encoding="utf-8"))
        return result


def function_env(
    aws: EmbeddedAws,
    stack: Stack,
    function: str,
    lang: str,
    stop_alarm: str = "",
    retry_missed: int = 0,
) -> dict[str, str]:
    """A function's environment as the stack sets it. The scenarios that show an alert run
    with no retry round (`retry_missed` 0), so that the alert is what they post; `retry` shows
    the automatic retry with the stack's default, one round."""
    base = {
        **os.environ,
        **aws.env(),
        # The clear package each function's build copies into its artifact (src/*/Makefile).
        "PYTHONPATH": os.pathsep.join((str(ROOT), str(ROOT / "src" / "clear"))),
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "ApcuFleetFlush",
        "LOG_LEVEL": "INFO",
    }
    if function == "dispatcher":
        return {
            **base,
            "POWERTOOLS_SERVICE_NAME": "apcu-dispatcher",
            "ALLOWED_GROUPS": stack.group,
            "DOCUMENT_NAME": stack.document_name,
            "NOTIFICATION_TOPIC_ARN": stack.topic_arn,
            "NOTIFICATION_ROLE_ARN": stack.role_arn,
            "COMMANDS_TABLE": stack.commands_table,
            "WATCHDOG_GROUP": stack.watchdog_group,
            "WATCHDOG_ROLE_ARN": stack.watchdog_role_arn,
            "WATCHDOG_TARGET_ARN": stack.notifier_arn,
            "WATCHDOG_DEAD_LETTER_ARN": stack.watchdog_dead_letter_arn,
            "EXECUTION_TIMEOUT_SECONDS": execution_timeout(),
            "STOP_ALARM_NAME": stop_alarm,
        }
    return {
        **base,
        "POWERTOOLS_SERVICE_NAME": "apcu-notifier",
        "SLACK_WEBHOOK_SECRET_ARN": stack.secret_arn,
        # The notifier re-sends only commands of the stack's own document.
        "DOCUMENT_NAME": stack.document_name,
        "STOP_ALARM_NAME": stop_alarm,
        "RETRY_MISSED": str(retry_missed),
        "MESSAGE_LANGUAGE": lang,
        "ALERT_MENTION": "<!here>",
        "COMMANDS_TABLE": stack.commands_table,
        "WATCHDOG_GROUP": stack.watchdog_group,
        "WATCHDOG_ROLE_ARN": stack.watchdog_role_arn,
        "WATCHDOG_DEAD_LETTER_ARN": stack.watchdog_dead_letter_arn,
    }


def execution_timeout() -> str:
    """The document's execution timeout, as template.yaml passes it to the dispatcher."""
    variables = cfn_template.load()["Resources"]["DispatcherFunction"]["Properties"]["Environment"]
    return str(variables["Variables"]["EXECUTION_TIMEOUT_SECONDS"])


def sns_event(aws: EmbeddedAws, stack: Stack, command_id: str, status: str) -> dict[str, Any]:
    """Publish what SSM publishes for the command's final status; wrap it as SNS hands it to Lambda."""
    command = aws.client("ssm").list_commands(CommandId=command_id)["Commands"][0]
    now = dt.datetime.now(dt.UTC)
    message = json.dumps(
        {
            "commandId": command_id,
            "documentName": command["DocumentName"],
            "instanceIds": [],  # empty for a tag target: the message never says how many ran it
            "requestedDateTime": command["RequestedDateTime"].isoformat(),
            "expiresAfter": command["ExpiresAfter"].isoformat(),
            "outputS3BucketName": "",
            "outputS3KeyPrefix": "",
            "status": status,
            "eventTime": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
    )
    subject = f"EC2 Run Command Notification {REGION}"
    message_id = aws.client("sns").publish(
        TopicArn=stack.topic_arn, Subject=subject, Message=message
    )["MessageId"]
    # The stored console test event is the shape; only what differs per run is replaced.
    event: dict[str, Any] = json.loads((EVENTS / "notifier" / "command-success.json").read_text())
    record = event["Records"][0]
    record["EventSubscriptionArn"] = f"{stack.topic_arn}:{uuid.uuid4()}"
    record["Sns"].update(
        {
            "MessageId": message_id,
            "TopicArn": stack.topic_arn,
            "Subject": subject,
            "Message": message,
            "Timestamp": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        }
    )
    return event


def watchdog_event(
    aws: EmbeddedAws, stack: Stack, command_id: str, attempt: int = 0
) -> tuple[dict[str, Any], str]:
    """The event the command's watchdog schedule hands the notifier: its Input, as the
    dispatcher (or, for a follow-up, the notifier) wrote it into EventBridge Scheduler (the
    embedded one)."""
    name = f"watchdog-{command_id}-{attempt}" if attempt else f"watchdog-{command_id}"
    schedule = aws.client("scheduler").get_schedule(Name=name, GroupName=stack.watchdog_group)
    if schedule["Target"]["Arn"] != stack.notifier_arn:
        raise ScenarioFailed(f"the watchdog targets {schedule['Target']['Arn']}, not the notifier")
    event: dict[str, Any] = json.loads(schedule["Target"]["Input"])
    return event, str(schedule["ScheduleExpression"])


def _verdict(result: dict[str, Any]) -> str:
    """The verdict the notifier reports for the one notification it handled."""
    if not result.get("ok"):
        raise ScenarioFailed(f"notifier raised {result['errorType']}: {result['errorMessage']}")
    verdicts = [o.get("verdict") for o in result["result"].get("outcomes", [])]
    if len(verdicts) != 1 or not isinstance(verdicts[0], str):
        raise ScenarioFailed(f"notifier reported {verdicts!r}, expected one verdict")
    return verdicts[0]


def run_scenario(aws: EmbeddedAws, slack: SlackReceiver, scenario: Scenario, lang: str) -> str:
    total = 8 if scenario.ends_later else 7 if scenario.stop_alarm else 6
    aws.reset()
    slack.payloads.clear()
    log = OUT / f"{scenario.name}.log"
    log.write_text("", encoding="utf-8")

    stack = aws.deploy(group=GROUP, size=GROUP_SIZE, webhook_url=slack.url)
    _step(
        1,
        total,
        f"deployed: group {stack.group} ({len(stack.instance_ids)} InService), topic, secret, "
        f"document {stack.document_name}",
    )

    scenario.before_dispatch(aws, stack)
    console_event = json.loads((EVENTS / "dispatcher" / scenario.event).read_text())
    dispatched = invoke(
        "dispatcher",
        console_event,
        function_env(aws, stack, "dispatcher", lang, scenario.stop_alarm),
        log,
    )
    if not dispatched.get("ok"):
        raise ScenarioFailed(
            f"dispatcher raised {dispatched['errorType']}: {dispatched['errorMessage']}"
        )
    answer = dispatched["result"]
    body = answer.get("body", {})
    if answer.get("statusCode") != 202 or "commandId" not in body:
        raise ScenarioFailed(f"dispatcher answered {answer.get('statusCode')}: {json.dumps(body)}")
    command_id = body["commandId"]
    print_dispatcher_answer(2, total, scenario.event, body)

    outcome = scenario.fleet(aws, stack, command_id)
    _step(3, total, f"fleet: {outcome.summary}")

    if scenario.delivery == "watchdog":
        event, expression = watchdog_event(aws, stack, command_id)
        _step(
            4,
            total,
            f"SNS: nothing arrives; the watchdog schedule fires ({expression}, "
            f"group {stack.watchdog_group})",
        )
    else:
        event = sns_event(aws, stack, command_id, outcome.status)
        _step(
            4,
            total,
            f"SNS: SSM publishes status {outcome.status} to {stack.topic_arn.rsplit(':', 1)[-1]}",
        )

    notified = invoke("notifier", event, function_env(aws, stack, "notifier", lang), log)
    verdict = _verdict(notified)
    _step(
        5, total, f"notifier: verdict {verdict}, {len(slack.payloads)} message(s) posted to Slack"
    )
    for payload in slack.payloads:
        print(render(payload, indent="        │ "))

    (OUT / f"{scenario.name}.slack.json").write_text(
        json.dumps(slack.payloads, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    if len(slack.payloads) != 1:
        raise ScenarioFailed(f"expected exactly one Slack message, got {len(slack.payloads)}")
    if verdict != scenario.expected_verdict:
        raise ScenarioFailed(f"verdict {verdict}, expected {scenario.expected_verdict}")
    then = ""
    if scenario.stop_alarm:
        then = (
            f", then {clear_into_the_fire(aws, stack, scenario, console_event, lang, log, total)}"
        )
    if scenario.ends_later is not None:
        then = f", then {follow_up(aws, slack, stack, scenario, scenario.ends_later, command_id, lang, log)} from the follow-up"
    _step(total, total, f"verdict {verdict} as expected{then} (logs: {log.relative_to(ROOT)})")
    return verdict


def run_retry(aws: EmbeddedAws, slack: SlackReceiver, scenario: Scenario, lang: str) -> str:
    """A miss the clear repairs on its own: the first command leaves one instance stale, the
    notifier sends the same command to it alone and posts nothing, the retry clears it, and
    the clear's one message says so."""
    total = 7
    started = time.monotonic()
    aws.reset()
    slack.payloads.clear()
    log = OUT / f"{scenario.name}.log"
    log.write_text("", encoding="utf-8")
    stack = aws.deploy(group=GROUP, size=GROUP_SIZE, webhook_url=slack.url)
    _step(1, total, f"deployed: group {stack.group} ({len(stack.instance_ids)} InService)")
    console_event = json.loads((EVENTS / "dispatcher" / scenario.event).read_text())
    answer = invoke(
        "dispatcher", console_event, function_env(aws, stack, "dispatcher", lang), log
    ).get("result", {})
    first = answer.get("body", {}).get("commandId")
    if answer.get("statusCode") != 202 or not first:
        raise ScenarioFailed(f"dispatcher answered {json.dumps(answer)}")
    print_dispatcher_answer(2, total, scenario.event, answer["body"])
    outcome = scenario.fleet(aws, stack, first)
    _step(3, total, f"fleet: {outcome.summary}; SNS: SSM publishes status {outcome.status}")
    notifier_env = function_env(aws, stack, "notifier", lang, retry_missed=1)
    notified = invoke("notifier", sns_event(aws, stack, first, outcome.status), notifier_env, log)
    [attempt] = notified.get("result", {}).get("outcomes", [{}])
    retries = attempt.get("retried") or []
    if len(retries) != 1 or slack.payloads:
        raise ScenarioFailed(f"the notifier did not retry alone: {json.dumps(attempt)}")
    [retry] = retries
    targets = emulator.targeted_instances(retry)
    _step(
        4,
        total,
        f"notifier: verdict {attempt.get('verdict')} for the first attempt, nothing posted; "
        f"the same command sent again to {', '.join(targets)} (command {retry})",
    )
    assert scenario.retry_fleet is not None
    again = scenario.retry_fleet(aws, stack, retry)
    _step(5, total, f"fleet: {again.summary}; SNS: SSM publishes status {again.status}")
    verdict = _verdict(
        invoke("notifier", sns_event(aws, stack, retry, again.status), notifier_env, log)
    )
    elapsed = time.monotonic() - started
    _step(
        6,
        total,
        f"notifier: the clear's verdict {verdict}, {len(slack.payloads)} message(s) to Slack, "
        f"{elapsed:.1f} s from the request",
    )
    for payload in slack.payloads:
        print(render(payload, indent="        │ "))
    (OUT / f"{scenario.name}.slack.json").write_text(
        json.dumps(slack.payloads, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    if len(slack.payloads) != 1 or verdict != scenario.expected_verdict:
        raise ScenarioFailed(f"verdict {verdict}, {len(slack.payloads)} message(s)")
    _step(total, total, f"verdict {verdict} as expected (logs: {log.relative_to(ROOT)})")
    return verdict


def run_warm_pool(aws: EmbeddedAws, slack: SlackReceiver, scenario: Scenario, lang: str) -> str:
    """An instance leaves the warm pool under the launch hook: it waits in Pending:Wait while
    the dispatcher clears it, the verdict lets it into service, and its "Launch Successful"
    event, which follows, finds nothing left to do."""
    total = 6
    aws.reset()
    slack.payloads.clear()
    log = OUT / f"{scenario.name}.log"
    log.write_text("", encoding="utf-8")
    stack = aws.deploy(group=GROUP, size=GROUP_SIZE, webhook_url=slack.url)
    instance = stack.instance_ids[0]
    token = emulator.hold_launch(stack.group, instance, WARM_POOL_HOOK)
    _step(
        1,
        total,
        f"deployed: group {stack.group} with the launch hook {WARM_POOL_HOOK}; {instance} "
        "leaves the warm pool and waits in Pending:Wait",
    )
    event = json.loads((EVENTS / "dispatcher" / "warm-pool-lifecycle-hook.json").read_text())
    event["detail"].update(
        {"EC2InstanceId": instance, "LifecycleActionToken": token, "AutoScalingGroupName": GROUP}
    )
    env = function_env(aws, stack, "dispatcher", lang)
    answer = invoke("dispatcher", event, env, log).get("result", {})
    command_id = answer.get("body", {}).get("commandId")
    if answer.get("statusCode") != 202 or not command_id:
        raise ScenarioFailed(f"dispatcher answered {json.dumps(answer)}")
    _step(2, total, f"dispatcher: lifecycle event -> 202, command {command_id} to {instance}")
    outcome = scenario.fleet(aws, stack, command_id)
    _step(3, total, f"fleet: {outcome.summary}; SNS: SSM publishes status {outcome.status}")
    notified = invoke(
        "notifier",
        sns_event(aws, stack, command_id, outcome.status),
        function_env(aws, stack, "notifier", lang),
        log,
    )
    verdict = _verdict(notified)
    result = emulator.lifecycle_result(token)
    state = emulator.lifecycle_state(stack.group, instance)
    _step(
        4,
        total,
        f"notifier: verdict {verdict}, {len(slack.payloads)} message(s) (a warm-pool clear posts "
        f"only when it alerts); CompleteLifecycleAction {result}: {instance} is {state}",
    )
    (OUT / f"{scenario.name}.slack.json").write_text(
        json.dumps(slack.payloads, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    if (verdict, result, state, len(slack.payloads)) != ("ok", "CONTINUE", "InService", 0):
        raise ScenarioFailed(f"verdict {verdict}, lifecycle {result}, state {state}")
    launched = json.loads((EVENTS / "dispatcher" / "warm-pool-exit.json").read_text())
    launched["detail"].update({"EC2InstanceId": instance, "AutoScalingGroupName": GROUP})
    again = invoke("dispatcher", launched, env, log).get("result", {})
    if again.get("body", {}).get("clearedBy") != command_id:
        raise ScenarioFailed(f"Launch Successful got {json.dumps(again)}")
    _step(
        5,
        total,
        f"Auto Scaling: Launch Successful follows; the dispatcher sends nothing: "
        f"{again['body']['message']}",
    )
    _step(total, total, f"verdict {verdict} as expected (logs: {log.relative_to(ROOT)})")
    return verdict


def clear_into_the_fire(
    aws: EmbeddedAws,
    stack: Stack,
    scenario: Scenario,
    console_event: dict[str, Any],
    lang: str,
    log: Path,
    total: int,
) -> str:
    """The same request again while the stop alarm still fires: refused, nothing sent."""
    env = function_env(aws, stack, "dispatcher", lang, scenario.stop_alarm)
    again = invoke("dispatcher", console_event, env, log)
    answer = again.get("result", {})
    error = answer.get("body", {}).get("error", {})
    if answer.get("statusCode") != 409 or error.get("rule") != "alarm-firing":
        raise ScenarioFailed(f"a clear while the alarm fires got {json.dumps(answer)}")
    _step(total - 1, total, f"dispatcher, asked again: 409 alarm-firing: {error.get('message')}")
    return "409 alarm-firing for a clear while it fires"


def follow_up(
    aws: EmbeddedAws,
    slack: SlackReceiver,
    stack: Stack,
    scenario: Scenario,
    ends: Fleet,
    command_id: str,
    lang: str,
    log: Path,
) -> str:
    """The command ends, SNS is lost again, and the follow-up the notifier armed fires."""
    outcome = ends(aws, stack, command_id)
    event, expression = watchdog_event(aws, stack, command_id, attempt=1)
    _step(
        6,
        8,
        f"fleet: the command ends ({outcome.summary}); SNS: nothing arrives again; the "
        f"notifier's follow-up schedule fires ({expression})",
    )
    notified = invoke("notifier", event, function_env(aws, stack, "notifier", lang), log)
    verdict = _verdict(notified)
    _step(7, 8, f"notifier: verdict {verdict} from the follow-up")
    for payload in slack.payloads[1:]:
        print(render(payload, indent="        │ "))
    (OUT / f"{scenario.name}.slack.json").write_text(
        json.dumps(slack.payloads, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    if len(slack.payloads) != 2:
        raise ScenarioFailed(f"expected the alert and one verdict, got {len(slack.payloads)}")
    if verdict != scenario.follow_up_verdict:
        raise ScenarioFailed(f"follow-up verdict {verdict}, expected {scenario.follow_up_verdict}")
    return verdict


# --- the deploy gate: the same flow driven by `apcu-flush clear --wait` ------------------------

# One verdict that passes the gate and one alert that stops it.
GATE_SCENARIOS = ("ok", "mismatch")
# The stack parameter WarmPoolHookName's default, the hook the warm-pool scenario puts on.
WARM_POOL_HOOK = "apcu-fleet-flush-warm-pool"


def run_gate(aws: EmbeddedAws, slack: SlackReceiver, scenario: Scenario, lang: str) -> int:
    """Clear through the installed command line and the signed local API; return its exit code."""
    aws.reset()
    slack.payloads.clear()
    log = OUT / f"{scenario.name}.gate.log"
    log.write_text("", encoding="utf-8")
    stack = aws.deploy(group=GROUP, size=GROUP_SIZE, webhook_url=slack.url)
    expected = 0 if scenario.expected_verdict == "ok" else 1
    dispatcher_env = function_env(aws, stack, "dispatcher", lang)
    with pipeline_gate.gate(aws, dispatcher_env, log) as gate:
        process = gate.start("clear", GROUP, "--comment", f"demo {scenario.name}", "--wait")
        try:
            command_id = gate.sent_command(process)
            gate.seen_running(process, command_id)
            outcome = scenario.fleet(aws, stack, command_id)
            event = sns_event(aws, stack, command_id, outcome.status)
            verdict = _verdict(
                invoke("notifier", event, function_env(aws, stack, "notifier", lang), log)
            )
            finished = gate.finish(process, command_id)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    print(f"  $ apcu-flush clear {GROUP} --comment 'demo {scenario.name}' --wait", flush=True)
    for line in finished.output.splitlines():
        print(f"        │ {line}", flush=True)
    meaning = pipeline_gate.EXIT_CODES.get(finished.exit_code, "unknown")
    if finished.exit_code != expected:
        raise ScenarioFailed(
            f"apcu-flush exited {finished.exit_code} ({meaning}) for verdict {verdict}, "
            f"expected {expected} (logs: {log.relative_to(ROOT)})"
        )
    print(f"  exit {finished.exit_code} ({meaning}) for verdict {verdict}, as expected", flush=True)
    return finished.exit_code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    choice = parser.add_mutually_exclusive_group()
    choice.add_argument("--scenario", choices=sorted(SCENARIOS), help="run one scenario")
    choice.add_argument("--all", action="store_true", help="run every scenario in turn")
    parser.add_argument(
        "--lang", choices=("en", "ja"), default="en", help="language of the Slack message"
    )
    parser.add_argument(
        "--expect", help="override the expected verdict (to see the run fail when they differ)"
    )
    parser.add_argument(
        "--slack",
        choices=("webhook", "app"),
        default="webhook",
        help="app: one clear in one Slack message, updated in place, and its retry button",
    )
    args = parser.parse_args(argv)
    if args.slack == "app":
        return _run_app(args.lang)
    if not (args.all or args.scenario):
        parser.error("one of the arguments --scenario --all is required (or --slack app)")

    chosen = list(SCENARIOS.values()) if args.all else [SCENARIOS[args.scenario]]
    if args.expect:
        chosen = [replace(s, expected_verdict=args.expect) for s in chosen]
    OUT.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    started = time.monotonic()
    with EmbeddedAws() as aws, SlackReceiver() as slack:
        print(f"embedded AWS (moto) on {aws.endpoint}; Slack receiver on 127.0.0.1", flush=True)
        for scenario in chosen:
            print(
                f"\nscenario {scenario.name}: {scenario.description} "
                f"(expect {scenario.expected_verdict})",
                flush=True,
            )
            try:
                runner = {"warm-pool": run_warm_pool, "retry": run_retry}.get(
                    scenario.flow, run_scenario
                )
                runner(aws, slack, scenario, args.lang)
            except (ScenarioFailed, subprocess.SubprocessError) as error:
                print(f"  FAILED: {error}", flush=True)
                failures.append(scenario.name)
        for scenario in (s for s in chosen if s.name in GATE_SCENARIOS):
            print(f"\ndeploy gate on scenario {scenario.name}: apcu-flush clear --wait", flush=True)
            try:
                run_gate(aws, slack, scenario, args.lang)
            except (ScenarioFailed, pipeline_gate.GateFailed, subprocess.SubprocessError) as error:
                print(f"  FAILED: {error}", flush=True)
                failures.append(f"{scenario.name} (apcu-flush)")
    elapsed = time.monotonic() - started
    if failures:
        print(
            f"\n{len(failures)} of {len(chosen)} scenarios did not get their verdict: {', '.join(failures)}"
        )
    else:
        what = f"all {len(chosen)} scenarios" if len(chosen) > 1 else f"scenario {chosen[0].name}"
        print(f"\n{what} got the expected verdict ({elapsed:.1f}s)")
    return 1 if failures else 0


def _run_app(lang: str) -> int:
    # Imported here: local.slack_app builds on this module.
    from local.slack_app import AppDemoFailed, run_app

    OUT.mkdir(parents=True, exist_ok=True)
    with EmbeddedAws() as aws:
        print(f"embedded AWS (moto) on {aws.endpoint}; Slack Web API stand-in on 127.0.0.1")
        print("\nSlack app mode: one clear, one message, a retry button (expect ok)", flush=True)
        try:
            run_app(aws, lang)
        except (AppDemoFailed, subprocess.SubprocessError, OSError) as error:
            print(f"  FAILED: {error}", flush=True)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
