"""Property: whatever arrives, as a console event or as the body of POST /flush, the answer is a
refusal naming a known rule, a dry run, or one SendCommand built only from validated values.
Hypothesis feeds the events; SSM (moto) records what is sent.

The clear each 202 starts is not the point here: the stack's notifier alias is pointed at a
function that does nothing, the fleet ends each command at once with nobody told, and the claim
is freed after each 202, as the clear would free it.
"""

from __future__ import annotations

import base64
import json
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apcu_clear import claim
from apcu_dispatcher.validation import ACTIONS, DOCUMENT_PREFIX_PATTERN, FIELDS, RESET_OPCACHE
from harness import aws_emulator
from harness.aws_emulator import ACCOUNT_ID, REGION
from harness.slack_web_api import SlackWebApi
from harness.stack import DOCUMENT, GROUP, TABLE, Stack, api_event
from tests.dispatcher.conftest import commands, deployed_with
from tests.fleet import Fleet

EXAMPLES = 150
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
IDLE = "apcu-fleet-flush-idle"
RULES = {
    "type",
    "required",
    "unknown-field",
    "duplicate-field",
    "allowed-groups",
    "allowed-actions",
    "empty",
    "pattern",
    "max-length",
    "printable",
    "json",
    "max-size",
    "base64",
    "encoding",
    "iam-auth",
    "exists",
    "in-service",
    "not-with-action",
}
SEND_KEYS = {
    "Targets",
    "DocumentName",
    "Parameters",
    "TimeoutSeconds",
    "MaxConcurrency",
    "MaxErrors",
    "Comment",
    "NotificationConfig",
    "ServiceRoleArn",
}

NASTY = st.sampled_from(
    [
        "<!channel>",
        "<!here>",
        "<@U123>",
        "&amp; & < >",
        "; rm -rf /",
        "$(reboot)",
        "`id`",
        "' || curl http://169.254.169.254 #",
        "{{ prefix }}",
        "${SSM_prefix}",
        "a\nb",
        "config\n",
        "\x00",
        "\u202e",
        "\uff57\uff45\uff42-\uff50\uff52\uff4f\uff44",
        "web-prod ",
        "WEB-PROD",
        "web-prod\n",
        "AWS-RunShellScript",
        "a" * 65,
        "😀" * 30,
    ]
)
HUGE = st.builds(
    lambda piece, times: piece * times,
    st.sampled_from(["a", "<!channel>", "é", ";", "\n", "0"]),
    st.integers(1_000, 100_000),
)
TEXT = st.one_of(NASTY, st.text(), HUGE)
LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)
ANY_JSON = st.recursive(
    LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "group": st.one_of(st.sampled_from([GROUP, "web-staging", "web-dev"]), ANY_JSON),
    "action": st.one_of(st.sampled_from(sorted(ACTIONS)), ANY_JSON),
    "prefix": st.one_of(st.from_regex(r"[A-Za-z0-9_.:-]{1,64}", fullmatch=True), ANY_JSON),
    "comment": st.one_of(st.text(max_size=90), NASTY, ANY_JSON),
    "dryRun": st.one_of(st.booleans(), ANY_JSON),
}
EXTRA = st.dictionaries(
    st.one_of(
        st.sampled_from(["commands", "DocumentName", "InstanceIds", "Targets", "dry_run"]),
        st.text(),
    ),
    ANY_JSON,
    max_size=2,
)
VALID = st.fixed_dictionaries(
    {"group": st.just(GROUP), "action": st.sampled_from(sorted(ACTIONS))},
    optional={
        "prefix": st.from_regex(r"[A-Za-z0-9_.:-]{1,64}", fullmatch=True),
        "comment": st.text(
            st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Zs"]), max_size=80
        ),
        "dryRun": st.booleans(),
    },
)
# A valid request with one field replaced by anything, or one unknown field added.
ONE_WRONG = st.builds(
    lambda base, key, value: {**base, key: value},
    VALID,
    st.one_of(
        st.sampled_from(FIELDS),
        st.sampled_from(["commands", "DocumentName", "InstanceIds"]),
        st.text(),
    ),
    st.one_of(ANY_JSON, NASTY, HUGE),
)
ANYTHING = st.builds(
    lambda base, extra: {**base, **extra},
    st.fixed_dictionaries({}, optional=FIELD_VALUES),
    st.one_of(st.just({}), EXTRA),
)
REQUESTS = st.one_of(VALID, ONE_WRONG, ONE_WRONG, ANYTHING)
# No event here has "detail-type" and "source" together: those are launch events.
EVENTS = st.one_of(REQUESTS, ANY_JSON)
API_BODIES = st.one_of(
    REQUESTS.map(lambda r: (json.dumps(r), False)),
    REQUESTS.map(lambda r: (base64.b64encode(json.dumps(r).encode()).decode(), True)),
    st.tuples(st.one_of(TEXT, st.none()), st.booleans()),
    st.binary(max_size=200).map(lambda b: (base64.b64encode(b).decode(), True)),
)
REQUESTERS = st.one_of(
    st.just("arn:aws:sts::123456789012:assumed-role/PlatformOps/alice"),
    NASTY,
    st.text(),
    HUGE,
)


