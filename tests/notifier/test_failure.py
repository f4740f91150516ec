"""A clear that fails anyway (a step past its retries): the service does not retry a failed
execution, so the clear ends on its own path first: the failure recorded (GET /flush/{id} says
so, and `apcu-flush --wait` stops waiting), the group freed; then the execution fails, and its
event lands in the dead-letter queue, which pages."""

from __future__ import annotations

import boto3
import pytest

from harness.durable_lambda import ExecutionFailed
from harness.slack_web_api import WEBHOOK
from harness.stack import GROUP, TABLE, Stack
from tests.fleet import Fleet


def test_a_post_slack_refuses_for_good_fails_the_clear_and_frees_the_group(deployed: Stack) -> None:
    Fleet().serve()
    deployed.slack.fail_next(WEBHOOK, "no_service", status=404)
    clear_id = deployed.clear()

    with pytest.raises(ExecutionFailed, match="no_service"):
        deployed.outcome(clear_id)

    status = deployed.status(clear_id)
    assert status["state"] == "failed" and "no_service" in status["failure"]
    assert "REPLACE" not in status["failure"] and "/services/" not in status["failure"], (
        "no webhook URL"
    )
    claim = boto3.client("dynamodb").get_item(
        TableName=TABLE, Key={"commandId": {"S": f"claim#group#{GROUP}"}}
    )
    assert "Item" not in claim
    # Refused once, never sent again: a refusal no retry cures.
    assert [name for name, _ in deployed.slack.calls].count(WEBHOOK) == 1
