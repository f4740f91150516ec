"""The demo's scenarios: what is asked, what the fleet does, and the verdict the clear must reach.

Each scenario deploys the stack with its defaults (harness.stack.environment), but for the
settings it names: `partial` and `failed` run with RetryMissed 0, so that the alert is what the
first command leaves; `retry` shows the default round repairing a miss.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import aws_emulator as emulator
from harness.stack import GROUP, STOP_ALARM
from local import fleet, then
from local.context import Demo
from local.fleet import Fleet

EVENTS = Path(__file__).resolve().parent.parent / "events" / "dispatcher"
# The stack parameter WarmPoolHookName's default: the hook the warm-pool scenario puts on.
WARM_POOL_HOOK = "apcu-fleet-flush-warm-pool"
# A command's wait runs out a minute past its expiry; these commands expire 58 s before they
# are sent, so the clear's wait runs out 2 s after the request, in real time.
SHORT_LIFE = dt.timedelta(seconds=-58)

Request = Callable[[Demo], tuple[str, dict[str, Any]]]
# What is true before the request (so that the dispatcher's preflight sees it too).
Setup = Callable[[Demo], None]
# What the scenario shows and checks once the clear (its id) has its verdict.
After = Callable[[Demo, str], None]


def console(name: str) -> Request:
    """A console test event of events/dispatcher/, as the Lambda console sends it."""

    def request(demo: Demo) -> tuple[str, dict[str, Any]]:
        return name, json.loads((EVENTS / name).read_text(encoding="utf-8"))

    return request


CLEAR_APCU = console("console-clear-apcu.json")


def leaving_the_warm_pool(demo: Demo) -> tuple[str, dict[str, Any]]:
    """An instance leaves the warm pool; the launch hook holds it in Pending:Wait, and
    EventBridge hands the dispatcher the hook's event."""
    instance = demo.stack.instances[0]
    token = emulator.hold_launch(GROUP, instance, WARM_POOL_HOOK)
    demo.held = (instance, token)
    name = "warm-pool-lifecycle-hook.json"
    event = json.loads((EVENTS / name).read_text(encoding="utf-8"))
    event["detail"] |= {
        "LifecycleActionToken": token,
        "EC2InstanceId": instance,
        "AutoScalingGroupName": GROUP,
    }
    return f"{name} ({instance} waits in Pending:Wait)", event


def nothing_to_set_up(demo: Demo) -> None:
    return None


def nothing_more(demo: Demo, clear_id: str) -> None:
    return None


def no_agent_registered(demo: Demo) -> None:
    # The instance profile lacks the SSM permissions: no agent registers, so no instance is a
    # managed node, and the dispatcher's preflight already warns about each of them.
    emulator.forget_managed_instances(demo.stack.instances)


def short_lived(demo: Demo) -> None:
    emulator.expire_commands(SHORT_LIFE)


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    # The clear's verdict; a dry run has none.
    verdict: str
    request: Request = CLEAR_APCU
    # What the fleet does with the request's command, once the clear waits for it.
    fleet: Fleet = fleet.everyone_clears
    prepare: Setup = nothing_to_set_up
    then: After = nothing_more
    # Stack parameters other than the defaults, as environment variables.
    settings: Mapping[str, str] = field(default_factory=dict)
    # Slack messages the clear posts in webhook mode.
    posts: int = 1
    # SSM's notification reaches the notifier (False: SNS delivers to no one).
    notified: bool = True
    # App mode: someone presses the alert's retry button (local.presses).
    press: bool = False
    dry_run: bool = False


NO_RETRY = {"RETRY_MISSED": "0"}

SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("ok", "every instance clears its cache", "ok"),
        Scenario(
            "no-targets",
            "no instance is managed by SSM",
            "no_targets",
            fleet=fleet.nobody_is_managed,
            prepare=no_agent_registered,
        ),
        Scenario(
            "mismatch",
            "the group scales out while the command runs",
            "mismatch",
            fleet=fleet.group_scales_out,
        ),
        Scenario(
            "partial",
            "one invocation is Undeliverable",
            "partial",
            fleet=fleet.one_is_undeliverable,
            settings=NO_RETRY,
        ),
        Scenario(
            "failed",
            "one web node answers 503",
            "failed",
            fleet=fleet.one_fails,
            settings=NO_RETRY,
            press=True,
        ),
        Scenario(
            "lost-notification",
            "the command ends, but SSM's notification never arrives: the clear's wait runs out "
            "and it looks itself",
            "ok",
            prepare=short_lived,
            notified=False,
        ),
        Scenario(
            "stuck",
            "the command still runs past its expiry: the stuck alert, then a look every 15 "
            "minutes until it ends (its notification lost too)",
            "ok",
            fleet=fleet.still_running,
            prepare=short_lived,
            # Its end is seen by the clear's next look: SSM's notification of it is lost too,
            # or the relay would race the look that ends the command (end_on_read).
            notified=False,
            posts=2,
        ),
        Scenario(
            "stopped",
            "the database's alarm fires after the first wave; SSM stops the clear",
            "stopped",
            fleet=fleet.alarm_fires_after_the_first_wave,
            then=then.refused_while_the_alarm_fires,
            settings={"STOP_ALARM_NAME": STOP_ALARM},
        ),
        Scenario(
            "cancelled",
            "an operator stops the clear with cancel-command",
            "cancelled",
            fleet=fleet.an_operator_cancels,
            then=then.nothing_retried,
        ),
        Scenario(
            "retry",
            "one invocation times out in delivery; the clear retries it, and it clears",
            "ok",
            fleet=fleet.one_delivery_times_out,
            then=then.retried_once,
        ),
        Scenario(
            "warm-pool",
            "an instance leaves the warm pool under the launch hook and waits to be cleared",
            "ok",
            request=leaving_the_warm_pool,
            then=then.launch_continued,
            posts=0,
        ),
        Scenario(
            "opcache",
            "a deploy's OPcache reset: every instance resets it and proves the restart took",
            "ok",
            request=console("console-reset-opcache.json"),
            fleet=fleet.everyone_resets_opcache,
        ),
        Scenario(
            "dry-run",
            "a dry run: the plan of a clear, and nothing sent",
            "",
            request=console("console-dry-run.json"),
            posts=0,
            dry_run=True,
        ),
    )
}
# What `make demo SLACK=app` runs without SCENARIO: an alert, and its retry button pressed.
APP_DEFAULT = "failed"
