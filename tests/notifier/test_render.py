"""Slack payloads: a snapshot of every verdict in both languages, and what holds for all of them
(Slack's limits, escaping, the mention, counts that agree)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest

from apcu_notifier.attempts import conclude
from apcu_notifier.config import Language
from apcu_notifier.facts import Target, TriggeredAlarm
from apcu_notifier.handler import UnreadableReason
from apcu_notifier.judge import judge
from apcu_notifier.render import FORMATTERS, Request, Style, render
from apcu_notifier.verdict import Verdict, VerdictKind, unknown_command
from apcu_notifier.watch import LOOK_EVERY, LOOKS
from tests.notifier.builders import (
    COMMAND_ID,
    STOP_ALARM,
    attempt,
    cleared_and_reset,
    command,
    facts,
    group,
    healthy_group,
    ids,
    invocation,
    launch,
    reset,
    reset_refused,
)
from tests.notifier.snapshots import (
    assert_snapshot,
    assert_within_slack_limits,
    control_sequences,
    plain,
)

MENTION = "<!here>"
REPOSITORY = "https://github.com/apcu-fleet-flush/apcu-fleet-flush"
ALICE = "arn:aws:sts::123456789012:assumed-role/PlatformEngineer/alice@example.com"
BOB = "slack:U0APCUOPS (bob)"
RETRY_ID = "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
# A Japanese stack writes its times in Japan's zone; the English snapshots keep the default.
ZONES = {Language.EN: "UTC", Language.JA: "Asia/Tokyo"}


def style(language: Language = Language.EN, *, zone: str = "", mention: str = MENTION) -> Style:
    return Style(
        language=language,
        mention=mention,
        region="us-east-1",
        zone=ZoneInfo(zone or ZONES[language]),
        docs_url=REPOSITORY,
        warm_pool_exit_clears=True,
    )


# The clear's record: who asked, and why.
ASKED = Request(COMMAND_ID, "web-prod", ALICE, "release 2026.03.02")
# A retry pressed in Slack: its own id, the clear it repairs asked by alice.
RETRIED = Request(RETRY_ID, "web-prod", ALICE, "release 2026.03.02", retried_by=BOB)
NOT_RECORDED = Request()


def _ok() -> Verdict:
    return judge(healthy_group(3))


def _ok_with_standby() -> Verdict:
    # A Standby instance kept the group tag: reached, not counted in DesiredCapacity.
    members = ids(4)
    return judge(
        facts(
            command(target_count=4),
            [invocation(i) for i in members],
            [group("web-prod", members, desired=3, states={members[3]: "Standby"})],
        )
    )


def _ok_empty_group() -> Verdict:
    return judge(
        facts(command(target_count=0, details="No Instances In Tag"), [], [group("web-prod", [])])
    )


def _ok_outside_joined_hibernated_pool() -> Verdict:
    # 4 wanted: 3 InService cleared, 1 started after the request; a Standby instance timed out,
    # a hibernated warm-pool instance (not listed in the group) was undeliverable.
    members = ids(5)
    return judge(
        facts(
            command(status="Failed", details="Incomplete", target_count=5),
            [invocation(i, cleared=100 + n) for n, i in enumerate(members[:3])]
            + [
                invocation(members[4], "TimedOut", "DeliveryTimedOut"),
                invocation("i-0a11ed00000000000", "Failed", "Undeliverable"),
            ],
            [
                group(
                    "web-prod",
                    members,
                    desired=4,
                    states={members[4]: "Standby"},
                    warm_pool_state="Hibernated",
                )
            ],
            launches=[launch(members[3], minutes_after=1)],
        )
    )


def _ok_scaling_in() -> Verdict:
    # A scale-in has begun: 4 InService still, 3 wanted; all 4 cleared.
    members = ids(4)
    return judge(
        facts(
            command(target_count=4),
            [invocation(i) for i in members],
            [group("web-prod", members, desired=3)],
        )
    )


def _ok_launching() -> Verdict:
    # 5 wanted, 3 InService cleared, 2 still launching (Pending): they start empty.
    members = ids(5)
    pending = {members[3]: "Pending", members[4]: "Pending:Wait"}
    return judge(
        facts(
            command(target_count=3),
            [invocation(i) for i in members[:3]],
            [group("web-prod", members, desired=5, states=pending)],
        )
    )


def _mismatch_missed() -> Verdict:
    # An InService instance the command never reached (its agent is not registered), while
    # another instance is launching.
    members = ids(5)
    return judge(
        facts(
            command(target_count=3),
            [invocation(i) for i in members[:3]],
            [group("web-prod", members, desired=5, states={members[4]: "Pending"})],
        )
    )


def _mismatch_short() -> Verdict:
    # Every InService instance cleared, but the group has 3 of the 5 it wants and none launching.
    members = ids(3)
    return judge(
        facts(
            command(target_count=3),
            [invocation(i) for i in members],
            [group("web-prod", members, desired=5)],
        )
    )


def _no_targets() -> Verdict:
    return judge(
        facts(
            command(target_count=0, details="No Instances In Tag"), [], [group("web-prod", ids(3))]
        )
    )


def _no_targets_failed() -> Verdict:
    # SSM ended it Failed, but it reached nothing: the cause is the missing targets.
    return judge(facts(command(status="Failed", target_count=0), [], [group("web-prod", ids(3))]))


def _partial() -> Verdict:
    # The API spells some of SSM's words as one ("DeliveryTimedOut"), some not ("Access Denied").
    members = ids(6)
    return judge(
        facts(
            command(status="Failed", details="Incomplete", target_count=6),
            [
                invocation(members[0], cleared=3),
                invocation(members[1], "Failed", "Undeliverable"),
                invocation(members[2], "TimedOut", "DeliveryTimedOut"),
                invocation(members[3], "TimedOut", "Delivery Timed Out"),
                invocation(members[4], "Failed", "Access Denied"),
                invocation(members[5], "TimedOut", "ExecutionTimedOut", stderr="timeout: 60 s"),
            ],
            [group("web-prod", members)],
        )
    )


def _failed() -> Verdict:
    members = ids(3)
    return judge(
        facts(
            command(status="Failed", target_count=3),
            [
                invocation(members[0]),
                invocation(
                    members[1], "Failed", stderr="curl: (22) The requested URL returned error: 503"
                ),
                invocation(
                    members[2],
                    "Failed",
                    stderr="Error response from daemon: No such container: nginx\n```<!channel>```",
                ),
            ],
            [group("web-prod", members)],
        )
    )


def _failed_rate_exceeded() -> Verdict:
    members = ids(3)
    return judge(
        facts(
            command(status="Cancelled", details="Rate Exceeded", target_count=3),
            [invocation(i, "Cancelled") for i in members],
            [group("web-prod", members)],
        )
    )


def _group_not_found() -> Verdict:
    return judge(
        facts(
            command(target_count=2),
            [invocation(i) for i in ids(2)],
            [],
            missing_groups=["web-prod"],
        )
    )


def _instances_target() -> Verdict:
    members = ids(2)
    return judge(
        facts(
            command(target_count=2, targets=[Target("InstanceIds", tuple(members))]),
            [invocation(i) for i in members],
        )
    )


def _stopped(state: str = "ALARM") -> Verdict:
    # The stop alarm fired after the first wave: SSM cancelled the invocations not yet started.
    members = ids(6)
    return judge(
        facts(
            command(status="Cancelled", target_count=6, alarms=[TriggeredAlarm(STOP_ALARM, state)]),
            [invocation(i, cleared=40) for i in members[:3]]
            + [invocation(i, "Cancelled") for i in members[3:]],
            [group("web-prod", members)],
        )
    )


def _stopped_unread_alarm() -> Verdict:
    # SSM could not read the alarm (deleted, or no service-linked role): it stopped all the same.
    return _stopped("UNKNOWN")


def _cancelled() -> Verdict:
    # An operator's cancel-command: 2 of 4 had cleared.
    members = ids(4)
    return judge(
        facts(
            command(status="Cancelled", target_count=4),
            [invocation(i, cleared=30) for i in members[:2]]
            + [invocation(i, "Cancelled") for i in members[2:]],
            [group("web-prod", members)],
        )
    )


def _test_event() -> Verdict:
    return unknown_command("00000000-0000-4000-8000-000000000001", "Success")


def _unknown_command() -> Verdict:
    return unknown_command(COMMAND_ID, "Success")


def _unreadable() -> Verdict:
    excerpt = "status=Success <!channel> & friends"
    return Verdict(VerdictKind.UNREADABLE, reason=UnreadableReason.NOT_JSON, excerpt=excerpt)


def _stuck() -> Verdict:
    # As apcu_notifier.posting builds it from ListCommands: counts, no target.
    return Verdict(
        kind=VerdictKind.STUCK,
        command_id=COMMAND_ID,
        status="InProgress",
        status_details="InProgress",
        targeted=3,
        succeeded=1,
    )


def _never_ended() -> Verdict:
    return replace(_stuck(), kind=VerdictKind.NEVER_ENDED, watched_for=LOOK_EVERY * LOOKS)


def _ok_notification_missing() -> Verdict:
    return replace(judge(healthy_group(3)), notification_missing=True)


def _opcache_ok() -> Verdict:
    # validate_timestamps=1 on one instance: said, not an alert.
    members = ids(3)
    return judge(
        facts(
            command(target_count=3, action="reset-opcache"),
            [
                reset(members[0]),
                reset(members[1], caveats=("validate_timestamps",)),
                reset(members[2]),
            ],
            [group("web-prod", members)],
        )
    )


def _clear_all_ok() -> Verdict:
    members = ids(3)
    return judge(
        facts(
            command(target_count=3, action="clear-all"),
            [cleared_and_reset(i, cleared=100 + n) for n, i in enumerate(members)],
            [group("web-prod", members)],
        )
    )


def _opcache_old_code() -> Verdict:
    members = ids(3)
    return judge(
        facts(
            command(target_count=3, action="reset-opcache"),
            [
                reset(members[0]),
                reset(members[1], caveats=("preload", "validate_timestamps")),
                reset(members[2], caveats=("file_cache",)),
            ],
            [group("web-prod", members)],
        )
    )


def _opcache_failed() -> Verdict:
    members = ids(4)
    return judge(
        facts(
            command(status="Failed", target_count=4, action="reset-opcache"),
            [
                reset(members[0]),
                reset_refused(members[1], "restricted"),
                reset_refused(members[2], "restricted"),
                reset_refused(members[3], "disabled"),
            ],
            [group("web-prod", members)],
        )
    )


def first_attempt_one_late() -> Verdict:
    """The first attempt: one instance's agent never took the command."""
    members = ids(3)
    return judge(
        facts(
            command(target_count=3),
            [
                invocation(members[0]),
                invocation(members[1]),
                invocation(members[2], "TimedOut", "DeliveryTimedOut"),
            ],
            [group("web-prod", members)],
        )
    )


