"""Messages on-call can act on: each point of the issue, in both languages, on the payloads the
snapshots hold (tests/notifier/test_render.py)."""

from __future__ import annotations

import json
import re

import pytest
from botocore.loaders import create_loader

from apcu_notifier.config import Language
from apcu_notifier.judge import judge
from apcu_notifier.messages import CATALOGUE
from apcu_notifier.render import render
from apcu_notifier.render.words import said
from tests.notifier.builders import COMMAND_ID, STOP_ALARM, command, facts, group, ids, invocation
from tests.notifier.snapshots import english_words, entries, plain
from tests.notifier.test_render import (
    ASKED,
    CASES,
    MENTION,
    RETRY_ID,
    rendered,
    style,
)

EN, JA = Language.EN, Language.JA
BOTH = pytest.mark.parametrize("language", list(Language))


def summary(payload: dict[str, object]) -> str:
    return str(payload["blocks"][1]["text"]["text"])  # type: ignore[index]


def field(payload: dict[str, object], label: str) -> str:
    for block in payload["blocks"]:  # type: ignore[attr-defined]
        for f in block.get("fields", []):
            name, _, value = f["text"].partition("\n")
            if name == f"*{label}*":
                return str(value)
    raise AssertionError(f"no field {label}")


# --- a mismatch: only launching pages nobody; any other says what to check first


@BOTH
def test_a_group_only_launching_is_said_without_paging(language: Language) -> None:
    build, _ = CASES["ok-launching"]
    assert not build().is_alert
    payload = rendered("ok-launching", language)
    assert MENTION not in json.dumps(payload)
    assert payload["blocks"][0]["text"]["text"].startswith("✅")  # type: ignore[index]
    words = {EN: "with an empty cache", JA: "キャッシュが空の状態から始まる"}[language]
    assert words in summary(payload)
    assert "apcu-flush retry" not in plain(payload)


@BOTH
@pytest.mark.parametrize(
    ("case", "check"),
    [
        ("mismatch-missed", {EN: "Check first the SSM agent", JA: "まずコマンドが届いていない"}),
        (
            "mismatch-short",
            {EN: "Check first its activity history", JA: "まずグループのアクティビティ履歴"},
        ),
    ],
)
def test_any_other_mismatch_pages_and_says_what_to_check_first(
    language: Language, case: str, check: dict[Language, str]
) -> None:
    payload = rendered(case, language)
    assert summary(payload).startswith(MENTION)
    assert check[language] in summary(payload)


# --- every fact said once


N_OF_M = re.compile(r"(?<!attempt )\b\d+ of (?:the )?\d+\b|\d+ 台中 \d+ 台")


@BOTH
@pytest.mark.parametrize("case", list(CASES))
def test_every_fact_is_said_once(language: Language, case: str) -> None:
    payload = rendered(case, language)
    text = plain(payload)
    separator = {EN: r"(?<=[.:])\s+", JA: r"(?<=。)"}[language]
    sentences = [s for s in re.split(separator, summary(payload)) if s.strip()]
    assert len(sentences) == len(set(sentences)), sentences
    # A count of instances against another appears once (the Succeeded field).
    assert len(N_OF_M.findall(text)) <= 1, N_OF_M.findall(text)
    # The status is the field's; the summary does not say it again.
    status = (
        field(payload, CATALOGUE[language].label_status) if "fields" in json.dumps(payload) else ""
    )
    if status and case not in ("stuck", "never-ended"):
        assert f"*{status}*" not in summary(payload)


def test_stopped_no_longer_says_the_same_thing_twice() -> None:
    text = summary(rendered("stopped"))
    # Once how many still hold the old cache, never "N of M" again beside the field.
    assert text.count("3 instances") == 1 and not N_OF_M.search(text)
    assert text.count(STOP_ALARM) == 1


# --- "attempt 1 of N" only where a later attempt cleared


