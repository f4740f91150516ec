"""Slack payloads: snapshots of every verdict in both languages, escaping, mentions, limits."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace

import pytest

from apcu_notifier.config import Language
from apcu_notifier.facts import TargetFacts
from apcu_notifier.notification import MAX_FOLLOW_UPS, UnreadableReason
from apcu_notifier.render import clip, escape, escape_clip, render
from apcu_notifier.verdict import (
    ClearHistory,
    Retried,
    Verdict,
    VerdictKind,
    judge,
    unknown_command,
    unreadable,
)
from apcu_notifier.watchdog import FOLLOW_UP_INTERVAL, stuck_verdict
from tests.notifier.builders import (
    COMMAND_ID,
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
from tests.notifier.slack_limits import assert_within_slack_limits, control_sequences
from tests.notifier.snapshots import assert_snapshot

MENTION = "<!here>"


def _ok() -> Verdict:
    return judge(healthy_group(3))


def _ok_with_standby() -> Verdict:
    # A Standby instance kept the group tag: reached, not counted in DesiredCapacity
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


def _no_targets() -> Verdict:
    return judge(
        facts(
            command(target_count=0, details="No Instances In Tag"), [], [group("web-prod", ids(3))]
        )
    )


def _mismatch_scaling() -> Verdict:
    members = ids(5)
    states = {members[4]: "Pending"}
    return judge(
        facts(
            command(target_count=3),
            [invocation(i) for i in members[:3]],
            [group("web-prod", members, desired=5, states=states)],
        )
    )


def _partial() -> Verdict:
    members = ids(4)
    return judge(
        facts(
            command(target_count=4),
            [
                invocation(members[0], cleared=3),
                invocation(members[1], "Undeliverable"),
                invocation(members[2], "TimedOut", "DeliveryTimedOut"),
                invocation(members[3], "Failed", "Access Denied"),
            ],
            [group("web-prod", members)],
        )
    )


def _stopped() -> Verdict:
    # The stop alarm fired after the first wave: SSM cancelled the invocations it had not
    # started.
    members = ids(6)
    return judge(
        facts(
            command(status="Cancelled", target_count=6, stopped_by=("web-prod-database",)),
            [invocation(i, cleared=40) for i in members[:3]]
            + [invocation(i, "Cancelled") for i in members[3:]],
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
            command(target_count=2, targets=[TargetFacts("InstanceIds", tuple(members))]),
            [invocation(i) for i in members],
        )
    )


def _ok_outside_joined_and_hibernated_pool() -> Verdict:
    # 4 wanted: 3 InService cleared, 1 started after the request; a Standby instance timed out,
    # a hibernated warm-pool instance (not listed in the group) was undeliverable
    members = ids(5)
    return judge(
        facts(
            command(status="Failed", details="Incomplete", target_count=5),
            [invocation(i, cleared=100 + n) for n, i in enumerate(members[:3])]
            + [
                invocation(members[4], "TimedOut", "DeliveryTimedOut"),
                invocation("i-0a11ed00000000000", "Undeliverable"),
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
    # A scale-in has begun: 4 InService still, 3 wanted; all 4 cleared
    members = ids(4)
    return judge(
        facts(
            command(target_count=4),
            [invocation(i) for i in members],
            [group("web-prod", members, desired=3)],
        )
    )


def _no_targets_failed() -> Verdict:
    # SSM ended it Failed, but it reached nothing: the cause is the missing targets
    return judge(facts(command(status="Failed", target_count=0), [], [group("web-prod", ids(3))]))


def _failed_rate_exceeded() -> Verdict:
    members = ids(3)
    return judge(
        facts(
            command(status="Cancelled", details="Rate Exceeded", target_count=3),
            [invocation(i, "Cancelled") for i in members],
            [group("web-prod", members)],
        )
    )


def _test_event() -> Verdict:
    return unknown_command("00000000-0000-4000-8000-000000000001", "Success")


def _unknown_command() -> Verdict:
    return unknown_command(COMMAND_ID, "Success")


def _unreadable() -> Verdict:
    return unreadable(UnreadableReason.NOT_JSON, "status=Success <!channel> & friends")


# --- OPcache


def _opcache_ok() -> Verdict:
    # validate_timestamps=1 on one instance: said, not an alert
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
                reset_refused(members[2], "not_restarted"),
                reset_refused(members[3], "disabled"),
            ],
            [group("web-prod", members)],
        )
    )


# --- the watchdog's two messages


def _stuck() -> Verdict:
    members = ids(3)
    return stuck_verdict(
        facts(
            command(status="InProgress", target_count=3),
            [
                invocation(members[0]),
                invocation(members[1], "InProgress"),
                invocation(members[2], "InProgress"),
            ],
        )
    )


def _stuck_watched() -> Verdict:
    return replace(_stuck(), watched=True)


def _never_ended() -> Verdict:
    return replace(
        _stuck(), kind=VerdictKind.NEVER_ENDED, watched_for=FOLLOW_UP_INTERVAL * MAX_FOLLOW_UPS
    )


def _ok_notification_missing() -> Verdict:
    return replace(judge(healthy_group(3)), notification_missing=True)


def _clear_converged() -> Verdict:
    # The first attempt missed one instance (its agent never picked it up); the automatic
    # retry cleared it
    members = ids(3)
    history = ClearHistory(
        COMMAND_ID, (Retried(members[2], ("Delivery Timed Out",), cleared_on=2),), attempts=2
    )
    return replace(_ok(), clear=history)


def _clear_still_stale() -> Verdict:
    # Two rounds later one instance is still stale, one's agent was offline, one left service
    members = ids(4)
    first = judge(
        facts(
            command(status="Failed", target_count=4),
            [
                invocation(members[0], cleared=3),
                invocation(members[1], "Failed", "Failed"),
                invocation(members[2], "TimedOut", "Delivery Timed Out"),
                invocation(members[3], "Failed", "Undeliverable"),
            ],
            [group("web-prod", members)],
        )
    )
    history = ClearHistory(
        COMMAND_ID,
        (
            Retried(members[1], ("Failed", "Failed", "Delivery Timed Out")),
            Retried(members[2], ("Delivery Timed Out",), note="offline"),
            Retried(members[3], ("Undeliverable",), note="left"),
        ),
        attempts=3,
    )
    return replace(first, clear=history)


CASES: dict[str, Callable[[], Verdict]] = {
    "ok": _ok,
    "ok-empty-group": _ok_empty_group,
    "ok-with-standby": _ok_with_standby,
    "ok-outside-joined-hibernated-pool": _ok_outside_joined_and_hibernated_pool,
    "ok-scaling-in": _ok_scaling_in,
    "no-targets": _no_targets,
    "no-targets-failed": _no_targets_failed,
    "mismatch-scaling": _mismatch_scaling,
    "partial": _partial,
    "stopped": _stopped,
    "failed": _failed,
    "failed-rate-exceeded": _failed_rate_exceeded,
    "group-not-found": _group_not_found,
    "instances-target": _instances_target,
    "unknown-command": _unknown_command,
    "unreadable": _unreadable,
    "stuck": _stuck,
    "stuck-watched": _stuck_watched,
    "never-ended": _never_ended,
    "ok-notification-missing": _ok_notification_missing,
    "test-event": _test_event,
    "opcache-ok": _opcache_ok,
    "clear-all-ok": _clear_all_ok,
    "opcache-old-code": _opcache_old_code,
    "opcache-failed": _opcache_failed,
    "clear-converged": _clear_converged,
    "clear-still-stale": _clear_still_stale,
}

# "N of M" in English, "M 台中 N 台" in Japanese; and what says why N may exceed M.
N_OF_M = {
    Language.EN: re.compile(r"(?P<n>\d+) of (?:the )?(?P<m>\d+)"),
    Language.JA: re.compile(r"(?P<m>\d+) 台中 (?P<n>\d+) 台"),
}
SAYS_WHY = {Language.EN: "The group is scaling", Language.JA: "スケーリング中"}


def test_the_cases_cover_every_verdict_kind() -> None:
    assert {case().kind for case in CASES.values()} == set(VerdictKind)


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("case", list(CASES))
def test_payload_matches_its_snapshot(case: str, language: Language) -> None:
    verdict = CASES[case]()
    payload = render(verdict, language=language, mention=MENTION, region="us-east-1")
    assert_within_slack_limits(payload)
    assert_snapshot(f"{case}.{language.value}", payload)


@pytest.mark.parametrize("case", list(CASES))
def test_mention_only_on_alerts_in_text_and_first_section(case: str) -> None:
    verdict = CASES[case]()
    payload = render(verdict, language=Language.EN, mention=MENTION, region="us-east-1")
    first_section = payload["blocks"][1]["text"]["text"]
    if verdict.is_alert:
        assert payload["text"].startswith(MENTION + " ")
        assert first_section.startswith(MENTION + " ")
    else:
        assert MENTION not in json.dumps(payload)


def test_no_mention_configured_means_none_posted() -> None:
    payload = render(_no_targets(), language=Language.EN, mention="", region="us-east-1")
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

    payload = render(verdict, language=Language.EN, mention="", region="us-east-1")

    # Then nothing in the payload is a control sequence except the console link
    found = control_sequences(json.dumps(payload, ensure_ascii=False))
    assert found == [
        f"<https://us-east-1.console.aws.amazon.com/systems-manager/run-command/{COMMAND_ID}?region=us-east-1|Open the command in the AWS console>"
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
    payload = render(verdict, language=Language.EN, mention="", region="us-east-1")
    listing = payload["blocks"][3]["text"]["text"]
    block = listing.split("\n", 2)[2]
    assert block.startswith("```") and block.endswith("```")
    assert "```" not in block[3:-3]


def test_long_values_are_cut_within_the_limits() -> None:
    members = ids(12)
    huge = "Ω&<" * 3000
    verdict = judge(
        facts(
            command(status="Failed", target_count=12, groups=(huge, "b" * 255), comment=huge),
            [invocation(i, "Failed", huge, stderr=huge) for i in members],
            [group(huge, members)],
        )
    )
    more = {Language.EN: r"…and (\d+) more", Language.JA: r"…ほか (\d+) 台"}
    for language in Language:
        payload = render(verdict, language=language, mention=MENTION, region="us-east-1")
        assert_within_slack_limits(payload)
        listing = payload["blocks"][3]["text"]["text"]
        shown = listing.count("• `i-")
        hidden = re.search(more[language], listing)
        assert hidden is not None and shown + int(hidden.group(1)) == 12


def test_console_link_points_at_the_command_in_its_region() -> None:
    payload = render(_ok(), language=Language.EN, mention="", region="ap-northeast-1")
    context = payload["blocks"][-1]
    assert context["type"] == "context"
    assert context["elements"][0]["text"] == (
        f"<https://ap-northeast-1.console.aws.amazon.com/systems-manager/run-command/{COMMAND_ID}"
        "?region=ap-northeast-1|Open the command in the AWS console>"
    )


@pytest.mark.parametrize(
    ("raw", "limit", "expected"),
    [
        ("a&b", 10, "a&amp;b"),
        ("a&b", 5, "a…"),
        ("<<<<", 8, "&lt;…"),
        ("abc", 3, "abc"),
        ("abcd", 3, "ab…"),
    ],
)
def test_escape_clip_never_cuts_an_entity(raw: str, limit: int, expected: str) -> None:
    assert escape_clip(raw, limit) == expected
    assert len(escape_clip(raw, limit)) <= limit


def test_clip_drops_a_half_entity() -> None:
    assert clip(escape("x&y"), 4) == "x…"
    assert escape("<&>") == "&lt;&amp;&gt;"


@pytest.mark.parametrize("language", list(Language))
def test_no_count_says_more_of_fewer_unless_the_message_says_why(language: Language) -> None:
    found = 0
    for case, build in CASES.items():
        payload = render(build(), language=language, mention=MENTION, region="us-east-1")
        text = json.dumps(payload, ensure_ascii=False)
        for match in N_OF_M[language].finditer(text):
            found += 1
            n, m = int(match["n"]), int(match["m"])
            assert n <= m or SAYS_WHY[language] in text, f"{case}: {match[0]!r}"
    # Every scenario with a count was read, not none of them.
    assert found >= len(CASES)


@pytest.mark.parametrize("language", list(Language))
def test_the_succeeded_field_and_the_summary_count_the_same_instances(language: Language) -> None:
    # 4 wanted, 4 InService reached, 1 failed; a Standby instance also ran it
    members = ids(5)
    verdict = judge(
        facts(
            command(target_count=5),
            [invocation(i) for i in members[:3]]
            + [invocation(members[3], "Failed"), invocation(members[4])],
            [group("web-prod", members, desired=4, states={members[4]: "Standby"})],
        )
    )
    payload = render(verdict, language=language, mention="", region="us-east-1")
    summary = payload["blocks"][1]["text"]["text"]
    fields = " ".join(f["text"] for f in payload["blocks"][2]["fields"])
    if language is Language.EN:
        assert "1 of 4 instances did not finish the clear" in summary
        assert "*Succeeded*\n3 of 4 wanted" in fields
    else:
        assert "4 台中 1 台でクリアが完了していません" in summary
        assert "*成功台数*\n希望 4 台中 3 台" in fields


def test_groups_beyond_those_named_are_counted_as_items_not_machines() -> None:
    names = tuple(f"web-{n}" for n in range(7))
    members = ids(2)
    verdict = judge(
        facts(
            command(target_count=2, groups=names),
            [invocation(i) for i in members],
            [group(n, members if n == "web-0" else []) for n in names],
        )
    )
    ja = render(verdict, language=Language.JA, mention="", region="us-east-1")
    assert "web-4 …ほか 2 件" in json.dumps(ja, ensure_ascii=False)


@pytest.mark.parametrize("language", list(Language))
def test_a_hibernated_warm_pool_is_promised_a_clear_only_while_the_stack_gives_one(
    language: Language,
) -> None:
    # Given a verdict for a group whose warm pool keeps its instances hibernated
    verdict = _ok_outside_joined_and_hibernated_pool()
    assert verdict.hibernated_warm_pools

    def said(clears: bool) -> str:
        payload = render(
            verdict, language=language, mention="", region="us-east-1", warm_pool_exit_clears=clears
        )
        return json.dumps(payload, ensure_ascii=False)

    # Then with ClearOnWarmPoolExit on, the message says the stack clears them as they leave;
    # with it off, it says nothing will, and what to do instead
    promise = {
        Language.EN: "The stack clears each instance",
        Language.JA: "スタックが各インスタンスをクリアします",
    }
    off = {Language.EN: "ClearOnWarmPoolExit is off", Language.JA: "ClearOnWarmPoolExit が無効"}
    assert promise[language] in said(True)
    assert off[language] not in said(True)
    assert promise[language] not in said(False)
    assert off[language] in said(False)
