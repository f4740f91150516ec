"""Property: whatever arrives, the answer is a clear refusal or a SendCommand built only from
validated values. Hypothesis feeds console events and API requests; moto records what is sent.
"""

from __future__ import annotations

import base64
import json
import re
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apcu_dispatcher import handler
from apcu_dispatcher.clients import Clients
from apcu_dispatcher.command import GROUP_TAG
from apcu_dispatcher.config import Config
from apcu_dispatcher.validation import ACTIONS, DOCUMENT_PREFIX_PATTERN, FIELDS, RESET_OPCACHE
from tests.dispatcher.conftest import DOCUMENT, commands_in_moto, end_the_clear, stored_event

EXAMPLES = 400
# Every example shares one moto (the group is created once); what is sent is compared
# before and after each example.
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
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
        "<https://x|y>",
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
    "group": st.one_of(st.sampled_from(["web-prod", "web-staging", "web-dev"]), ANY_JSON),
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
    {"group": st.just("web-prod"), "action": st.sampled_from(sorted(ACTIONS))},
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
EVENTS = st.one_of(REQUESTS, ANY_JSON)


def check(
    event: object, settings_: Config, clients: Clients, sent: list[dict[str, Any]], before_moto: int
) -> str:
    before = len(sent)
    response = handler.handle(event, settings_, clients).response
    status = response["statusCode"]
    body = response["body"]
    if isinstance(body, str):
        body = json.loads(body)
    json.dumps(response)  # always serialisable
    new = sent[before:]
    if status == 202:
        [params] = new
        assert set(params) == SEND_KEYS
        assert params["DocumentName"] == DOCUMENT
        assert set(params["Parameters"]) == {"action", "prefix"}
        [prefix] = params["Parameters"]["prefix"]
        [action] = params["Parameters"]["action"]
        assert re.fullmatch(DOCUMENT_PREFIX_PATTERN, prefix)
        assert action in ACTIONS
        # OPcache has no keys: a prefix never goes with reset-opcache.
        assert not (action == RESET_OPCACHE and prefix)
        assert params["Targets"] == [{"Key": GROUP_TAG, "Values": ["web-prod"]}]
        assert len(params["Comment"]) <= 100 and params["Comment"].isprintable()
        assert len(commands_in_moto(clients)) == before_moto + 1
        assert body["commandId"]
        # The claim names the command; its verdict ends it, and the next request may send.
        assert end_the_clear(clients, body["commandId"])
        return "sent"
    assert new == []
    assert len(commands_in_moto(clients)) == before_moto
    if status == 200:
        assert body["dryRun"] is True
        return "dry run"
    assert status in {400, 403, 404}, status
    error = body["error"]
    assert error["status"] == status
    assert error["rule"] in RULES
    assert isinstance(error["message"], str) and 0 < len(error["message"]) < 400
    assert "field" not in error or len(error["field"]) <= 64
    return f"refused {status}"


def test_console_events_fuzzed(
    settings: Config, clients: Clients, web_prod: list[str], sent: list[dict[str, Any]]
) -> None:
    outcomes: Counter[str] = Counter()

    @FUZZ
    @given(event=EVENTS)
    def one(event: object) -> None:
        outcomes[check(event, settings, clients, sent, len(commands_in_moto(clients)))] += 1

    one()

    print(f"\nconsole events fuzzed: {sum(outcomes.values())} {dict(outcomes)}")
    assert sum(outcomes.values()) >= EXAMPLES
    assert outcomes["sent"] and outcomes["refused 400"]


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
    ANY_JSON,
)


def test_api_requests_fuzzed(
    settings: Config, clients: Clients, web_prod: list[str], sent: list[dict[str, Any]]
) -> None:
    outcomes: Counter[str] = Counter()
    template = stored_event("api-clear.json")

    @FUZZ
    @given(body=API_BODIES, requester=REQUESTERS)
    def one(body: tuple[Any, bool], requester: Any) -> None:
        event = json.loads(json.dumps(template))
        event["body"], event["isBase64Encoded"] = body
        event["requestContext"]["authorizer"]["iam"]["userArn"] = requester
        outcomes[check(event, settings, clients, sent, len(commands_in_moto(clients)))] += 1

    one()

    print(f"\nAPI requests fuzzed: {sum(outcomes.values())} {dict(outcomes)}")
    assert sum(outcomes.values()) >= EXAMPLES
    assert outcomes["sent"] and outcomes["refused 400"]


def test_every_field_name_is_fuzzed() -> None:
    assert set(FIELD_VALUES) == set(FIELDS)
