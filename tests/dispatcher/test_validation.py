"""Every validation rule: the field and the rule named in the refusal (the validator alone; the
same refusals through the handler are in test_console.py and test_fuzz.py)."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest

from apcu_dispatcher.validation import (
    ACTIONS,
    DOCUMENT_PREFIX_PATTERN,
    MAX_BODY_BYTES,
    PREFIX_PATTERN,
    FlushRequest,
    ValidationError,
    decode_body,
    validate_request,
)

ALLOWED = frozenset({"web-prod", "web-staging"})
GOOD: dict[str, Any] = {"group": "web-prod", "action": "clear-apcu"}


def refusal(payload: object) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        validate_request(payload, allowed_groups=ALLOWED, requester="console")
    assert caught.value.message
    return caught.value


def body_refusal(body: object, *, is_base64: bool = False) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        decode_body(body, is_base64=is_base64)
    return caught.value


def test_patterns_are_the_shared_contract() -> None:
    assert PREFIX_PATTERN == r"^[A-Za-z0-9_.:-]{1,64}$"
    assert DOCUMENT_PREFIX_PATTERN == r"^$|^[A-Za-z0-9_.:-]{1,64}$"
    assert frozenset({"clear-apcu", "reset-opcache", "clear-all"}) == ACTIONS


def test_minimal_request() -> None:
    assert validate_request(GOOD, allowed_groups=ALLOWED, requester="console") == FlushRequest(
        group="web-prod",
        action="clear-apcu",
        prefix=None,
        comment=None,
        dry_run=False,
        requester="console",
    )


def test_full_request() -> None:
    payload = {**GOOD, "prefix": "config:flags.v2", "comment": "new flags (#42) ✓", "dryRun": True}
    request = validate_request(
        payload, allowed_groups=ALLOWED, requester="arn:aws:sts::1:assumed-role/R/a"
    )
    assert request == FlushRequest(
        "web-prod",
        "clear-apcu",
        "config:flags.v2",
        "new flags (#42) ✓",
        True,
        "arn:aws:sts::1:assumed-role/R/a",
    )


@pytest.mark.parametrize(
    ("payload", "field", "rule"),
    [
        # the request itself
        ([GOOD], "body", "type"),
        ("web-prod", "body", "type"),
        (42, "body", "type"),
        (None, "body", "type"),
        (True, "body", "type"),
        # unknown fields, named
        ({**GOOD, "commands": ["reboot"]}, "commands", "unknown-field"),
        ({**GOOD, "DocumentName": "AWS-RunShellScript"}, "DocumentName", "unknown-field"),
        ({**GOOD, "Group": "web-prod"}, "Group", "unknown-field"),
        ({**GOOD, "dry_run": True}, "dry_run", "unknown-field"),
        # group
        ({"action": "clear-apcu"}, "group", "required"),
        ({**GOOD, "group": ["web-prod"]}, "group", "type"),
        ({**GOOD, "group": None}, "group", "type"),
        ({**GOOD, "group": "web-dev"}, "group", "allowed-groups"),
        ({**GOOD, "group": "Web-Prod"}, "group", "allowed-groups"),
        ({**GOOD, "group": " web-prod"}, "group", "allowed-groups"),
        ({**GOOD, "group": "web-prod\n"}, "group", "allowed-groups"),
        ({**GOOD, "group": "web-*"}, "group", "allowed-groups"),
        ({**GOOD, "group": ""}, "group", "allowed-groups"),
        # action
        ({"group": "web-prod"}, "action", "required"),
        ({**GOOD, "action": "run-command"}, "action", "allowed-actions"),
        ({**GOOD, "action": "CLEAR-APCU"}, "action", "allowed-actions"),
        ({**GOOD, "action": ["clear-apcu"]}, "action", "allowed-actions"),
        # prefix
        ({**GOOD, "prefix": ""}, "prefix", "empty"),
        ({**GOOD, "prefix": 7}, "prefix", "type"),
        ({**GOOD, "prefix": None}, "prefix", "type"),
        ({**GOOD, "prefix": "x; rm -rf /"}, "prefix", "pattern"),
        ({**GOOD, "prefix": "$(reboot)"}, "prefix", "pattern"),
        ({**GOOD, "prefix": "a'b"}, "prefix", "pattern"),
        ({**GOOD, "prefix": "{{ prefix }}"}, "prefix", "pattern"),
        ({**GOOD, "prefix": "config\n"}, "prefix", "pattern"),
        ({**GOOD, "prefix": "config*"}, "prefix", "pattern"),
        ({**GOOD, "prefix": "\uff43\uff4f\uff4e\uff46\uff49\uff47"}, "prefix", "pattern"),
        ({**GOOD, "prefix": "a" * 65}, "prefix", "pattern"),
        # comment
        ({**GOOD, "comment": 5}, "comment", "type"),
        ({**GOOD, "comment": "x" * 81}, "comment", "max-length"),
        ({**GOOD, "comment": "line one\nline two"}, "comment", "printable"),
        ({**GOOD, "comment": "tab\there"}, "comment", "printable"),
        ({**GOOD, "comment": "bell\x07"}, "comment", "printable"),
        ({**GOOD, "comment": "rtl \u202e override"}, "comment", "printable"),
        # dryRun
        ({**GOOD, "dryRun": "true"}, "dryRun", "type"),
        ({**GOOD, "dryRun": 1}, "dryRun", "type"),
        ({**GOOD, "dryRun": None}, "dryRun", "type"),
    ],
)
def test_each_rule_names_field_and_rule(payload: object, field: str, rule: str) -> None:
    error = refusal(payload)
    assert (error.field, error.rule) == (field, rule)


def test_unknown_fields_are_all_named_and_the_allowed_ones_listed() -> None:
    error = refusal({**GOOD, "commands": [], "InstanceIds": []})
    assert '"InstanceIds"' in error.message and '"commands"' in error.message
    assert "group, action, prefix, comment, dryRun" in error.message


def test_empty_prefix_says_how_to_clear_everything() -> None:
    assert "omit prefix to clear everything" in refusal({**GOOD, "prefix": ""}).message


def test_limits_are_inclusive() -> None:
    request = validate_request(
        {**GOOD, "prefix": "a" * 64, "comment": "é" * 80},
        allowed_groups=ALLOWED,
        requester="console",
    )
    assert (len(request.prefix or ""), len(request.comment or "")) == (64, 80)


def test_empty_group_list_allows_nothing() -> None:
    with pytest.raises(ValidationError) as caught:
        validate_request(GOOD, allowed_groups=frozenset(), requester="console")
    assert caught.value.rule == "allowed-groups"


def test_a_long_unknown_field_name_is_shortened_in_the_answer() -> None:
    error = refusal({**GOOD, "x" * 5000: 1})
    assert error.field is not None and len(error.field) <= 64
    assert len(error.message) < 300


# --- API bodies ---------------------------------------------------------------------------


def test_body_json_object() -> None:
    assert decode_body(json.dumps(GOOD), is_base64=False) == GOOD


def test_base64_body_is_decoded() -> None:
    encoded = base64.b64encode(json.dumps(GOOD).encode()).decode()
    assert decode_body(encoded, is_base64=True) == GOOD


@pytest.mark.parametrize(
    ("body", "is_base64", "rule"),
    [
        (None, False, "required"),
        ("", False, "required"),
        ('{"group": "web-prod",', False, "json"),
        ("group=web-prod&action=clear-apcu", False, "json"),
        ('{"group": NaN}', False, "json"),
        ("not base64!", True, "base64"),
        (base64.b64encode(b"\xff\xfe{}").decode(), True, "encoding"),
        ("{" + " " * MAX_BODY_BYTES + "}", False, "max-size"),
        (base64.b64encode(b" " * (MAX_BODY_BYTES + 1)).decode(), True, "max-size"),
        (b'{"group": "web-prod"}', False, "type"),
    ],
)
def test_bad_bodies(body: object, is_base64: bool, rule: str) -> None:
    error = body_refusal(body, is_base64=is_base64)
    assert (error.field, error.rule) == ("body", rule)


def test_deeply_nested_body_is_refused() -> None:
    # As deep as 4 KiB allows: refused as JSON or as not an object, never a crash
    body = '{"group":' + "[" * 2000 + "]" * 2000 + "}"
    with pytest.raises(ValidationError) as caught:
        validate_request(decode_body(body, is_base64=False), allowed_groups=ALLOWED, requester="c")
    assert caught.value.field in {"body", "group"}


def test_size_limit_counts_bytes_not_characters() -> None:
    # 1,500 three-byte characters: under 4 KiB as text, over it as UTF-8
    body = json.dumps({**GOOD, "comment": "あ" * 1500}, ensure_ascii=False)
    assert len(body) < MAX_BODY_BYTES < len(body.encode())
    assert body_refusal(body).rule == "max-size"


def test_duplicate_field_is_refused() -> None:
    error = body_refusal('{"group": "web-staging", "action": "clear-apcu", "group": "web-prod"}')
    assert (error.field, error.rule) == ("group", "duplicate-field")


@pytest.mark.parametrize("body", ["[]", '"web-prod"', "3", "null", "true"])
def test_body_of_wrong_type_is_refused_by_the_shared_validator(body: str) -> None:
    payload = decode_body(body, is_base64=False)
    assert (refusal(payload).field, refusal(payload).rule) == ("body", "type")


def test_prefix_pattern_needs_a_full_match() -> None:
    # `$` also matches before a final newline; the validator must not rely on it
    assert re.match(PREFIX_PATTERN, "config\n")
    assert refusal({**GOOD, "prefix": "config\n"}).rule == "pattern"


def test_a_group_that_is_not_allowed_is_told_which_are_and_how_to_change_them() -> None:
    # Given a stack that allows web-prod and web-staging, When a caller names web-dev,
    # Then the refusal names the allowed groups and the parameter that decides them.
    error = refusal({**GOOD, "group": "web-dev"})
    assert '"web-dev"' in error.message
    assert "web-prod, web-staging" in error.message
    assert "AllowedGroups parameter" in error.message


def test_with_no_group_allowed_the_refusal_says_so() -> None:
    with pytest.raises(ValidationError) as caught:
        validate_request(GOOD, allowed_groups=frozenset(), requester="console")
    assert "no group is allowed yet" in caught.value.message
    assert "AllowedGroups parameter" in caught.value.message


def test_a_long_list_of_allowed_groups_is_cut_short() -> None:
    many = frozenset(f"web-{n:02d}" for n in range(40))
    with pytest.raises(ValidationError) as caught:
        validate_request(GOOD, allowed_groups=many, requester="console")
    assert "web-00, web-01" in caught.value.message
    assert "and 30 more" in caught.value.message
    assert "web-39" not in caught.value.message


@pytest.mark.parametrize("action", ["reset-opcache", "clear-all"])
def test_the_opcache_actions_are_taken(action: str) -> None:
    request = validate_request(
        {**GOOD, "action": action}, allowed_groups=ALLOWED, requester="console"
    )
    assert (request.action, request.prefix) == (action, None)


def test_a_prefix_with_reset_opcache_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as refused:
        validate_request(
            {**GOOD, "action": "reset-opcache", "prefix": "config:"},
            allowed_groups=ALLOWED,
            requester="console",
        )
    assert (refused.value.field, refused.value.rule) == ("prefix", "not-with-action")
    assert refused.value.message.startswith("prefix applies to APCu keys only")
    assert "OPcache has no key prefixes" in refused.value.message


def test_a_prefix_with_clear_all_narrows_the_apcu_clear_only() -> None:
    request = validate_request(
        {**GOOD, "action": "clear-all", "prefix": "config:"},
        allowed_groups=ALLOWED,
        requester="console",
    )
    assert (request.action, request.prefix) == ("clear-all", "config:")
