"""Scale: 2,000 instances of which 300 were not reached; 10,000 while SSM throttles."""

from __future__ import annotations

import json
import math
import re

from apcu_notifier.config import Language
from apcu_notifier.render import render
from apcu_notifier.verdict import VerdictKind, judge
from harness import aws_emulator as emu
from harness.aws_emulator import InvocationResult, ok
from tests.notifier import records
from tests.notifier.builders import command, facts, group, ids, invocation
from tests.notifier.conftest import GROUP, JSON_THROTTLE, World, text_of, throttle_every
from tests.notifier.slack_limits import SECTION_TEXT, assert_within_slack_limits


def test_300_missing_of_2000_named_first_then_counted() -> None:
    # Given a group of 2,000 where SSM reached 1,700 and 40 of those failed
    members = ids(2000)
    reached = members[:1700]
    invocations = [invocation(i) for i in reached[:1660]] + [
        invocation(
            i, "Failed", stderr="curl: (7) Failed to connect to 127.0.0.1 port 80 " + "x" * 600
        )
        for i in reached[1660:]
    ]
    verdict = judge(facts(command(target_count=1700), invocations, [group("web-prod", members)]))

    assert verdict.kind is VerdictKind.MISMATCH
    assert len(verdict.missing_instances) == 300
    assert verdict.missing_instances[0] == members[1700]

    for language, more in ((Language.EN, r"…and (\d+) more"), (Language.JA, r"…ほか (\d+) 台")):
        payload = render(verdict, language=language, mention="<!here>", region="us-east-1")
        # Then the message stays within Slack's limits
        assert_within_slack_limits(payload)
        assert len(payload["blocks"]) <= 50
        sections = [
            b["text"]["text"] for b in payload["blocks"] if b["type"] == "section" and "text" in b
        ]
        assert all(len(s) <= SECTION_TEXT for s in sections)
        # And names the first missing ones in order, then counts the rest
        missing = sections[1]
        named = re.findall(r"`(i-[0-9a-f]+)`", missing)
        assert named == list(verdict.missing_instances[: len(named)])
        assert len(named) >= 50
        hidden = re.search(more, missing)
        assert hidden is not None and len(named) + int(hidden.group(1)) == 300
        # And the failures are listed the same way
        failures = sections[2]
        shown = failures.count("• `i-")
        hidden_failures = re.search(more, failures)
        assert hidden_failures is not None and shown + int(hidden_failures.group(1)) == 40
        assert "300" in json.dumps(payload, ensure_ascii=False)


def test_handler_on_a_large_group_with_300_unreached(world: World) -> None:
    # Given 2,000 moto instances; SSM reached 1,700 (a few Undeliverable)
    members = sorted(emu.create_group(GROUP, 2000))
    command_id = world.send()
    results = {i: ok(cleared=1) for i in members[:1690]}
    results.update({i: InvocationResult("Undeliverable") for i in members[1690:1700]})
    emu.settle_command(command_id, results)
    world.start()
    world.slack.always()

    world.notify(command_id)

    message = world.slack.message()
    assert_within_slack_limits(message)
    text = text_of(message)
    assert (
        "web-prod wants 2000, but SSM sent the command to 1700 of its InService instances." in text
    )
    assert "InService instances that did not run it: 300." in text
    assert f"`{members[1700]}`" in text
    assert "10 of 1700 instances did not finish the clear" in text
    assert "the 1690 that succeeded removed 1690 entries in all" in text
    assert "*Succeeded*\n1690 of 2000 wanted" in text


def test_handler_judges_10000_instances_while_ssm_throttles_pages(
    world: World, aws_sleeps: list[float]
) -> None:
    # Given a group of 10,000 where SSM reached all of them and 25 failed, and a record to keep
    records.enable(world)
    members = sorted(emu.create_group(GROUP, 10_000))
    command_id = world.send()
    records.dispatched(command_id)
    results = {i: ok(cleared=1) for i in members}
    results.update({i: InvocationResult("Failed", stderr="curl: (22) 502") for i in members[:25]})
    emu.settle_command(command_id, results)
    rt = world.start(commands_table=records.TABLE)
    world.slack.always()
    # And SSM throttles every fifth ListCommandInvocations attempt, as it does under load
    throttled = throttle_every(rt.ssm, "ListCommandInvocations", JSON_THROTTLE, 5)

    world.notify(command_id)

    # Then botocore's retries carry the pages through: one verdict, every instance counted
    pages = math.ceil(10_000 / 50)
    assert throttled.attempts == pages + throttled.faulted and throttled.faulted >= pages // 5
    assert len(aws_sleeps) == throttled.faulted
    message = world.slack.message()
    assert_within_slack_limits(message)
    text = text_of(message)
    assert "25 of 10000 instances did not finish the clear" in text
    assert "*Succeeded*\n9975 of 10000 wanted" in text
    # And the message names a bounded few of the failed ones and counts the rest
    assert len(set(re.findall(r"`(i-[0-9a-f]+)`", text))) < 25
    # And the recorded verdict stays far below DynamoDB's 400 KB item limit
    item = records.dynamodb().get_item(
        TableName=records.TABLE, Key={"commandId": {"S": command_id}}
    )
    assert len(json.dumps(item["Item"])) < 40_000
