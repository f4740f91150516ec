"""Every client the notifier builds ends its worst case before the function's Timeout, with
time left to record what it posted (issue 20, point 2); the time left is checked before each
page of invocations and before the post.

The worst case is computed here from the clients' own botocore configuration and the
template's Timeout, so that a change to either that breaks the promise fails this test.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from apcu_notifier import budget, handler
from apcu_notifier.config import Config
from apcu_notifier.runtime import build_runtime
from harness import aws_emulator as emu
from harness import cfn_template
from harness.aws_emulator import ok
from tests.notifier import records
from tests.notifier.conftest import GROUP, World
from tests.notifier.records import item

# botocore standard mode (botocore/retries/standard.py): before retry n the wait is at most
# min(1 s * 2 ** (n - 1), 20 s) for a throttle, plus up to 5 s more for an x-amz-retry-after.
MAX_BACKOFF = 20.0
RETRY_AFTER_EXTRA = 5.0


def notifier_timeout() -> float:
    properties = cfn_template.load()["Resources"]["NotifierFunction"]["Properties"]
    return float(properties["Timeout"])


def worst_call(client: Any) -> float:
    config = client.meta.config
    attempts = int(config.retries["total_max_attempts"])
    waits = sum(min(2.0 ** (n - 1), MAX_BACKOFF) + RETRY_AFTER_EXTRA for n in range(1, attempts))
    return attempts * (config.connect_timeout + config.read_timeout) + waits


@pytest.fixture
def clients() -> dict[str, Any]:
    config = Config(
        slack_webhook_secret_arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:x-AbCdEf",
        region=emu.REGION,
        commands_table="apcu-fleet-flush-CommandsTable-1A2B3C",
    )
    rt = build_runtime(config, boto3.Session(region_name=emu.REGION))
    assert rt.ledger is not None
    return {
        "ssm": rt.ssm,
        "autoscaling": rt.autoscaling,
        "secretsmanager": rt.secrets.client,
        "dynamodb": rt.ledger.client,
        "ec2": rt.ec2(),
        "scheduler": rt.scheduler(),
        "slack": rt.slack_policy,
    }


def test_each_client_has_timeouts_and_attempts_and_the_budget_knows_its_worst_case(
    clients: dict[str, Any],
) -> None:
    for name, client in clients.items():
        if name == "slack":
            continue
        config = client.meta.config
        assert config.connect_timeout and config.read_timeout, name
        assert config.retries["mode"] == "standard", name
        assert budget.worst_call(config) == pytest.approx(worst_call(client)), name


def test_the_worst_case_fits_the_functions_timeout_with_time_to_record(
    clients: dict[str, Any],
) -> None:
    timeout = notifier_timeout()
    slack = clients["slack"]
    record = worst_call(clients["dynamodb"])
    # After Slack took a message: a failed record write and its retry both finish.
    assert slack.margin >= 2 * record + budget.MARGIN_SECONDS
    # The post starts only while one Slack attempt and that reserve are left.
    post = slack.connect_timeout + slack.read_timeout + slack.margin
    assert post <= budget.POST_RESERVE
    # And any one call's worst case, started at the beginning, still leaves that.
    for name, client in clients.items():
        if name != "slack":
            assert worst_call(client) + budget.POST_RESERVE <= timeout, (
                f"{name}: {worst_call(client):.1f} s worst case + {budget.POST_RESERVE:.1f} s "
                f"to post and record > the {timeout:g} s Timeout"
            )


def test_time_running_short_between_pages_is_a_clear_retryable_error(
    world: World,
) -> None:
    # Given a group of 120 (3 pages of invocations), and an invocation whose time runs out
    # while it reads them: each page costs 10 s here
    records.enable(world)
    members = emu.create_group(GROUP, 120)
    command_id = world.send()
    emu.settle_command(command_id, {i: ok() for i in members})
    records.dispatched(command_id)
    rt = world.start()
    world.context.remaining_ms = int((budget.POST_RESERVE + 15) * 1000)
    pages: list[int] = []

    def spend(**_: Any) -> None:
        pages.append(1)
        world.context.remaining_ms -= 10_000

    rt.ssm.meta.events.register("before-call.ssm.ListCommandInvocations", spend)
    world.slack.always()

    # When the notification is handled, Then it stops before the third page, posts nothing,
    # gives the claim back and raises, so that Lambda retries the event
    with pytest.raises(handler.NotificationsFailed, match="NoTimeLeft: no time left to read"):
        world.notify(command_id)
    assert len(pages) == 2
    assert world.slack.messages() == []
    assert "claim" not in item(command_id)
