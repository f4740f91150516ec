"""The stored notifier events are what SSM would send this stack: the region samconfig.toml
deploys to, the names the template gives, the documented fields only, the expiry SSM computes,
and a command id no SSM command has (so that trying one on a real stack pages no one)."""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from apcu_notifier.verdict import TEST_COMMAND_PREFIX
from harness import cfn_template
from tests.notifier.conftest import EVENTS

SAMCONFIG = Path(__file__).resolve().parents[2] / "samconfig.toml"
# The fields of SSM's Run Command notifications (Systems Manager user guide, "Example Amazon
# SNS notifications"): a command summary, and a per-instance invocation.
COMMAND_FIELDS = {
    "commandId",
    "documentName",
    "instanceIds",
    "requestedDateTime",
    "expiresAfter",
    "outputS3BucketName",
    "outputS3KeyPrefix",
    "status",
    "eventTime",
}
INVOCATION_FIELDS = {
    "commandId",
    "documentName",
    "instanceId",
    "requestedDateTime",
    "status",
    "detailedStatus",
    "eventTime",
}
EVENT_FILES = sorted(p.name for p in EVENTS.glob("*.json"))


def _message(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    event = json.loads((EVENTS / name).read_text())
    [record] = event["Records"]
    return record, json.loads(record["Sns"]["Message"])


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _deploy() -> dict[str, Any]:
    config = tomllib.loads(SAMCONFIG.read_text())["default"]
    return {
        "region": config["deploy"]["parameters"]["region"],
        "stack": config["global"]["parameters"]["stack_name"],
    }


def test_there_are_stored_events() -> None:
    assert len(EVENT_FILES) >= 6


@pytest.mark.parametrize("name", EVENT_FILES)
def test_each_event_carries_only_the_documented_fields(name: str) -> None:
    _, message = _message(name)
    expected = INVOCATION_FIELDS if "instanceId" in message else COMMAND_FIELDS
    assert set(message) == expected


@pytest.mark.parametrize("name", [n for n in EVENT_FILES if n.startswith("command-")])
def test_expiry_is_the_request_plus_delivery_and_execution_timeouts(name: str) -> None:
    # SSM's expiresAfter: the request time, plus the delivery timeout the dispatcher sends
    # (the template's default), plus the document's execution timeout.
    _, message = _message(name)
    delivery = int(cfn_template.parameter_defaults()["DeliveryTimeoutSeconds"])
    [step] = cfn_template.flush_document()["mainSteps"]
    execution = int(step["inputs"]["timeoutSeconds"])
    expiry = _time(message["expiresAfter"]) - _time(message["requestedDateTime"])
    assert expiry == dt.timedelta(seconds=delivery + execution)


@pytest.mark.parametrize("name", EVENT_FILES)
def test_each_event_names_this_stack_in_its_region(name: str) -> None:
    record, message = _message(name)
    deploy = _deploy()
    resources = cfn_template.load()["Resources"]
    [topic] = [k for k, v in resources.items() if v["Type"] == "AWS::SNS::Topic"]
    [document] = [k for k, v in resources.items() if v["Type"] == "AWS::SSM::Document"]
    arn = record["Sns"]["TopicArn"]
    assert arn.startswith(f"arn:aws:sns:{deploy['region']}:")
    assert arn.rsplit(":", 1)[1].startswith(f"{deploy['stack']}-{topic}-")
    assert record["EventSubscriptionArn"].startswith(arn + ":")
    assert record["Sns"]["Subject"] == f"EC2 Run Command Notification {deploy['region']}"
    assert message["documentName"].startswith(f"{deploy['stack']}-{document}-")


@pytest.mark.parametrize("name", EVENT_FILES)
def test_each_event_uses_a_command_id_no_ssm_command_has(name: str) -> None:
    _, message = _message(name)
    assert message["commandId"].startswith(TEST_COMMAND_PREFIX)
    assert len(message["commandId"]) == 36
