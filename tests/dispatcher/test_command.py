"""The SendCommand request: the project's document, the group's tag, validated values only."""

from __future__ import annotations

import re

from apcu_dispatcher.command import build_send_command, console_url
from apcu_dispatcher.config import Config
from apcu_dispatcher.preflight import Plan
from apcu_dispatcher.validation import DOCUMENT_PREFIX_PATTERN, FlushRequest
from tests.dispatcher.conftest import DOCUMENT, ROLE_ARN, TOPIC_ARN

PLAN = Plan("web-prod", 3, ("i-1", "i-2", "i-3"), 0, 0, 3, ())


def request(**changes: object) -> FlushRequest:
    fields: dict[str, object] = {
        "group": "web-prod",
        "action": "clear-apcu",
        "prefix": None,
        "comment": None,
        "dry_run": False,
        "requester": "console",
    }
    fields.update(changes)
    return FlushRequest(**fields)  # type: ignore[arg-type]


def test_exact_request_for_a_full_clear(settings: Config) -> None:
    assert build_send_command(PLAN, request(), settings) == {
        "Targets": [{"Key": "tag:aws:autoscaling:groupName", "Values": ["web-prod"]}],
        "DocumentName": DOCUMENT,
        "Parameters": {"action": ["clear-apcu"], "prefix": [""]},
        "TimeoutSeconds": 120,
        "MaxConcurrency": "50%",
        "MaxErrors": "100%",
        "Comment": "console",
        "NotificationConfig": {
            "NotificationArn": TOPIC_ARN,
            "NotificationEvents": ["Success", "TimedOut", "Cancelled", "Failed"],
            "NotificationType": "Command",
        },
        "ServiceRoleArn": ROLE_ARN,
    }


def test_prefix_and_comment_and_settings(settings: Config) -> None:
    tuned = Config(**{**settings.__dict__, "max_concurrency": "2", "delivery_timeout_seconds": 300})
    params = build_send_command(
        PLAN, request(prefix="config:", comment="new flags", requester="alice"), tuned
    )
    assert params["Parameters"] == {"action": ["clear-apcu"], "prefix": ["config:"]}
    assert params["Comment"] == "alice: new flags"
    assert (params["MaxConcurrency"], params["TimeoutSeconds"]) == ("2", 300)
    assert re.fullmatch(DOCUMENT_PREFIX_PATTERN, params["Parameters"]["prefix"][0])


def test_comment_names_the_caller_and_keeps_the_whole_comment(settings: Config) -> None:
    # Given an assumed-role ARN of 70 characters and an 80-character comment
    requester = "arn:aws:sts::123456789012:assumed-role/PlatformOperations/alice.smith"
    params = build_send_command(PLAN, request(requester=requester, comment="c" * 80), settings)

    # Then "role/session: comment" would not fit SSM's 100 characters; the session name does
    assert params["Comment"] == "alice.smith: " + "c" * 80


def test_a_short_role_session_is_named_with_its_role(settings: Config) -> None:
    requester = "arn:aws:sts::123456789012:assumed-role/PlatformOps/alice"
    params = build_send_command(PLAN, request(requester=requester, comment="flags"), settings)
    assert params["Comment"] == "PlatformOps/alice: flags"


def test_an_sso_session_keeps_the_comment_whole(settings: Config) -> None:
    # An SSO role ARN alone nearly fills SSM's 100 characters
    requester = (
        "arn:aws:sts::123456789012:assumed-role/"
        "AWSReservedSSO_AdministratorAccess_0123456789abcdef/alice.smith@example.com"
    )
    params = build_send_command(PLAN, request(requester=requester, comment="x" * 80), settings)
    assert params["Comment"].endswith(": " + "x" * 80)
    assert len(params["Comment"]) == 100
    assert params["Comment"].startswith("alice.smith@examp")


def test_an_iam_user_is_named_by_user_name(settings: Config) -> None:
    requester = "arn:aws:iam::123456789012:user/ops/bob"
    params = build_send_command(PLAN, request(requester=requester, comment="hi"), settings)
    assert params["Comment"] == "bob: hi"


def test_no_commands_parameter_and_no_aws_document(settings: Config) -> None:
    params = build_send_command(PLAN, request(prefix="a"), settings)
    assert set(params["Parameters"]) == {"action", "prefix"}
    assert "RunShellScript" not in params["DocumentName"]
    assert "InstanceIds" not in params


def test_console_link() -> None:
    assert console_url("eu-west-1", "abc-123") == (
        "https://eu-west-1.console.aws.amazon.com/systems-manager/run-command/abc-123?region=eu-west-1"
    )
