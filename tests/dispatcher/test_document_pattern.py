"""The SSM document's allowedPattern and the dispatcher's prefix rule are the same rule."""

from __future__ import annotations

import re

import pytest

from apcu_dispatcher.validation import (
    ACTIONS,
    DOCUMENT_PREFIX_PATTERN,
    ValidationError,
    validate_request,
)
from harness import cfn_template

BAD_PREFIXES = [
    "x; rm -rf /",
    "$(reboot)",
    "`id`",
    "a'b",
    'a"b',
    "a b",
    "a/b",
    "a|b",
    "a&b",
    "{{ prefix }}",
    "${SSM_prefix}",
    "\uff43\uff4f\uff4e\uff46\uff49\uff47",
    "é",
    "a" * 65,
    "a\x00b",
    "a\tb",
    "\na",
]


def template_pattern() -> str:
    document = cfn_template.load()["Resources"]["FlushDocument"]
    assert document["Type"] == "AWS::SSM::Document"
    parameters = document["Properties"]["Content"]["parameters"]
    # The action and the prefix are the document's only parameters: nothing else can reach the
    # script.
    assert list(parameters) == ["action", "prefix"]
    pattern: str = parameters["prefix"]["allowedPattern"]
    return pattern


def test_template_pattern_equals_the_code() -> None:
    assert template_pattern() == DOCUMENT_PREFIX_PATTERN


@pytest.mark.parametrize("prefix", BAD_PREFIXES)
def test_a_bad_prefix_is_refused_by_code_and_document(prefix: str) -> None:
    # The code refuses it
    with pytest.raises(ValidationError) as caught:
        validate_request(
            {"group": "web-prod", "action": "clear-apcu", "prefix": prefix},
            allowed_groups={"web-prod"},
            requester="console",
        )
    assert (caught.value.field, caught.value.rule) == ("prefix", "pattern")
    # and so does the document's allowedPattern, read as a search as well as a full match
    pattern = template_pattern()
    assert not re.fullmatch(pattern, prefix)
    assert not re.search(pattern, prefix)


@pytest.mark.parametrize("prefix", ["", "config:", "a", "A-Z_0.9:x", "a" * 64])
def test_good_values_pass_the_document(prefix: str) -> None:
    assert re.fullmatch(template_pattern(), prefix)


def test_trailing_newline_passes_a_dollar_anchor_so_the_code_does_not_rely_on_it() -> None:
    # `$` also matches before a final newline (Python, Java and PCRE alike): the document's
    # pattern, evaluated as a search, would let "config\n" through. The dispatcher never
    # sends it, and the script quotes the value, so the newline cannot start a command.
    pattern = template_pattern()
    assert re.search(pattern, "config\n")
    with pytest.raises(ValidationError):
        validate_request(
            {"group": "web-prod", "action": "clear-apcu", "prefix": "config\n"},
            allowed_groups={"web-prod"},
            requester="console",
        )


def test_the_document_allows_exactly_the_dispatchers_actions() -> None:
    # SSM itself refuses any other action, so the script never sees one.
    document = cfn_template.load()["Resources"]["FlushDocument"]
    action = document["Properties"]["Content"]["parameters"]["action"]
    assert action["default"] == "clear-apcu"
    candidates = [*sorted(ACTIONS), "run-command", "clear-apcu\n", "CLEAR-ALL", ""]
    allowed = {a for a in candidates if re.fullmatch(action["allowedPattern"], a)}
    assert allowed == ACTIONS