@BOTH
def test_the_first_attempts_status_says_of_how_many_only_where_a_later_one_cleared(
    language: Language,
) -> None:
    first_of = {EN: "(attempt 1 of ", JA: "回の試行の 1 回目"}[language]
    status = CATALOGUE[language].label_status
    assert first_of in field(rendered("clear-converged", language), status)
    assert first_of in field(rendered("clear-retried-from-button", language), status)
    # Every attempt failed: the status is the first command's, and nothing more.
    assert field(rendered("clear-still-stale", language), status) == "Incomplete"
    assert field(rendered("clear-stopped-on-retry", language), status) == "Success"


# --- counts include every attempt's entries


@BOTH
def test_the_entries_removed_count_every_attempt(language: Language) -> None:
    entries = {EN: "removing {} entries", JA: "計 {} 件"}[language]
    # 12 + 12 on the first attempt, 3 on the retry; 5 on the retry asked from Slack.
    assert entries.format(27) in summary(rendered("clear-converged", language))
    assert entries.format(29) in summary(rendered("clear-retried-from-button", language))


# --- SSM's own words, and real plurals


def _documented_status_details() -> set[str]:
    """The StatusDetails values botocore's SSM model documents (the user guide's words)."""
    model = create_loader().load_service_model("ssm", "service-2")
    found: set[str] = set()
    for shape in ("Command", "CommandInvocation", "CommandPlugin"):
        doc = model["shapes"][shape]["members"]["StatusDetails"]["documentation"]
        found.update(re.findall(r"<li> <p>([A-Z][A-Za-z ]+):", doc))
    return found


@pytest.mark.parametrize(
    "api", ["DeliveryTimedOut", "ExecutionTimedOut", "InProgress", "Undeliverable", "Success"]
)
def test_statuses_are_said_in_the_words_ssm_documents(api: str) -> None:
    documented = _documented_status_details()
    assert {"Delivery Timed Out", "Execution Timed Out", "In Progress"} <= documented
    assert said("", api) in documented


@BOTH
@pytest.mark.parametrize("case", list(CASES))
def test_no_status_run_together_and_no_instance_s(language: Language, case: str) -> None:
    text = plain(rendered(case, language))
    assert not re.search(r"DeliveryTimedOut|ExecutionTimedOut|InProgress|\bTimedOut", text)
    assert "(s)" not in text


def test_one_of_anything_is_singular() -> None:
    only = ids(1)
    verdict = judge(
        facts(command(target_count=1), [invocation(only[0], cleared=1)], [group("web-prod", only)])
    )
    assert "removing 1 entry." in plain(render(verdict, style(), ASKED))
    late = summary(rendered("clear-stopped-on-retry"))
    assert "1 instance in service" in late and "1 instances" not in late


# --- requester and comment, two fields


@BOTH
def test_requester_and_comment_are_two_fields(language: Language) -> None:
    m = CATALOGUE[language]
    payload = rendered("ok", language)
    assert field(payload, m.label_requester) == "PlatformEngineer/alice@example.com"
    assert field(payload, m.label_comment) == "release 2026.03.02"
    # A command the stack did not record: SSM's Comment is all there is, said as such.
    other = rendered("instances-target", language)
    assert field(other, m.label_comment) == "alice@example.com: release 2026.03.02"
    with pytest.raises(AssertionError):
        field(other, m.label_requester)


# --- after a retry from the button: the clear's group, its first picture, the retry's outcome


@BOTH
def test_a_retrys_message_keeps_the_group_the_first_picture_and_the_retrys_outcome(
    language: Language,
) -> None:
    m = CATALOGUE[language]
    payload = rendered("clear-retried-from-button", language)
    text = plain(payload)
    assert field(payload, m.label_group) == "web-prod"
    assert field(payload, m.label_command) == f"`{COMMAND_ID}`"
    assert field(payload, m.label_requester) == "PlatformEngineer/alice@example.com"
    assert field(payload, m.label_retried_by) == "slack:U0APCUOPS (bob)"
    # What the first two attempts said, then the retry's outcome.
    late = ids(3)[2]
    line = {
        EN: f"`{late}`: Delivery Timed Out, then Delivery Timed Out, then cleared on attempt 3",
        JA: f"`{late}`: Delivery Timed Out、続いて Delivery Timed Out、3 回目の試行でクリア",
    }[language]
    assert line in text


