# Japanese text uses full-width parentheses, as Japanese writing does.
# ruff: noqa: RUF001
"""Verdicts on reset-opcache and clear-all: opcache.php's lines read from the invocations'
output, counts per action, the reasons a reset did not take, and the caveats that leave old
code running (an alert) against the one that is only said."""

from __future__ import annotations

import pytest

from apcu_clear.item import ApcuCount, OpcacheCount
from apcu_notifier.config import Language
from apcu_notifier.counts import apcu_count, opcache_count
from apcu_notifier.facts import parse_answer, parse_opcache
from apcu_notifier.render import render
from apcu_notifier.verdict import UNCONFIRMED, Verdict, VerdictKind, judge
from harness import aws_emulator as emu
from harness.aws_emulator import opcache_answer, opcache_error, webnode_answer
from tests.notifier.builders import (
    cleared_and_reset,
    command,
    facts,
    group,
    ids,
    invocation,
    reset,
    reset_refused,
)
from tests.notifier.conftest import GROUP, World, text_of
from tests.notifier.test_handler import header


def _reset_group(*invocations_of: object, action: str = "reset-opcache", **cmd: object) -> Verdict:
    members = ids(len(invocations_of))
    built = [build(i) for build, i in zip(invocations_of, members, strict=True)]  # type: ignore[operator]
    return judge(
        facts(
            command(target_count=len(members), action=action, **cmd),  # type: ignore[arg-type]
            built,
            [group("web-prod", members)],
        )
    )


def _text(verdict: Verdict, language: Language = Language.EN) -> str:
    payload = render(verdict, language=language, mention="<!here>", region="us-east-1")
    return "\n".join(
        str(block.get("text", {}).get("text", ""))
        + "\n".join(f["text"] for f in block.get("fields", []))
        for block in payload["blocks"]
    )


# --- reading opcache.php's lines ------------------------------------------------------------


def test_the_apcu_line_is_read_with_or_without_its_cache_field() -> None:
    with_cache = webnode_answer(7)
    without = with_cache.replace('"cache":"apcu",', "")
    assert '"cache":"apcu"' in with_cache and '"cache"' not in without
    for output in (with_cache, without):
        answer = parse_answer(output)
        assert answer is not None and answer.cleared == 7


def test_an_opcache_line_is_not_taken_for_an_apcu_clear() -> None:
    # clear-all prints apcu.php's line, then opcache.php's, which has no "cleared"
    output = webnode_answer(7) + opcache_answer(300)
    answer, opcache = parse_answer(output), parse_opcache(output)
    assert answer is not None and answer.cleared == 7
    assert opcache is not None and opcache.took and opcache.scripts_before == 300
    assert parse_answer(opcache_answer(300)) is None
    assert parse_opcache(webnode_answer(7)) is None


def test_the_reason_a_reset_did_not_take_is_read_from_either_stream() -> None:
    for output in (
        opcache_error("restricted"),
        "x\n----------ERROR-------\n" + opcache_error("disabled"),
    ):
        found = parse_opcache(output)
        assert found is not None and not found.took
    assert parse_opcache(opcache_error("not_restarted")).error == "not_restarted"  # type: ignore[union-attr]


def test_unknown_caveat_codes_are_dropped_and_the_known_ones_kept_in_order() -> None:
    line = opcache_answer(5, caveats=("validate_timestamps", "preload")).replace(
        '"caveats":["validate_timestamps","preload"]',
        '"caveats":["validate_timestamps","jit","preload"]',
    )
    found = parse_opcache(line)
    assert found is not None and found.caveats == ("preload", "validate_timestamps")


# --- verdicts -------------------------------------------------------------------------------


def test_every_instance_reset_is_ok_with_the_reset_counted() -> None:
    verdict = _reset_group(reset, reset, reset)

    assert verdict.kind is VerdictKind.OK and not verdict.is_alert
    assert verdict.action == "reset-opcache"
    assert verdict.reset is not None
    assert (verdict.reset.instances, verdict.reset.scripts) == (3, 1200)
    assert verdict.cleared is None
    text = _text(verdict)
    assert "✅ OPcache reset on every instance" in text
    assert "Every instance in web-prod ran the reset: 3 of 3 wanted." in text
    assert "Instances whose OPcache restarted: 3, dropping 1200 compiled scripts in all." in text
    assert "*Action*\n`reset-opcache`" in text


def test_validate_timestamps_is_said_not_alerted() -> None:
    def revalidates(i: str) -> object:
        return reset(i, caveats=("validate_timestamps",))

    verdict = _reset_group(revalidates, reset)

    assert verdict.kind is VerdictKind.OK and not verdict.is_alert
    assert "Instances with validate_timestamps=1: 1." in _text(verdict)


@pytest.mark.parametrize(
    ("caveat", "said"),
    [
        ("preload", "preloaded scripts stay until php-fpm reloads"),
        ("file_cache", "file cache was not cleared"),
    ],
)
def test_a_caveat_that_leaves_old_code_running_is_an_alert(caveat: str, said: str) -> None:
    def stale(i: str) -> object:
        return reset(i, caveats=(caveat,))

    verdict = _reset_group(reset, stale, reset)

    assert verdict.kind is VerdictKind.OLD_CODE and verdict.is_alert
    assert verdict.reset is not None and verdict.reset.old_code == (ids(3)[1],)
    text = _text(verdict)
    assert "⚠️ OPcache reset, but old code may still run" in text
    assert said in text
    assert f"*Old code may still run (1)*\n• `{ids(3)[1]}`" in text
    assert text.startswith("⚠️") and "<!here>" in text


