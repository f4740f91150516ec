"""Every HTTP route's answers, status and body, as a caller of the API sees them: the dispatcher's
lambda_handler behind API Gateway's payload 2.0, with the notifier's clear running behind it."""

from __future__ import annotations

import ast
import http
from pathlib import Path
from typing import Any

import botocore.endpoint
import pytest
from botocore.exceptions import ReadTimeoutError

from harness import aws_emulator
from harness.slack_web_api import WEBHOOK
from harness.stack import DOCUMENT, GROUP, REQUESTER, Stack, environment
from tests.dispatcher.conftest import commands, group_claim, item, lost_answer
from tests.faults import Faults, injected
from tests.fleet import Fleet, failed

UNKNOWN = "5f0c4a1e-8d3b-4c2a-9e7f-1b6d2a9c3e48"
CONSOLE = "https://us-east-1.console.aws.amazon.com/systems-manager/run-command/"
DISPATCHER = Path(__file__).resolve().parents[2] / "src" / "dispatcher" / "apcu_dispatcher"


def console_url(command_id: str) -> str:
    return f"{CONSOLE}{command_id}?region=us-east-1"


# --- POST /flush --------------------------------------------------------------------------------


def test_a_clear_is_accepted_202_naming_its_command_and_what_it_expects(deployed: Stack) -> None:
    status, body = deployed.api(
        "POST", "/flush", {"group": GROUP, "action": "clear-apcu", "prefix": "config:"}
    )

    assert status == 202, body
    [sent] = commands()
    assert body == {
        "commandId": sent["CommandId"],
        "group": GROUP,
        "action": "clear-apcu",
        "prefix": "config:",
        "expect": {"desiredCapacity": 3, "inService": 3, "managedOnline": 3},
        "warnings": [],
        "consoleUrl": console_url(sent["CommandId"]),
    }
    assert sent["Parameters"] == {"action": ["clear-apcu"], "prefix": ["config:"]}
    assert sent["Comment"] == "PlatformEngineer/alice@example.com"
    claim = group_claim()
    assert claim is not None and claim["holder"] == sent["CommandId"]
    record = item(sent["CommandId"])
    assert record is not None and record["state"] == "running" and record["origin"] == "api"
    assert record["requester"] == REQUESTER
    assert deployed.lambda_.started(sent["CommandId"]), "the clear's execution is started"


def test_a_dry_run_answers_200_with_the_plan_and_sends_nothing(deployed: Stack) -> None:
    aws_emulator.forget_managed_instances(deployed.instances[:1])

    status, body = deployed.api(
        "POST", "/flush", {"group": GROUP, "action": "clear-all", "dryRun": True}
    )

    assert status == 200, body
    assert body["dryRun"] is True
    assert body["plan"] == {
        "group": GROUP,
        "desiredCapacity": 3,
        "inService": sorted(deployed.instances),
        "pending": 0,
        "terminating": 0,
        "managedOnline": 2,
        "warnings": [
            {
                "reason": "not-managed",
                "message": f"{deployed.instances[0]} is InService but not a managed node (no SSM "
                "agent registered); it will not be cleared",
                "instanceId": deployed.instances[0],
            }
        ],
    }
    would = body["wouldSend"]
    assert would["DocumentName"] == DOCUMENT
    assert would["Parameters"] == {"action": ["clear-all"], "prefix": [""]}
    assert would["Targets"] == [{"Key": "tag:aws:autoscaling:groupName", "Values": [GROUP]}]
    assert (would["TimeoutSeconds"], would["MaxConcurrency"], would["MaxErrors"]) == (
        120,
        "50%",
        "100%",
    )
    assert commands() == [] and group_claim() is None


def test_a_dry_run_while_a_clear_runs_is_refused_409_as_the_clear_would_be(
    deployed: Stack,
) -> None:
    clear_id = deployed.clear()

    status, body = deployed.api(
        "POST", "/flush", {"group": GROUP, "action": "clear-apcu", "dryRun": True}
    )

    assert status == 409
    assert body["error"]["rule"] == "clear-in-progress"
    assert body["error"]["runningCommand"]["commandId"] == clear_id
    assert len(commands()) == 1


