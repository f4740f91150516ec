"""Whole requests, console and API, through the handler against moto and the emulator."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from apcu_clear import store
from apcu_dispatcher import handler
from apcu_dispatcher.clients import Clients
from apcu_dispatcher.config import Config
from harness import aws_emulator
from tests.dispatcher.conftest import COMMANDS_TABLE, DOCUMENT, commands_in_moto, stored_event

ALICE = "arn:aws:sts::123456789012:assumed-role/PlatformOps/alice"


def api_event(body: str, **changes: Any) -> dict[str, Any]:
    event = stored_event("api-clear.json")
    event["body"] = body
    event.update(changes)
    return dict(event)


def run(event: object, settings: Config, clients: Clients) -> handler.Handled:
    return handler.handle(event, settings, clients)


# --- console events -------------------------------------------------------------------------


def test_console_clear_all(
    settings: Config, clients: Clients, web_prod: list[str], sent: list[dict[str, Any]]
) -> None:
    handled = run(stored_event("console-clear-all.json"), settings, clients)

    assert handled.outcome == "Accepted"
    assert handled.response["statusCode"] == 202
    body = handled.response["body"]
    [command] = commands_in_moto(clients)
    assert body == {
        "commandId": command["CommandId"],
        "group": "web-prod",
        "action": "clear-apcu",
        "prefix": None,
        "expect": {"desiredCapacity": 3, "inService": 3, "managedOnline": 3},
        "warnings": [],
        "consoleUrl": "https://us-east-1.console.aws.amazon.com/systems-manager/run-command/"
        f"{command['CommandId']}?region=us-east-1",
    }
    # moto resolved the tag target to the group's instances, as SSM would
    assert sorted(aws_emulator.targeted_instances(command["CommandId"])) == web_prod
    assert command["Parameters"] == {"action": ["clear-apcu"], "prefix": [""]}
    assert command["Comment"] == "console"
    assert len(sent) == 1


def test_console_clear_prefix_sends_the_exact_request(
    settings: Config, clients: Clients, web_prod: list[str], sent: list[dict[str, Any]]
) -> None:
    handled = run(stored_event("console-clear-prefix.json"), settings, clients)

    assert handled.response["statusCode"] == 202
    assert sent == [
        {
            "Targets": [{"Key": "tag:aws:autoscaling:groupName", "Values": ["web-prod"]}],
            "DocumentName": DOCUMENT,
            "Parameters": {"action": ["clear-apcu"], "prefix": ["config:"]},
            "TimeoutSeconds": 120,
            "MaxConcurrency": "50%",
            "MaxErrors": "100%",
            "Comment": "console: reload feature flags after deploy 2024-06-03",
            "NotificationConfig": {
                "NotificationArn": settings.topic_arn,
                "NotificationEvents": ["Success", "TimedOut", "Cancelled", "Failed"],
                "NotificationType": "Command",
            },
            "ServiceRoleArn": settings.role_arn,
        }
    ]
    # and moto recorded the same command
    [command] = commands_in_moto(clients)
    assert command["DocumentName"] == DOCUMENT
    assert command["Parameters"] == {"action": ["clear-apcu"], "prefix": ["config:"]}
    assert command["Targets"] == sent[0]["Targets"]
    assert command["NotificationConfig"] == sent[0]["NotificationConfig"]
    assert (command["MaxConcurrency"], command["MaxErrors"], command["TimeoutSeconds"]) == (
        "50%",
        "100%",
        120,
    )
    assert command["ServiceRole"] == settings.role_arn


def test_console_dry_run_sends_nothing(
    settings: Config, clients: Clients, web_prod: list[str], sent: list[dict[str, Any]]
) -> None:
    aws_emulator.forget_managed_instances(web_prod[:1])

    handled = run(stored_event("console-dry-run.json"), settings, clients)

    assert (handled.outcome, handled.response["statusCode"]) == ("DryRun", 200)
    body = handled.response["body"]
    assert body["dryRun"] is True
    assert body["plan"]["inService"] == web_prod
    assert body["plan"]["managedOnline"] == 2
    assert body["plan"]["warnings"][0]["instanceId"] == web_prod[0]
    assert body["wouldSend"]["Parameters"] == {"action": ["clear-apcu"], "prefix": ["config:"]}
    assert body["wouldSend"]["DocumentName"] == DOCUMENT
    assert sent == [] and commands_in_moto(clients) == []


@pytest.mark.parametrize(
    ("name", "status", "field", "rule"),
    [
        ("console-bad-prefix.json", 400, "prefix", "pattern"),
        ("console-unknown-group.json", 400, "group", "allowed-groups"),
        ("console-extra-field.json", 400, "commands", "unknown-field"),
    ],
)
def test_bad_console_events_are_refused_and_send_nothing(
    settings: Config,
    clients: Clients,
    web_prod: list[str],
    sent: list[dict[str, Any]],
    name: str,
    status: int,
    field: str,
    rule: str,
) -> None:
    handled = run(stored_event(name), settings, clients)

    assert handled.outcome == "Rejected"
    assert handled.response["statusCode"] == status
    error = handled.response["body"]["error"]
    assert (error["status"], error["field"], error["rule"]) == (status, field, rule)
    assert error["message"]
    assert sent == [] and commands_in_moto(clients) == []


@pytest.mark.parametrize("event", [[], "clear", 0, None, {"group": "web-prod"}])
def test_odd_direct_invokes_are_400(
    settings: Config, clients: Clients, web_prod: list[str], event: object
) -> None:
    handled = run(event, settings, clients)
    assert handled.response["statusCode"] == 400
    assert commands_in_moto(clients) == []


def test_allowed_group_that_does_not_exist_is_404(
    settings: Config, clients: Clients, aws: None
) -> None:
    handled = run({"group": "web-staging", "action": "clear-apcu"}, settings, clients)
    assert handled.response["statusCode"] == 404
    assert handled.response["body"]["error"]["field"] == "group"
    assert commands_in_moto(clients) == []


def test_group_without_in_service_instance_is_409(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    aws_emulator.set_lifecycle("web-prod", web_prod, "Terminating")
    handled = run(stored_event("console-clear-all.json"), settings, clients)
    assert handled.response["statusCode"] == 409
    assert commands_in_moto(clients) == []


def test_accepted_clear_carries_warnings(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    aws_emulator.register_managed_instances(web_prod[2:], ping_status="ConnectionLost")
    body = run(stored_event("console-clear-all.json"), settings, clients).response["body"]
    assert body["expect"] == {"desiredCapacity": 3, "inService": 3, "managedOnline": 2}
    assert [(w["reason"], w["instanceId"]) for w in body["warnings"]] == [
        ("not-online", web_prod[2])
    ]


@pytest.mark.parametrize(
    ("event", "action"),
    [
        ("console-reset-opcache.json", "reset-opcache"),
        ("console-clear-apcu-and-opcache.json", "clear-all"),
    ],
)
def test_console_opcache_actions_send_the_action_to_the_document(
    event: str,
    action: str,
    settings: Config,
    clients: Clients,
    web_prod: list[str],
    sent: list[dict[str, Any]],
) -> None:
    # Given a console event that resets OPcache (alone, or after clearing APCu)
    handled = run(stored_event(event), settings, clients)

    # Then the document gets the action as its parameter, the answer and the record say it
    assert handled.response["statusCode"] == 202
    body = handled.response["body"]
    assert body["action"] == action
    [command] = commands_in_moto(clients)
    assert command["Parameters"] == {"action": [action], "prefix": [""]}
    assert sent[0]["Parameters"] == command["Parameters"]
    record = store.read(clients.dynamodb, settings.watchdog.commands_table, body["commandId"])
    assert record is not None and record.action == action


def test_console_reset_opcache_with_a_prefix_is_refused_and_sends_nothing(
    settings: Config, clients: Clients, web_prod: list[str], sent: list[dict[str, Any]]
) -> None:
    handled = run(stored_event("console-reset-opcache-prefix.json"), settings, clients)

    assert handled.response["statusCode"] == 400
    error = handled.response["body"]["error"]
    assert (error["field"], error["rule"]) == ("prefix", "not-with-action")
    assert "OPcache has no key prefixes" in error["message"]
    assert sent == [] and commands_in_moto(clients) == []


def test_clear_all_with_a_prefix_clears_those_apcu_keys_and_resets_opcache(
    settings: Config, clients: Clients, web_prod: list[str], sent: list[dict[str, Any]]
) -> None:
    event = {"group": "web-prod", "action": "clear-all", "prefix": "config:"}
    handled = run(event, settings, clients)

    assert handled.response["statusCode"] == 202
    assert sent[0]["Parameters"] == {"action": ["clear-all"], "prefix": ["config:"]}


# --- API requests ---------------------------------------------------------------------------


def test_api_reset_opcache_is_sent_and_its_status_names_the_action(
    settings: Config, clients: Clients, web_prod: list[str], sent: list[dict[str, Any]]
) -> None:
    handled = run(
        api_event(json.dumps({"group": "web-prod", "action": "reset-opcache"})), settings, clients
    )

    assert handled.response["statusCode"] == 202
    body = json.loads(handled.response["body"])
    assert body["action"] == "reset-opcache"
    assert sent[0]["Parameters"] == {"action": ["reset-opcache"], "prefix": [""]}
    status_event = stored_event("api-status.json")
    status_event["pathParameters"] = {"commandId": body["commandId"]}
    status = json.loads(run(status_event, settings, clients).response["body"])
    assert (status["state"], status["action"]) == ("running", "reset-opcache")


def test_api_reset_opcache_with_a_prefix_is_400_and_sends_nothing(
    settings: Config, clients: Clients, web_prod: list[str], sent: list[dict[str, Any]]
) -> None:
    body = {"group": "web-prod", "action": "reset-opcache", "prefix": "config:"}
    handled = run(api_event(json.dumps(body)), settings, clients)

    assert handled.response["statusCode"] == 400
    error = json.loads(handled.response["body"])["error"]
    assert (error["field"], error["rule"]) == ("prefix", "not-with-action")
    assert sent == []


def test_api_clear_names_the_requester(
    settings: Config, clients: Clients, web_prod: list[str], sent: list[dict[str, Any]]
) -> None:
    handled = run(stored_event("api-clear.json"), settings, clients)

    response = handled.response
    assert response["statusCode"] == 202
    assert response["headers"] == {"content-type": "application/json"}
    assert isinstance(response["body"], str)
    body = json.loads(response["body"])
    [command] = commands_in_moto(clients)
    assert body["commandId"] == command["CommandId"]
    assert command["Comment"] == "PlatformOps/alice: new feature flags"
    assert sent[0]["Parameters"] == {"action": ["clear-apcu"], "prefix": ["config:"]}


def test_api_bad_json_is_400_json(settings: Config, clients: Clients, web_prod: list[str]) -> None:
    response = run(stored_event("api-bad-json.json"), settings, clients).response
    assert response["statusCode"] == 400
    assert json.loads(response["body"]) == {
        "error": {
            "status": 400,
            "field": "body",
            "rule": "json",
            "message": "the request body is not valid JSON",
        }
    }
    assert commands_in_moto(clients) == []


def test_api_base64_body(settings: Config, clients: Clients, web_prod: list[str]) -> None:
    raw = json.dumps({"group": "web-prod", "action": "clear-apcu", "dryRun": True}).encode()
    event = api_event(base64.b64encode(raw).decode(), isBase64Encoded=True)
    response = run(event, settings, clients).response
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["dryRun"] is True


def test_api_and_console_refusals_have_the_same_shape(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    payload = {"group": "web-prod", "action": "clear-apcu", "prefix": "x; rm -rf /"}
    console = run(payload, settings, clients).response
    api = run(api_event(json.dumps(payload)), settings, clients).response
    assert console["statusCode"] == api["statusCode"] == 400
    assert console["body"] == json.loads(api["body"])


def test_api_without_iam_identity_is_403(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    event = stored_event("api-clear.json")
    del event["requestContext"]["authorizer"]
    response = run(event, settings, clients).response
    assert response["statusCode"] == 403
    assert json.loads(response["body"])["error"]["rule"] == "iam-auth"
    assert commands_in_moto(clients) == []


def test_api_requester_falls_back_to_caller_id(
    settings: Config, clients: Clients, web_prod: list[str]
) -> None:
    event = stored_event("api-clear.json")
    del event["requestContext"]["authorizer"]["iam"]["userArn"]
    run(event, settings, clients)
    assert commands_in_moto(clients)[0]["Comment"].startswith("AROAEXAMPLEROLEID1234:alice: ")


# --- the Lambda entry point -----------------------------------------------------------------


@dataclass
class Context:
    function_name: str = "apcu-fleet-flush-Dispatcher"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:apcu-fleet-flush-Dispatcher"
    )
    aws_request_id: str = "6f1b2c3d-0000-4000-8000-000000000001"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def emitted(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_lambda_handler_logs_the_decision_and_counts_it(
    log: io.StringIO, web_prod: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    event = stored_event("api-clear.json")
    aws_emulator.create_commands_table(COMMANDS_TABLE)

    response = handler.lambda_handler(event, Context())

    assert response["statusCode"] == 202
    lines = emitted(log.getvalue())
    [decision] = [line for line in lines if line.get("message") == "clear sent"]
    assert decision["group"] == "web-prod"
    assert decision["prefix"] == "config:"
    assert decision["requester"] == ALICE
    assert decision["command_id"] == json.loads(response["body"])["commandId"]
    assert decision["service"] == "apcu-dispatcher"
    [metric] = emitted(capsys.readouterr().out)
    assert metric["Accepted"] == [1.0]
    assert metric["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "ApcuFleetFlush"
    # the raw body (and so the comment) is not logged
    assert "new feature flags" not in log.getvalue()


def test_lambda_handler_refusal_is_counted_and_not_echoed(
    log: io.StringIO, web_prod: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    response = handler.lambda_handler(stored_event("console-bad-prefix.json"), Context())

    assert response["statusCode"] == 400
    [refusal] = [
        line for line in emitted(log.getvalue()) if line.get("message") == "request refused"
    ]
    assert (refusal["field"], refusal["rule"]) == ("prefix", "pattern")
    assert "rm -rf" not in log.getvalue()
    [metric] = emitted(capsys.readouterr().out)
    assert metric["Rejected"] == [1.0]


# --- cold start -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra_env", "xray_loaded"),
    [
        ({"POWERTOOLS_TRACE_DISABLED": "true", "LAMBDA_TASK_ROOT": "/var/task"}, False),
        ({"POWERTOOLS_TRACE_DISABLED": "false"}, False),  # outside Lambda nothing traces
        ({"POWERTOOLS_TRACE_DISABLED": "false", "LAMBDA_TASK_ROOT": "/var/task"}, True),
        # `sam local` sets LAMBDA_TASK_ROOT too, but runs no X-Ray daemon.
        (
            {
                "POWERTOOLS_TRACE_DISABLED": "false",
                "LAMBDA_TASK_ROOT": "/var/task",
                "AWS_SAM_LOCAL": "true",
            },
            False,
        ),
    ],
)
def test_xray_sdk_is_imported_only_when_it_will_trace(
    extra_env: dict[str, str], xray_loaded: bool
) -> None:
    # The X-Ray SDK's import costs more than boto3's; a cold start with tracing off skips it.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"LAMBDA_TASK_ROOT", "POWERTOOLS_TRACE_DISABLED", "AWS_SAM_LOCAL"}
    }
    code = "import sys, app; print('aws_xray_sdk' in sys.modules, callable(app.lambda_handler))"
    folder = Path(handler.__file__).resolve().parents[1]
    # The artifact carries the clear package beside app.py (src/dispatcher/Makefile).
    record = folder.parent / "clear"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=folder,
        env={**env, **extra_env, "PYTHONPATH": str(record)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == [str(xray_loaded), "True"]