def _clear_converged() -> Verdict:
    # The automatic retry cleared it: every attempt's entries count (12 + 12, then 3).
    late = ids(3)[2]
    return conclude(first_attempt_one_late(), [attempt(2, [invocation(late, cleared=3)])], {})


def _clear_still_stale() -> Verdict:
    # Two rounds later one instance is still stale, one's agent was offline, one left service.
    members = ids(4)
    first = judge(
        facts(
            command(status="Failed", details="Incomplete", target_count=4),
            [
                invocation(members[0], cleared=3),
                invocation(members[1], "Failed", stderr="curl: (7) Failed to connect"),
                invocation(members[2], "TimedOut", "DeliveryTimedOut"),
                invocation(members[3], "Failed", "Undeliverable"),
            ],
            [group("web-prod", members)],
        )
    )
    second = attempt(2, [invocation(members[1], "TimedOut", "DeliveryTimedOut")])
    third = attempt(3, [invocation(members[1], "TimedOut", "DeliveryTimedOut")])
    notes = {members[2]: "offline", members[3]: "left"}
    return conclude(first, [second, third], notes)


def clear_left_stale() -> Verdict:
    """The clear's own verdict: its automatic retry did not clear the late instance either."""
    late = ids(3)[2]
    again = attempt(2, [invocation(late, "TimedOut", "DeliveryTimedOut")])
    return conclude(first_attempt_one_late(), [again], {})


