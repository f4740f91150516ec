"""POST /flush/{commandId}/retry: re-send a judged clear to the instances its verdict left stale.

Someone who reads an alert repairs the miss without clearing the whole group again. What is
sent comes from the command's record only (its group, action and prefix) and from the group
as it is now (which of the stale instances are still InService): nothing from the request
body reaches the fleet, and only commands this stack recorded, so of its own document, are
ever re-sent. Each retry command is recorded (origin `retry`, `retryOf` the clear's first
command) and armed with a watchdog like any command, so it ends in a verdict of its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from apcu_clear import claim, converge, store
from apcu_clear.claim import Taken
from apcu_clear.item import JUDGED, RETRY_ORIGIN, CommandRecord, parse_iso
from apcu_dispatcher import claims
from apcu_dispatcher.brake import refuse_if_alarm_firing
from apcu_dispatcher.budget import Remaining, unlimited
from apcu_dispatcher.clients import Clients, is_throttling
from apcu_dispatcher.command import MAX_INSTANCE_IDS, build_retry_command, console_url
from apcu_dispatcher.config import Config
from apcu_dispatcher.dispatch import SendOutcomeUnknown, send_and_arm
from apcu_dispatcher.errors import Refusal, throttled
from apcu_dispatcher.responses import Answer, not_armed_warning
from apcu_dispatcher.validation import FlushRequest

if TYPE_CHECKING:
    from mypy_boto3_autoscaling import AutoScalingClient

RETRY_ROUTE = "POST /flush/{commandId}/retry"
IN_PROGRESS = "clear-in-progress"
NOTHING_TO_RETRY = "nothing-to-retry"

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Sent:
    command_id: str
    instance_ids: tuple[str, ...]
    warning: dict[str, Any] | None


def retry(
    command_id: str,
    requester: str,
    config: Config,
    clients: Clients,
    remaining: Remaining = unlimited,
    clock: Clock = utc_now,
) -> Answer:
    """Refuse (404, 409, 503) or send the retry commands and answer 202."""
    record = _read(command_id, config, clients)
    if record.state != JUDGED or record.verdict is None:
        raise Refusal(
            409,
            f"command {command_id} has no verdict yet; wait for it, then retry what it missed",
            field="commandId",
            rule=IN_PROGRESS,
        )
    # A retry of a retry belongs to the same clear: its first command keeps the list.
    first = _read(record.retry_of, config, clients) if record.retry_of else record
    refuse_if_retry_running(first, config, clients, clock())
    verdict = record.verdict
    clear_judged = False
    if record is first:
        # A clear the notifier retried on its own: what is stale is what its last attempt
        # left, as the clear's verdict says (apcu_clear.converge).
        progress = converge.read(clients.dynamodb, config.watchdog.commands_table, command_id)
        if progress.retrying:
            raise Refusal(
                409,
                f"clear {command_id} is still being retried automatically; wait for its "
                "verdict, nothing was sent",
                field="commandId",
                rule=IN_PROGRESS,
            )
        clear_judged = progress.verdict is not None
        verdict = progress.verdict or verdict
    if not verdict.alert or not verdict.stale_instances:
        raise Refusal(
            409,
            f"command {command_id} ended {verdict.kind} and left no instance stale; "
            "nothing was sent",
            field="commandId",
            rule=NOTHING_TO_RETRY,
        )
    if record.group not in config.allowed_groups:
        raise Refusal(
            403,
            f"group {record.group} is no longer one this stack may clear; nothing was sent",
            field="commandId",
            rule="allowed-groups",
        )
    in_service = _in_service(record.group, clients.autoscaling)
    targets = tuple(i for i in verdict.stale_instances if i in in_service)
    skipped = tuple(i for i in verdict.stale_instances if i not in in_service)
    if not targets:
        raise Refusal(
            409,
            f"none of the {len(skipped)} instances command {command_id} left stale is "
            f"InService in {record.group} now; nothing was sent",
            field="commandId",
            rule=NOTHING_TO_RETRY,
            details={"skipped": list(skipped)},
        )
    before_send(record, config, clients)
    # A retry is part of its clear, and one clear per group runs at a time: it takes the
    # group's claim as a clear does, and a clear or retry running holds it (409).
    taken = claims.take_or_refuse(
        claim.group_key(record.group), f"group {record.group}", config, clients.dynamodb
    )
    request = FlushRequest(
        group=record.group,
        action=record.action,
        prefix=record.prefix or None,
        comment=f"retry of {command_id}",
        dry_run=False,
        requester=requester,
        origin=RETRY_ORIGIN,
    )
    sent: list[Sent] = []
    try:
        not_sent = _send_all(
            request, targets, first.command_id, config, clients, taken, sent, remaining
        )
    except SendOutcomeUnknown:
        # SendCommand may have run: the claim stays until that command must have ended.
        raise
    except BaseException:
        if not sent:
            # Nothing was sent: the group is free for the next request.
            claims.give_back(taken, config, clients.dynamodb)
        raise
    answer = _accepted(command_id, record, sent, not_sent, skipped, verdict.stale_count, config)
    if record is first and first.retries and not clear_judged:
        # This verdict predates the retries, which may have cleared some of its instances.
        answer.body["warnings"].append(
            {
                "reason": "retried-before",
                "message": (
                    f"clear {command_id} was retried before ({len(first.retries)} command(s)); "
                    "this re-sent everything its own verdict left stale. To re-send only what "
                    f"a retry left stale, retry that retry: {first.retries[-1]}"
                ),
            }
        )
    return answer


def refuse_if_retry_running(
    first: CommandRecord, config: Config, clients: Clients, now: dt.datetime
) -> None:
    """409 while a retry of this clear has no verdict and its expiry has not passed.

    A check, then a send: on its own, two retries asked at the same moment could both pass.
    The group's claim, taken after it, is what makes one of them the only one; this check
    still names the running retry, and catches one whose command ended before its verdict."""
    if not first.retries:
        return
    try:
        retries = store.read_many(clients.dynamodb, config.watchdog.commands_table, first.retries)
    except ClientError as error:
        if is_throttling(error):
            raise throttled(error.operation_name, "reading the clear's retries") from error
        raise
    running = [r for r in retries if r.state != JUDGED and parse_iso(r.expires_at) > now]
    if running:
        latest = running[-1]
        raise Refusal(
            409,
            f"a retry of this clear is still running (command {latest.command_id}, until "
            f"{latest.expires_at}); wait for its verdict, nothing was sent",
            field="commandId",
            rule=IN_PROGRESS,
            details={
                "runningCommand": {
                    "commandId": latest.command_id,
                    "requestedAt": latest.requested_at,
                    "consoleUrl": console_url(config.region, latest.command_id),
                }
            },
        )


def before_send(record: CommandRecord, config: Config, clients: Clients) -> None:
    """Checks that must pass right before anything is re-sent; raise a Refusal to stop.

    The stop alarm: a retry while it fires is refused as a clear is (409 alarm-firing)."""
    refuse_if_alarm_firing(config.stop_alarm_name, clients.cloudwatch)


def _send_all(
    request: FlushRequest,
    targets: Sequence[str],
    first_id: str,
    config: Config,
    clients: Clients,
    taken: Taken,
    sent: list[Sent],
    remaining: Remaining,
) -> tuple[str, ...]:
    """One command per MAX_INSTANCE_IDS instances. Throttling (or too little time) before the
    first is sent is a 503 with nothing sent; after one was sent, the rest are answered as
    not sent, for a later retry to pick up. `sent` is filled as commands go out, so that the
    caller knows, even when this raises, whether any did."""
    batches = [
        tuple(targets[i : i + MAX_INSTANCE_IDS]) for i in range(0, len(targets), MAX_INSTANCE_IDS)
    ]
    for index, batch in enumerate(batches):
        params = build_retry_command(batch, request, config)
        try:
            new_id, missed = send_and_arm(
                request, params, config, clients, taken, remaining, retry_of=first_id
            )
        except (Refusal, ClientError) as error:
            refused = isinstance(error, Refusal) and error.status == 503
            if not sent or not (refused or is_throttling(error)):
                if isinstance(error, ClientError) and is_throttling(error):
                    raise throttled(error.operation_name, "sending the retry") from error
                raise
            return tuple(i for b in batches[index:] for i in b)
        warning = not_armed_warning(missed) if missed else None
        warning = _link(first_id, new_id, config, clients) or warning
        sent.append(Sent(new_id, batch, warning))
    return ()


def _link(first_id: str, new_id: str, config: Config, clients: Clients) -> dict[str, Any] | None:
    """Add the retry to its clear's list; the command runs whatever this write does."""
    try:
        store.add_retries(clients.dynamodb, config.watchdog.commands_table, first_id, [new_id])
    except Exception as error:
        return {
            "reason": "retry-not-linked",
            "message": (
                f"retry {new_id} was sent, but could not be added to clear {first_id}'s record "
                f"({type(error).__name__}): another retry will not wait for it"
            ),
        }
    return None