@pytest.fixture
def idle(aws: None, slack: SlackWebApi) -> Iterator[Stack]:
    """The stack, its clears started on a function that does nothing."""
    with deployed_with(slack) as stack:
        aws_emulator.subscribe(None)
        Fleet().serve()
        stack.lambda_.functions[IDLE] = lambda event: None
        stack.use(
            {
                **stack.env,
                "NOTIFIER_ALIAS_ARN": f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{IDLE}:live",
            }
        )
        yield stack


def check(stack: Stack, event: object) -> str:
    before = commands()
    answer = stack.dispatch(event)
    json.dumps(answer)  # always serialisable
    status = answer["statusCode"]
    body = answer["body"] if isinstance(answer["body"], dict) else json.loads(answer["body"])
    new = [c for c in commands() if c["CommandId"] not in {b["CommandId"] for b in before}]
    if status == 202:
        [command] = new
        assert body["commandId"] == command["CommandId"]
        params = {k: v for k, v in command.items() if k in SEND_KEYS}
        assert command["DocumentName"] == DOCUMENT
        assert set(params["Parameters"]) == {"action", "prefix"}
        [prefix] = params["Parameters"]["prefix"]
        [action] = params["Parameters"]["action"]
        assert re.fullmatch(DOCUMENT_PREFIX_PATTERN, prefix)
        assert action in ACTIONS
        # OPcache has no keys: a prefix never goes with reset-opcache.
        assert not (action == RESET_OPCACHE and prefix)
        assert command["Targets"] == [{"Key": "tag:aws:autoscaling:groupName", "Values": [GROUP]}]
        assert not command.get("InstanceIds")
        assert len(command["Comment"]) <= 100 and command["Comment"].isprintable()
        # The clear ends and frees its group, and the next request may send.
        db = boto3.client("dynamodb")
        assert claim.release(db, TABLE, claim.group_key(GROUP), body["commandId"])
        return "sent"
    assert new == []
    if status == 200:
        assert body["dryRun"] is True
        return "dry run"
    assert status in {400, 403, 404}, (status, body)
    error = body["error"]
    assert error["status"] == status
    assert error["rule"] in RULES
    assert isinstance(error["message"], str) and 0 < len(error["message"]) < 400
    assert "field" not in error or len(error["field"]) <= 64
    return f"refused {status}"


def test_console_events_fuzzed(idle: Stack) -> None:
    outcomes: Counter[str] = Counter()

    @FUZZ
    @given(event=EVENTS)
    def one(event: object) -> None:
        outcomes[check(idle, event)] += 1

    one()

    assert sum(outcomes.values()) >= EXAMPLES
    assert outcomes["sent"] and outcomes["refused 400"] and outcomes["dry run"], outcomes


def test_api_requests_fuzzed(idle: Stack) -> None:
    outcomes: Counter[str] = Counter()

    @FUZZ
    @given(body=API_BODIES, requester=REQUESTERS)
    def one(body: tuple[Any, bool], requester: str) -> None:
        event = api_event("POST", "/flush", requester=requester)
        event["body"], event["isBase64Encoded"] = body
        if event["body"] is None:
            del event["body"]
        outcomes[check(idle, event)] += 1

    one()

    assert sum(outcomes.values()) >= EXAMPLES
    assert outcomes["sent"] and outcomes["refused 400"], outcomes


def test_every_field_is_fuzzed() -> None:
    assert set(FIELD_VALUES) == set(FIELDS)