def _clear_retried_from_button() -> Verdict:
    # Someone pressed the retry button: the retry's verdict is the clear's, with what it cleared.
    late = ids(3)[2]
    return conclude(clear_left_stale(), [attempt(3, [invocation(late, cleared=5)])], {})


def _clear_stopped_on_retry() -> Verdict:
    # The automatic retry was held by the stop alarm: nothing retries it further by itself.
    late = ids(3)[2]
    held = attempt(2, [invocation(late, "Cancelled")])
    stopped = replace(
        held.stopped_by, kind=VerdictKind.STOPPED, stopped_by=(TriggeredAlarm(STOP_ALARM, "ALARM"),)
    )
    return conclude(first_attempt_one_late(), [replace(held, stopped_by=stopped)], {})


def _held_launch() -> Verdict:
    # A warm-pool instance held by the launch hook (a command to its id) whose clear failed: it
    # enters service anyway.
    held = ids(1)
    return replace(
        judge(
            facts(
                command(
                    status="Failed", target_count=1, targets=[Target("InstanceIds", tuple(held))]
                ),
                [invocation(held[0], "Failed", stderr="curl: (7) Failed to connect")],
            )
        ),
        lifecycle_result="CONTINUE",
    )


CASES: dict[str, tuple[Callable[[], Verdict], Request]] = {
    "ok": (_ok, ASKED),
    "ok-empty-group": (_ok_empty_group, ASKED),
    "ok-with-standby": (_ok_with_standby, ASKED),
    "ok-outside-joined-hibernated-pool": (_ok_outside_joined_hibernated_pool, ASKED),
    "ok-scaling-in": (_ok_scaling_in, ASKED),
    "ok-launching": (_ok_launching, ASKED),
    "mismatch-missed": (_mismatch_missed, ASKED),
    "mismatch-short": (_mismatch_short, ASKED),
    "no-targets": (_no_targets, ASKED),
    "no-targets-failed": (_no_targets_failed, ASKED),
    "partial": (_partial, ASKED),
    "failed": (_failed, ASKED),
    "failed-rate-exceeded": (_failed_rate_exceeded, ASKED),
    "group-not-found": (_group_not_found, ASKED),
    "instances-target": (_instances_target, NOT_RECORDED),
    "stopped": (_stopped, ASKED),
    "stopped-unread-alarm": (_stopped_unread_alarm, ASKED),
    "cancelled": (_cancelled, ASKED),
    "unknown-command": (_unknown_command, NOT_RECORDED),
    "unreadable": (_unreadable, NOT_RECORDED),
    "test-event": (_test_event, NOT_RECORDED),
    "stuck": (_stuck, ASKED),
    "never-ended": (_never_ended, ASKED),
    "ok-notification-missing": (_ok_notification_missing, ASKED),
    "opcache-ok": (_opcache_ok, ASKED),
    "clear-all-ok": (_clear_all_ok, ASKED),
    "opcache-old-code": (_opcache_old_code, ASKED),
    "opcache-failed": (_opcache_failed, ASKED),
    "clear-converged": (_clear_converged, ASKED),
    "clear-still-stale": (_clear_still_stale, ASKED),
    "clear-retried-from-button": (_clear_retried_from_button, RETRIED),
    "clear-stopped-on-retry": (_clear_stopped_on_retry, ASKED),
    "held-launch": (_held_launch, ASKED),
}