def _read(command_id: str, config: Config, clients: Clients) -> CommandRecord:
    try:
        record = store.read(clients.dynamodb, config.watchdog.commands_table, command_id)
    except ClientError as error:
        if is_throttling(error):
            raise throttled(error.operation_name, "reading the command") from error
        raise
    if record is None:
        raise Refusal(
            404,
            f"no clear {command_id} was sent by this stack (or its record has expired)",
            field="commandId",
            rule="unknown-command",
        )
    return record


def _in_service(group: str, autoscaling: AutoScalingClient) -> frozenset[str]:
    """The group's InService instances now; none when the group has gone."""
    try:
        pages = autoscaling.get_paginator("describe_auto_scaling_groups").paginate(
            AutoScalingGroupNames=[group]
        )
        return frozenset(
            i["InstanceId"]
            for page in pages
            for g in page.get("AutoScalingGroups", [])
            for i in g.get("Instances", [])
            if i.get("LifecycleState") == "InService"
        )
    except ClientError as error:
        if is_throttling(error):
            raise throttled(error.operation_name, "reading the group") from error
        raise


def _accepted(
    command_id: str,
    record: CommandRecord,
    sent: list[Sent],
    not_sent: tuple[str, ...],
    skipped: tuple[str, ...],
    stale_count: int,
    config: Config,
) -> Answer:
    warnings = [s.warning for s in sent if s.warning is not None]
    if not_sent:
        warnings.append(
            {
                "reason": "not-sent",
                "message": (
                    f"AWS throttled the retry after {len(sent)} command(s): {len(not_sent)} "
                    "instances were not sent to; retry again once these end"
                ),
            }
        )
    if stale_count > len(record.verdict.stale_instances if record.verdict else ()):
        warnings.append(
            {
                "reason": "stale-list-bounded",
                "message": (
                    f"the verdict left {stale_count} instances stale and kept the first "
                    f"{len(record.verdict.stale_instances if record.verdict else ())}; "
                    "clear the group for the rest"
                ),
            }
        )
    return Answer(
        202,
        {
            "retryOf": command_id,
            "group": record.group,
            "action": record.action,
            "prefix": record.prefix or None,
            "commandIds": [s.command_id for s in sent],
            "commands": [
                {
                    "commandId": s.command_id,
                    "instances": len(s.instance_ids),
                    "consoleUrl": console_url(config.region, s.command_id),
                }
                for s in sent
            ],
            "retried": [i for s in sent for i in s.instance_ids],
            "skipped": list(skipped),
            "notSent": list(not_sent),
            "warnings": warnings,
            "consoleUrl": console_url(config.region, sent[0].command_id),
        },
    )
