"""Calls that send nothing to the fleet: a dry run, and the requests the program or the API
refuses before anything is sent. Exit 0 with the plan, or 2 with the reason."""

from __future__ import annotations

import json

from harness.stack import GROUP
from tests.cli.pipeline import Local


def test_dry_run_sends_nothing(shared_local: Local) -> None:
    completed = shared_local.run("clear", GROUP, "--dry-run", "--wait")
    assert completed.returncode == 0, completed.stderr
    assert "dry run: nothing was sent" in completed.stdout
    assert "3 InService of 3 desired" in completed.stdout
    assert shared_local.commands() == []


def test_the_text_dry_run_shows_the_exact_sendcommand(shared_local: Local) -> None:
    # The reviewer of a dry run reads the request the dispatcher would send, as --json has it.
    dry_run = ("clear", GROUP, "--prefix", "config:", "--dry-run")
    answer = json.loads(shared_local.run(*dry_run, "--json").stdout)
    text = shared_local.run(*dry_run).stdout.splitlines()
    start = text.index("  it would send this SendCommand request:") + 1
    shown = json.loads("\n".join(line.removeprefix("    ") for line in text[start:]))
    assert shown == answer["wouldSend"]
    assert shown["Parameters"] == {"action": ["clear-apcu"], "prefix": ["config:"]}


def test_a_bad_request_exits_2_with_the_apis_reason(shared_local: Local) -> None:
    # Given a prefix the API's rule refuses, Then exit 2, the reason printed, nothing sent.
    completed = shared_local.run("clear", GROUP, "--prefix", "a b;rm -rf /", "--wait")
    assert completed.returncode == 2
    assert "refused (400, prefix)" in completed.stderr
    assert len(shared_local.gateway.events) == 1


def test_reset_opcache_with_a_prefix_exits_2_before_anything_is_sent(shared_local: Local) -> None:
    # No credentials at all: the refusal comes before any signing or request
    env = shared_local.env(
        AWS_ACCESS_KEY_ID=None, AWS_SECRET_ACCESS_KEY=None, AWS_SESSION_TOKEN=None
    )
    completed = shared_local.run(
        "clear", GROUP, "--action", "reset-opcache", "--prefix", "config:", env=env
    )
    assert completed.returncode == 2
    assert completed.stderr.startswith(
        "apcu-flush: prefix applies to APCu keys only, and OPcache has no key prefixes"
    )
    assert shared_local.gateway.events == []


def test_the_command_line_refuses_a_prefix_in_the_dispatchers_words() -> None:
    from apcu_dispatcher.validation import ACTIONS, PREFIX_WITH_OPCACHE
    from apcu_flush import cli

    assert cli.PREFIX_WITH_OPCACHE == PREFIX_WITH_OPCACHE
    assert set(cli.ACTIONS) == ACTIONS


def test_an_unknown_action_exits_2(shared_local: Local) -> None:
    completed = shared_local.run("clear", GROUP, "--action", "flush-everything")
    assert completed.returncode == 2
    assert "invalid choice: 'flush-everything'" in completed.stderr
    assert shared_local.gateway.events == []