def rendered(case: str, language: Language = Language.EN, **options: str) -> dict[str, object]:
    build, request = CASES[case]
    return render(build(), style(language, **options), request)


def test_the_cases_cover_every_verdict_kind_and_every_kind_has_a_formatter() -> None:
    assert {build().kind for build, _ in CASES.values()} == set(VerdictKind) == set(FORMATTERS)


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("case", list(CASES))
def test_payload_matches_its_snapshot(case: str, language: Language) -> None:
    payload = rendered(case, language)
    assert_within_slack_limits(payload)
    assert_snapshot(f"{case}.{language.value}", payload)


@pytest.mark.parametrize("case", list(CASES))
def test_the_mention_leads_alerts_only(case: str) -> None:
    verdict = CASES[case][0]()
    payload = rendered(case)
    first_section = payload["blocks"][1]["text"]["text"]  # type: ignore[index]
    if verdict.is_alert:
        assert str(payload["text"]).startswith(MENTION + " ")
        assert first_section.startswith(MENTION + " ")
    else:
        assert MENTION not in json.dumps(payload)


def test_no_mention_configured_means_none_posted() -> None:
    payload = rendered("no-targets", mention="")
    found = control_sequences(json.dumps(payload))
    assert [f for f in found if not f.startswith("<https://")] == []


def test_aws_strings_are_escaped_everywhere() -> None:
    # Given a group name, a comment and command output full of Slack control sequences
    hostile = "<!channel> & <@U123> <https://x.example|y>"
    members = ids(2)
    verdict = judge(
        facts(
            command(status="Failed", target_count=2, groups=(hostile,), comment=hostile),
            [invocation(members[0]), invocation(members[1], "Failed", hostile, stderr=hostile)],
            [group(hostile, members)],
        )
    )
    asked = Request(COMMAND_ID, hostile, hostile, hostile, retried_by=hostile)

    payload = render(verdict, style(mention=""), asked)

    # Then nothing in the payload is a control sequence except the console link
    found = control_sequences(json.dumps(payload, ensure_ascii=False))
    assert found == [
        f"<https://us-east-1.console.aws.amazon.com/systems-manager/run-command/{COMMAND_ID}"
        "?region=us-east-1|Open the command in the AWS console>"
    ]
    assert "&lt;!channel&gt; &amp; &lt;@U123&gt;" in json.dumps(payload, ensure_ascii=False)