def test_old_code_does_not_hide_a_worse_verdict() -> None:
    def stale(i: str) -> object:
        return reset(i, caveats=("preload",))

    def pending(i: str) -> object:
        return reset_refused(i, "not_restarted")

    verdict = _reset_group(stale, pending, reset)

    # A partial stays partial, and still says where old code runs
    assert verdict.kind is VerdictKind.PARTIAL
    assert "preloaded scripts stay" in _text(verdict)


def test_each_instance_whose_reset_did_not_take_is_named_with_its_reason() -> None:
    def restricted(i: str) -> object:
        return reset_refused(i, "restricted")

    def pending(i: str) -> object:
        return reset_refused(i, "not_restarted")

    def disabled(i: str) -> object:
        return reset_refused(i, "disabled")

    verdict = _reset_group(reset, restricted, pending, disabled, status="Failed")

    members = ids(4)
    assert verdict.kind is VerdictKind.FAILED
    assert [(p.instance_id, p.reason) for p in verdict.problems] == [
        (members[1], "restricted"),
        (members[2], "not_restarted"),
        (members[3], "disabled"),
    ]
    assert verdict.succeeded == 1
    text = _text(verdict)
    assert "🚨 OPcache reset failed" in text
    assert "3 of 4 instances did not finish the reset." in text
    assert (
        "Why OPcache's reset did not take: opcache.restrict_api refuses the reset (1), "
        "the restart is still pending (1), OPcache is disabled in php-fpm (1)."
    ) in text
    assert f"• `{members[1]}` Failed: opcache.restrict_api refuses the reset" in text
    ja = _text(verdict, Language.JA)
    assert "🚨 OPcache のリセットに失敗しました" in ja
    assert "OPcache をリセットできなかった理由: opcache.restrict_api がリセットを拒否（1 台）" in ja


def test_a_success_without_opcache_line_is_not_taken_for_a_reset() -> None:
    # The script said Success, but nothing proves the restart took (an APCu-only answer)
    verdict = _reset_group(reset, invocation, reset)

    assert verdict.kind is VerdictKind.PARTIAL
    [problem] = verdict.problems
    assert (problem.instance_id, problem.status, problem.reason) == (
        ids(3)[1],
        "Success",
        UNCONFIRMED,
    )
    assert verdict.succeeded == 2
    assert "no answer from opcache.php" in _text(verdict)


def test_the_same_answer_for_clear_apcu_is_the_clear_it_always_was() -> None:
    verdict = _reset_group(invocation, invocation, action="clear-apcu")
    assert verdict.kind is VerdictKind.OK and verdict.reset is None
    assert "✅ APCu cleared on every instance" in _text(verdict)


def test_clear_all_counts_both_caches() -> None:
    verdict = _reset_group(cleared_and_reset, cleared_and_reset, action="clear-all")

    assert verdict.kind is VerdictKind.OK
    assert verdict.cleared is not None and verdict.cleared.entries == 24
    assert verdict.reset is not None and verdict.reset.instances == 2
    text = _text(verdict)
    assert "✅ APCu cleared and OPcache reset on every instance" in text
    assert "ran the clear and reset: 2 of 2 wanted, 24 entries removed in all." in text
    assert "Instances whose OPcache restarted: 2, dropping 800 compiled scripts in all." in text
    assert apcu_count(verdict) == ApcuCount(instances=2, entries=24)
    assert opcache_count(verdict) == OpcacheCount(instances=2, scripts=800)


def test_the_record_counts_only_the_caches_the_action_touched() -> None:
    opcache_only = _reset_group(reset, reset)
    assert apcu_count(opcache_only) is None
    assert opcache_count(opcache_only) == OpcacheCount(instances=2, scripts=800)
    apcu_only = _reset_group(invocation, action="clear-apcu")
    assert (apcu_count(apcu_only), opcache_count(apcu_only)) == (ApcuCount(1, 12), None)


# --- end to end: the action comes from the command's own parameters --------------------------


def test_the_notifier_reads_the_action_from_the_command_and_records_the_counts(
    world: World,
) -> None:
    # Given a reset-opcache whose restart left preloaded scripts on one instance
    members = sorted(emu.create_group(GROUP, 3))
    command_id = world.send(action="reset-opcache")
    emu.settle_command(
        command_id,
        {
            members[0]: emu.opcache_reset(),
            members[1]: emu.opcache_reset(caveats=("preload",)),
            members[2]: emu.opcache_reset(),
        },
    )
    world.start()
    world.slack.always()

    result = world.notify(command_id)

    # Then the verdict is old_code, an alert that names the instance
    message = world.slack.message()
    assert result["outcomes"][0]["verdict"] == "old_code"
    assert header(message) == "⚠️ OPcache reset, but old code may still run"
    text = text_of(message)
    assert "<!here>" in text and f"`{members[1]}` preloaded scripts" in text


def test_a_refused_reset_fails_the_command_with_the_reason_end_to_end(world: World) -> None:
    members = sorted(emu.create_group(GROUP, 2))
    command_id = world.send(action="clear-all")
    emu.settle_command(
        command_id,
        {members[0]: emu.cleared_and_reset(), members[1]: emu.reset_refused("restricted")},
        status="Failed",
    )
    world.start()
    world.slack.always()

    result = world.notify(command_id, status="Failed")

    assert result["outcomes"][0]["verdict"] == "failed"
    text = text_of(world.slack.message())
    assert "🚨 APCu clear and OPcache reset failed" in text
    assert f"`{members[1]}` Failed: opcache.restrict_api refuses the reset" in text
