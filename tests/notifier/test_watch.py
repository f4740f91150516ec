"""A command that does not end when it should: the clear's wait runs out a minute after the
command's expiry (kept to two seconds here: aws_emulator.expire_commands), then the clear
looks at it itself: the stuck alert, a look every 15 minutes (the runner skips the waits),
and after two hours, never ended."""

from __future__ import annotations

import datetime as dt
import json

from harness import aws_emulator
from harness.stack import Stack


def short_lived() -> None:
    aws_emulator.expire_commands(dt.timedelta(seconds=-58))


def texts(stack: Stack) -> list[str]:
    return [p["text"] for p in stack.slack.webhook_posts]


def test_a_command_that_never_ends_gets_the_stuck_alert_then_never_ended(deployed: Stack) -> None:
    short_lived()
    clear_id = deployed.clear()

    outcome = deployed.outcome(clear_id)

    assert outcome["verdict"] == "never_ended" and outcome["alert"] is True
    [stuck, never] = texts(deployed)
    assert "still running" in stuck
    assert never != stuck
    looks = [e.name for e in deployed.lambda_.history(clear_id) if e.event_type == "WaitStarted"]
    assert looks == [f"wait 15 minutes ({n} of 8)" for n in range(1, 9)]
    assert deployed.status(clear_id)["verdict"]["kind"] == "never_ended"


def test_a_command_that_ends_late_is_judged_at_the_next_look(deployed: Stack) -> None:
    """The command ends after the stuck alert, between two looks: the next look sees it ended
    and judges it. Once the clear waits (it read the command by id first), it reads it when the
    wait ran out, for the stuck alert, then once a look: it ends just before the second look."""
    short_lived()
    clear_id = deployed.clear()
    deployed.lambda_.waiting(clear_id)
    deployed.lambda_.settle()
    aws_emulator.end_on_read(clear_id, 4, {i: aws_emulator.ok(5) for i in deployed.instances})

    outcome = deployed.outcome(clear_id)

    assert outcome["verdict"] == "ok"
    [stuck, verdict] = texts(deployed)
    assert "still running" in stuck and verdict.startswith("✅")
    looks = [e.name for e in deployed.lambda_.history(clear_id) if e.event_type == "WaitStarted"]
    assert looks == ["wait 15 minutes (1 of 8)", "wait 15 minutes (2 of 8)"]


def test_a_final_status_seen_when_the_wait_ran_out_says_the_notification_never_came(
    deployed: Stack,
) -> None:
    aws_emulator.subscribe(None)
    short_lived()
    clear_id = deployed.clear()
    deployed.lambda_.waiting(clear_id)
    aws_emulator.settle_command(clear_id, {i: aws_emulator.ok(2) for i in deployed.instances})

    verdict = deployed.verdict(clear_id)

    assert verdict["via"] == "look"
    [post] = deployed.slack.webhook_posts
    assert "never arrived" in json.dumps(post)


def test_the_notification_and_the_end_of_the_wait_at_once_give_one_verdict(deployed: Stack) -> None:
    """SSM's notification arrives just as the clear's wait runs out: whichever the clear sees
    first, it judges once and posts once; the relay finds the callback closed or completes it."""
    aws_emulator.expire_commands(dt.timedelta(minutes=10))
    clear_id = deployed.clear()
    callback = deployed.lambda_.waiting(clear_id)
    aws_emulator.settle_command(clear_id, {i: aws_emulator.ok(5) for i in deployed.instances})
    deployed.lambda_.time_out(clear_id, callback)

    outcome = deployed.outcome(clear_id)

    assert outcome["verdict"] == "ok"
    assert len(deployed.slack.webhook_posts) == 1
