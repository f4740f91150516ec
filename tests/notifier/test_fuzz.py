"""Property-based fuzzing of the notifier's input (issue 6 item 1).

Whatever arrives, the notifier posts an escaped message within Slack's limits or raises a clear
error; never an unhandled KeyError, IndexError or TypeError.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apcu_notifier import handler
from apcu_notifier.config import Language
from apcu_notifier.facts import GROUP_TAG, TargetFacts
from apcu_notifier.notification import (
    FINAL_STATUSES,
    NON_FINAL_STATUSES,
    InvalidEvent,
    Notification,
    parse_event,
)
from apcu_notifier.render import render
from apcu_notifier.verdict import judge
from harness import aws_emulator as emu
from harness.aws_emulator import InvocationResult
from tests.notifier.builders import command, facts, group, ids, invocation
from tests.notifier.conftest import GROUP, World, load_event, text_of
from tests.notifier.slack_limits import assert_within_slack_limits, control_sequences

SLACK_CONTROLS = [
    "<!channel>",
    "<!here>",
    "<@U123>",
    "&",
    "<https://x|y>",
    "<#C123>",
    "```",
    "*_~",
    "&amp;",
]
hostile_text = st.one_of(
    st.text(max_size=50),
    st.lists(st.sampled_from(SLACK_CONTROLS) | st.text(max_size=8), max_size=12).map("".join),
    st.text(min_size=3000, max_size=6000),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | hostile_text,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
statuses = (
    st.sampled_from(sorted(FINAL_STATUSES | NON_FINAL_STATUSES))
    | st.text(max_size=12)
    | json_values
)
command_ids = st.uuids().map(str) | st.text(max_size=40) | json_values
messages = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "commandId": command_ids,
            "status": statuses,
            "instanceId": json_values,
            "documentName": json_values,
            "eventTime": json_values,
            "instanceIds": json_values,
        },
    ),
)
message_texts = messages.map(json.dumps) | hostile_text
records = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {
            "EventSource": st.just("aws:sns"),
            "Sns": st.fixed_dictionaries({"Message": message_texts}),
        }
    ),
    st.fixed_dictionaries({"Sns": json_values}),
)
events = st.one_of(json_values, st.fixed_dictionaries({"Records": st.lists(records, max_size=4)}))


@settings(max_examples=300, deadline=None)
@given(events)
def test_parsing_any_json_gives_notifications_or_a_clear_error(event: Any) -> None:
    try:
        parsed = parse_event(event)
    except InvalidEvent as error:
        assert "Records" in str(error) or "SNS event" in str(error)
        return
    assert all(isinstance(n, Notification) for n in parsed)
    assert len(parsed) == len(event["Records"])


@settings(max_examples=200, deadline=None)
@given(
    group_name=hostile_text,
    comment=hostile_text,
    output=hostile_text,
    details=hostile_text,
    status=st.sampled_from(sorted(FINAL_STATUSES)),
    language=st.sampled_from(list(Language)),
)
def test_rendering_hostile_aws_strings_is_escaped_and_within_limits(
    group_name: str, comment: str, output: str, details: str, status: str, language: Language
) -> None:
    members = ids(3)
    verdict = judge(
        facts(
            command(
                status=status,
                target_count=3,
                targets=[TargetFacts(GROUP_TAG, (group_name,))],
                comment=comment,
            ),
            [
                invocation(members[0], stdout=output),
                invocation(members[1], "Failed", details, stdout=output, stderr=output),
            ],
            [group(group_name, members)],
        )
    )
    payload = render(verdict, language=language, mention="", region="us-east-1")

    assert_within_slack_limits(payload)
    found = control_sequences(json.dumps(payload, ensure_ascii=False))
    assert all(f.startswith("<https://us-east-1.console.aws.amazon.com/") for f in found), found


def _clear_failure(error: BaseException) -> bool:
    text = str(error)
    return not any(
        name in text for name in ("KeyError", "IndexError", "TypeError", "AttributeError")
    )


@pytest.fixture
def fuzz_world(world: World) -> World:
    emu.create_group(GROUP, 2)
    world.start()
    world.slack.always()
    return world


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(message=message_texts)
def test_handler_on_fuzzed_notifications(fuzz_world: World, message: str) -> None:
    world = fuzz_world
    world.slack.server.clear_log()
    event = load_event("command-success.json")
    event["Records"][0]["Sns"]["Message"] = message

    try:
        world.invoke(event)
    except handler.NotificationsFailed as error:
        assert _clear_failure(error), str(error)
    for posted in world.slack.messages():
        assert_within_slack_limits(posted)
        found = control_sequences(text_of(posted))
        assert all(
            f == "<!here>" or f.startswith("<https://us-east-1.console.aws.amazon.com/")
            for f in found
        ), found


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    comment=st.lists(st.sampled_from(SLACK_CONTROLS) | st.text(max_size=8), max_size=10)
    .map("".join)
    .map(lambda s: s[:100]),
    stdout=hostile_text,
    stderr=hostile_text,
    status=st.sampled_from(["Success", "Failed", "TimedOut", "Undeliverable", "Terminated"]),
)
def test_handler_escapes_fuzzed_comments_and_output(
    fuzz_world: World, comment: str, stdout: str, stderr: str, status: str
) -> None:
    world = fuzz_world
    world.slack.server.clear_log()
    command_id = world.send(comment=comment)
    members = emu.targeted_instances(command_id)
    emu.settle_command(
        command_id,
        {members[0]: InvocationResult(status, stdout=stdout, stderr=stderr), members[1]: emu.ok()},
        status="Failed" if status == "Failed" else "Success",
    )

    world.notify(command_id)

    posted = world.slack.message()
    assert_within_slack_limits(posted)
    found = control_sequences(text_of(posted))
    assert all(
        f == "<!here>" or f.startswith("<https://us-east-1.console.aws.amazon.com/") for f in found
    ), found


def test_unknown_command_ids_from_fuzzing_are_alerts(world: World) -> None:
    world.start()
    world.slack.always()
    for _ in range(3):
        world.notify(str(uuid.uuid4()))
    assert len(world.slack.messages()) == 3