def test_a_group_allowed_but_missing_is_404_and_one_without_instances_409(
    deployed: Stack,
) -> None:
    deployed.use(environment(**{**deployed.env, "ALLOWED_GROUPS": f"{GROUP},web-gone"}))
    status, body = deployed.api("POST", "/flush", {"group": "web-gone", "action": "clear-apcu"})
    assert (status, body["error"]["field"], body["error"]["rule"]) == (404, "group", "exists")

    aws_emulator.set_lifecycle(GROUP, deployed.instances, "Terminating")
    status, body = deployed.api("POST", "/flush", {"group": GROUP, "action": "clear-apcu"})
    assert (status, body["error"]["rule"]) == (409, "in-service")
    assert "terminating 3" in body["error"]["message"]
    assert commands() == [] and group_claim() is None, "a refusal gives the claim back"


def test_a_request_without_an_iam_identity_is_refused_403_on_every_iam_route(
    deployed: Stack,
) -> None:
    for method, path, body in (
        ("POST", "/flush", {"group": GROUP, "action": "clear-apcu"}),
        ("GET", f"/flush/{UNKNOWN}", None),
        ("POST", f"/flush/{UNKNOWN}/retry", None),
    ):
        status, answer = deployed.api(method, path, body, requester="")
        assert status == 403, (path, answer)
        assert answer == {
            "error": {
                "status": 403,
                "rule": "iam-auth",
                "message": "the API must be called with IAM (SigV4) authorisation; no IAM "
                "identity in the request",
            }
        }
    assert commands() == []


def test_a_throttled_call_before_sendcommand_is_503_and_gives_the_claim_back(
    deployed: Stack,
) -> None:
    with injected(Faults(operation="DescribeInstanceInformation", occurrence=1, kind="throttle")):
        status, body = deployed.api("POST", "/flush", {"group": GROUP, "action": "clear-apcu"})

    assert status == 503
    assert body == {
        "error": {
            "status": 503,
            "rule": "aws-throttled",
            "message": "AWS throttled DescribeInstanceInformation; nothing was sent, try again "
            "in a minute",
        }
    }
    assert commands() == [] and group_claim() is None
    # The same request, sent again, goes out.
    assert deployed.api("POST", "/flush", {"group": GROUP, "action": "clear-apcu"})[0] == 202


def test_a_sendcommand_whose_outcome_is_unknown_is_503_and_keeps_the_claim(
    deployed: Stack,
) -> None:
    with lost_answer("SendCommand") as lost:
        status, body = deployed.api("POST", "/flush", {"group": GROUP, "action": "clear-apcu"})

    assert lost == ["SendCommand"] and commands() == []
    assert status == 503
    assert body["error"]["rule"] == "send-outcome-unknown"
    assert "look for the comment 'PlatformEngineer/alice@example.com'" in body["error"]["message"]
    assert "the group stays claimed" in body["error"]["message"]
    claim = group_claim()
    assert claim is not None, "nothing may clear the group while that command may run"
    status, again = deployed.api("POST", "/flush", {"group": GROUP, "action": "clear-apcu"})
    assert (status, again["error"]["rule"]) == (409, "clear-in-progress")
    assert "still being sent" in again["error"]["message"]


def test_a_sendcommand_that_failed_after_ssm_took_it_is_found_and_answered_202(
    deployed: Stack,
) -> None:
    with injected(Faults(operation="SendCommand", occurrence=1, kind="5xx")) as faults:
        status, body = deployed.api("POST", "/flush", {"group": GROUP, "action": "clear-apcu"})

    assert faults.fired and faults.count("SendCommand") == 1, "never sent twice"
    assert status == 202
    [sent] = commands()
    assert body["commandId"] == sent["CommandId"]