def test_backticks_in_output_cannot_close_the_code_block() -> None:
    members = ids(1)
    verdict = judge(
        facts(
            command(status="Failed", target_count=1),
            [invocation(members[0], "Failed", stderr="```\n*bold* <!channel>\n```")],
            [group("web-prod", members)],
        )
    )
    listing = plain(render(verdict, style(), ASKED)).split("```", 1)[1]
    block = "```" + listing
    block = block[: block.index("```", 3) + 3]
    assert block.startswith("```") and block.endswith("```")
    assert "```" not in block[3:-3] and "&lt;!channel&gt;" in block


@pytest.mark.parametrize("language", list(Language))
def test_long_values_are_cut_within_the_limits_and_say_how_many_are_left_out(
    language: Language,
) -> None:
    members = ids(120)
    huge = "Ω&<" * 3000
    verdict = judge(
        facts(
            command(status="Failed", target_count=120, groups=(huge, "b" * 255), comment=huge),
            [invocation(i, "Failed", f"{huge}{n % 3}", stderr=huge) for n, i in enumerate(members)],
            [group(huge, members)],
        )
    )
    payload = render(verdict, style(language), Request(COMMAND_ID, huge, huge, huge))
    assert_within_slack_limits(payload)
    more = {Language.EN: r"…and ([\d,]+) more", Language.JA: r"…ほか ([\d,]+) 台"}
    text = plain(payload)
    shown = len(set(re.findall(r"`(i-[0-9a-f]{17})`", text)))
    hidden = sum(int(n.replace(",", "")) for n in re.findall(more[language], text))
    assert 0 < shown < 120 and shown + hidden == 120


def test_the_console_link_points_at_the_command_in_its_region() -> None:
    payload = render(_ok(), replace(style(), region="ap-northeast-1"), ASKED)
    assert payload["blocks"][-1]["elements"][0]["text"] == (
        f"<https://ap-northeast-1.console.aws.amazon.com/systems-manager/run-command/{COMMAND_ID}"
        "?region=ap-northeast-1|Open the command in the AWS console>"
    )


# "N of M" in English, "M 台中 N 台" in Japanese; and what says why N may exceed M.
N_OF_M = {
    Language.EN: re.compile(r"(?P<n>\d+) of (?:the )?(?P<m>\d+)"),
    Language.JA: re.compile(r"(?P<m>\d+) 台中 (?P<n>\d+) 台"),
}
SAYS_WHY = {Language.EN: "The group is scaling", Language.JA: "スケーリング中"}


@pytest.mark.parametrize("language", list(Language))
def test_no_count_says_more_of_fewer_unless_the_message_says_why(language: Language) -> None:
    found = 0
    for case in CASES:
        text = plain(rendered(case, language))
        for match in N_OF_M[language].finditer(text):
            found += 1
            n, m = int(match["n"]), int(match["m"])
            assert n <= m or SAYS_WHY[language] in text, f"{case}: {match[0]!r}"
    assert found >= len(CASES) // 2


@pytest.mark.parametrize("clears", [True, False])
@pytest.mark.parametrize("language", list(Language))
def test_a_hibernated_warm_pool_is_promised_a_clear_only_while_the_stack_gives_one(
    language: Language, clears: bool
) -> None:
    verdict = _ok_outside_joined_hibernated_pool()
    text = plain(render(verdict, replace(style(language), warm_pool_exit_clears=clears), ASKED))
    promise = {
        Language.EN: "The stack clears each instance",
        Language.JA: "スタックが各インスタンスをクリア",
    }
    off = {Language.EN: "ClearOnWarmPoolExit is off", Language.JA: "ClearOnWarmPoolExit が無効"}
    assert (promise[language] in text) is clears
    assert (off[language] in text) is not clears


def test_a_stuck_alert_names_the_clears_looks_as_the_clear_makes_them() -> None:
    # The clear looks every LOOK_EVERY, LOOKS times (apcu_notifier.watch).
    text = plain(rendered("stuck"))
    minutes = int(LOOK_EVERY.total_seconds() // 60)
    hours = int((LOOK_EVERY * LOOKS).total_seconds() // 3600)
    assert f"every {minutes} minutes for {hours} hours" in text
    assert dt.timedelta(hours=hours) == LOOK_EVERY * LOOKS