@BOTH
def test_a_retry_that_still_leaves_stale_instances_names_itself_for_the_next_retry(
    language: Language,
) -> None:
    # The retry's own id is what a further retry names: its verdict is the clear's latest.
    build, _ = CASES["clear-still-stale"]
    text = plain(render(build(), style(language), CASES["clear-retried-from-button"][1]))
    assert f"apcu-flush retry {RETRY_ID}" in text


# --- Japanese mode entirely in Japanese


@pytest.mark.parametrize("case", list(CASES))
def test_a_japanese_message_is_japanese(case: str) -> None:
    values = (STOP_ALARM, "web-prod", "PlatformEngineer/alice@example.com", "release 2026.03.02")
    values += ("slack:U0APCUOPS (bob)", "alice@example.com")
    assert english_words(plain(rendered(case, JA)), *values) == []


def test_the_japanese_catalogue_has_no_english_sentence() -> None:
    for name, value in entries(CATALOGUE[JA]).items():
        texts = value.values() if isinstance(value, dict) else [value]
        for text in texts:
            if isinstance(text, str):
                assert not re.search(r"\b(the|and|of|to|is|was|not)\b", text), (name, text)


def test_the_japanese_catalogue_says_every_entry_itself() -> None:
    # The English catalogue declares every entry; one Japanese leaves out would be said in
    # English, and one it misnames would never be said.
    english, japanese = entries(CATALOGUE[EN]), entries(CATALOGUE[JA])
    assert set(japanese) == set(english)
    assert [name for name in english if japanese[name] == english[name]] == []


# --- the stop alarm and an operator's cancel: nothing retries them, and how to finish


@BOTH
@pytest.mark.parametrize("case", ["stopped", "stopped-unread-alarm", "cancelled"])
def test_an_operators_stop_says_nothing_retries_it_and_how_to_finish(
    language: Language, case: str
) -> None:
    text = summary(rendered(case, language))
    nothing = {EN: "Nothing retries", JA: "自動では再試行しません"}[language]
    assert nothing in text
    assert f"`apcu-flush retry {COMMAND_ID}`" in text
    # In app mode, the button is named first.
    build, request = CASES[case]
    pressed = summary(render(build(), style(language), request, button=True))
    assert {EN: "the button below", JA: "下のボタン"}[language] in pressed


@BOTH
def test_an_alarm_ssm_could_not_read_is_named(language: Language) -> None:
    payload = rendered("stopped-unread-alarm", language)
    words = {EN: "SSM could not read the stop alarm", JA: "SSM が停止アラーム"}[language]
    assert words in payload["blocks"][0]["text"]["text"]  # type: ignore[index]
    text = summary(payload)
    held = {EN: "held back every instance that had not run yet", JA: "すべて保留しました"}[language]
    assert STOP_ALARM in text and "UNKNOWN" in text and held in text
    assert "AWSServiceRoleForAmazonSSM" in text
    assert "went into ALARM" not in text and "ALARM になった" not in text


# --- the stuck and never-ended alerts, as the clear now looks


@BOTH
def test_the_stuck_and_never_ended_alerts_say_what_the_clear_does(language: Language) -> None:
    stuck = summary(rendered("stuck", language))
    assert {EN: "every 15 minutes for 2 hours", JA: "2 時間のあいだ 15 分ごと"}[language] in stuck
    never = summary(rendered("never-ended", language))
    assert {EN: "no verdict will come", JA: "結果は通知されません"}[language] in never
    assert f"aws ssm cancel-command --command-id {COMMAND_ID}" in never


def test_the_retired_word_watchdog_is_nowhere() -> None:
    for catalogue in CATALOGUE.values():
        for value in entries(catalogue).values():
            assert "watchdog" not in repr(value).lower() and "ウォッチドッグ" not in repr(value)
    for case in CASES:
        for language in Language:
            assert "watchdog" not in plain(rendered(case, language)).lower()