def test_a_sendcommand_whose_answer_is_lost_on_the_wire_is_not_sent_again_by_botocore(
    deployed: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Below botocore's retries: SSM takes the command, then its answer is lost. botocore would
    send it again by itself; the send client makes one attempt, and the dispatcher looks."""
    original = botocore.endpoint.Endpoint._do_get_response
    lost: list[str] = []

    def get_response(endpoint: Any, request: Any, operation: Any, context: Any) -> Any:
        answer = original(endpoint, request, operation, context)
        if operation.name == "SendCommand" and not lost:
            lost.append(operation.name)
            return None, ReadTimeoutError(endpoint_url=request.url)
        return answer

    monkeypatch.setattr(botocore.endpoint.Endpoint, "_do_get_response", get_response)
    status, body = deployed.api("POST", "/flush", {"group": GROUP, "action": "clear-apcu"})

    assert lost == ["SendCommand"]
    assert status == 202, body
    [sent] = commands()
    assert body["commandId"] == sent["CommandId"]


# --- GET /flush/{commandId} ---------------------------------------------------------------------


def test_the_status_of_a_running_clear_shows_ssms_live_view(deployed: Stack) -> None:
    clear_id = deployed.clear(prefix="config:")

    status, body = deployed.api("GET", f"/flush/{clear_id}")

    assert status == 200
    requested = item(clear_id)
    assert requested is not None
    assert body == {
        "commandId": clear_id,
        "group": GROUP,
        "action": "clear-apcu",
        "prefix": "config:",
        "requestedAt": requested["requestedAt"],
        "expiresAt": requested["expiresAt"],
        "consoleUrl": console_url(clear_id),
        "state": "running",
        "ssm": body["ssm"],
    }
    ssm = body["ssm"]
    assert (ssm["commandId"], ssm["status"], ssm["targeted"], ssm["errors"]) == (
        clear_id,
        "InProgress",
        3,
        0,
    )


def test_the_status_of_a_judged_clear_is_its_verdict(deployed: Stack) -> None:
    broken = deployed.instances[2]
    Fleet({broken: [failed()]}).serve()
    clear_id = deployed.clear()
    deployed.outcome(clear_id)

    status, body = deployed.api("GET", f"/flush/{clear_id}")

    assert status == 200
    assert body["state"] == "judged"
    assert body["verdict"]["kind"] == "failed" and body["verdict"]["alert"] is True
    assert body["verdict"]["stale"] == {"count": 1, "instances": [broken]}
    # The commands the clear sent after its first: here its one retry round.
    [first, retried] = commands()
    assert body["commands"] == {"count": 1, "latest": [retried["CommandId"]]}
    assert first["CommandId"] == clear_id and retried["InstanceIds"] == [broken]
    assert body["consoleUrl"] == console_url(retried["CommandId"])
    assert "ssm" not in body


def test_the_status_of_a_failed_clear_says_why(deployed: Stack) -> None:
    Fleet().serve()
    deployed.slack.fail_next(WEBHOOK, "no_service", status=404)
    clear_id = deployed.clear()
    with pytest.raises(AssertionError):
        deployed.outcome(clear_id)

    status, body = deployed.api("GET", f"/flush/{clear_id}")

    assert status == 200
    assert body["state"] == "failed" and "no_service" in body["failure"]


def test_the_status_of_a_clear_this_stack_never_sent_is_404(deployed: Stack) -> None:
    status, body = deployed.api("GET", f"/flush/{UNKNOWN}")

    assert status == 404
    assert body == {
        "error": {
            "status": 404,
            "field": "commandId",
            "rule": "unknown-command",
            "message": f"no clear {UNKNOWN} was sent by this stack (or its record has expired)",
        }
    }


@pytest.mark.parametrize("bad", ["not-a-command", "5f0c4a1e8d3b4c2a9e7f1b6d2a9c3e48", "x" * 36])
def test_a_malformed_command_id_is_400_on_both_routes(deployed: Stack, bad: str) -> None:
    for method, path in (("GET", f"/flush/{bad}"), ("POST", f"/flush/{bad}/retry")):
        status, body = deployed.api(method, path)
        assert status == 400, path
        assert (body["error"]["field"], body["error"]["rule"]) == ("commandId", "pattern")


# --- POST /flush/{commandId}/retry --------------------------------------------------------------


def judged_with_one_stale(stack: Stack) -> tuple[str, str]:
    """A clear whose verdict left one instance stale: its id, and the instance."""
    broken = stack.instances[2]
    Fleet({broken: [failed()]}).serve()
    clear_id = stack.clear()
    stack.outcome(clear_id)
    return clear_id, broken


def test_a_retry_is_accepted_202_with_its_own_clear_id(deployed: Stack) -> None:
    clear_id, broken = judged_with_one_stale(deployed)

    status, body = deployed.api("POST", f"/flush/{clear_id}/retry")

    assert status == 202, body
    retry_id = body["commandId"]
    assert retry_id != clear_id
    assert body == {
        "retryOf": clear_id,
        "commandId": retry_id,
        "group": GROUP,
        "action": "clear-apcu",
        "prefix": None,
        "retried": [broken],
        "skipped": [],
        "warnings": [],
        "consoleUrl": console_url(clear_id),
    }


def test_a_retry_of_a_clear_this_stack_never_sent_is_404(deployed: Stack) -> None:
    status, body = deployed.api("POST", f"/flush/{UNKNOWN}/retry")

    assert (status, body["error"]["rule"], body["error"]["field"]) == (
        404,
        "unknown-command",
        "commandId",
    )
    assert commands() == []


def test_a_retry_of_a_clear_still_running_is_409_clear_in_progress(deployed: Stack) -> None:
    clear_id = deployed.clear()

    status, body = deployed.api("POST", f"/flush/{clear_id}/retry")

    assert (status, body["error"]["rule"]) == (409, "clear-in-progress")
    assert "has no verdict yet" in body["error"]["message"]
    assert len(commands()) == 1


def test_a_retry_of_a_clear_that_left_nothing_stale_is_409_nothing_to_retry(
    deployed: Stack,
) -> None:
    Fleet().serve()
    clear_id = deployed.clear()
    deployed.outcome(clear_id)

    status, body = deployed.api("POST", f"/flush/{clear_id}/retry")

    assert (status, body["error"]["rule"]) == (409, "nothing-to-retry")
    assert "ended ok and left no instance stale" in body["error"]["message"]
    assert len(commands()) == 1


def test_a_retry_when_no_stale_instance_is_in_service_is_409_naming_those_skipped(
    deployed: Stack,
) -> None:
    clear_id, broken = judged_with_one_stale(deployed)
    aws_emulator.set_lifecycle(GROUP, [broken], "Terminating")

    status, body = deployed.api("POST", f"/flush/{clear_id}/retry")

    assert (status, body["error"]["rule"], body["error"]["skipped"]) == (
        409,
        "nothing-to-retry",
        [broken],
    )
    assert group_claim() is None


def test_a_retry_of_a_group_no_longer_allowed_is_403(deployed: Stack) -> None:
    clear_id, _ = judged_with_one_stale(deployed)
    deployed.use(environment(**{**deployed.env, "ALLOWED_GROUPS": "web-staging"}))

    status, body = deployed.api("POST", f"/flush/{clear_id}/retry")

    assert (status, body["error"]["rule"], body["error"]["field"]) == (
        403,
        "allowed-groups",
        "commandId",
    )
    assert group_claim() is None


def test_a_retry_while_another_clear_holds_the_group_is_409_naming_it(deployed: Stack) -> None:
    clear_id, _ = judged_with_one_stale(deployed)
    aws_emulator.fleet_answers(None)
    running = deployed.clear()

    status, body = deployed.api("POST", f"/flush/{clear_id}/retry")

    assert (status, body["error"]["rule"]) == (409, "clear-in-progress")
    assert body["error"]["runningCommand"]["commandId"] == running


def test_a_throttled_retry_is_503_and_gives_the_claim_back(deployed: Stack) -> None:
    clear_id, _ = judged_with_one_stale(deployed)

    with injected(Faults(operation="PutItem", occurrence=1, kind="throttle")):
        status, body = deployed.api("POST", f"/flush/{clear_id}/retry")

    assert (status, body["error"]["rule"]) == (503, "aws-throttled")
    assert group_claim() is None


# --- the edge itself ----------------------------------------------------------------------------


def test_an_unknown_route_is_404_and_never_reaches_the_logic(deployed: Stack) -> None:
    status, _ = deployed.api("DELETE", f"/flush/{UNKNOWN}")
    assert status == 404


# An HTTP status: a success or an error (3xx is never answered, and 300 is a common count).
_STATUS_CODES = frozenset(
    s.value for s in http.HTTPStatus if 200 <= s.value < 300 or 400 <= s.value < 600
)


def test_no_logic_module_of_the_dispatcher_holds_an_http_status() -> None:
    # The edge (api.py) maps what happened to an HTTP answer, once; the logic says what
    # happened.
    found = {}
    for path in sorted(DISPATCHER.glob("*.py")):
        if path.name == "api.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # A slice's bound is a length (reason[:200]), never a status.
        bounds = {id(n) for s in ast.walk(tree) if isinstance(s, ast.Slice) for n in ast.walk(s)}
        numbers = [
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant)
            and type(node.value) is int
            and node.value in _STATUS_CODES
            and id(node) not in bounds
        ]
        named = [
            node.id if isinstance(node, ast.Name) else node.attr
            for node in ast.walk(tree)
            if (isinstance(node, ast.Name) and node.id == "HTTPStatus")
            or (isinstance(node, ast.Attribute) and node.attr == "HTTPStatus")
        ]
        if numbers or named:
            found[path.name] = numbers + named
    assert found == {}
