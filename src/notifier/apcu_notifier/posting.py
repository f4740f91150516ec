"""Posting a clear's messages, as steps of the clear.

Webhook mode: one message per verdict, posted at most once. A post sent whole that Slack did
not answer in time, or one an invocation died in the middle of, was probably taken and is not
sent again: the metric DeliveryUnconfirmed says so.

App mode: one message per clear. It is posted when the clear starts and updated in place
(chat.update, safe to repeat) when the verdict is in; the per-instance detail goes in its thread,
and an alert adds a thread reply sent to the channel, which notifies (an edit notifies no one).
A clear whose message is gone (deleted, never posted) gets its verdict as a new message, which
the clear keeps. Thread replies are posted at most once each.

A clear the stack sends on its own when an instance leaves a warm pool is posted only when it
alerts; every verdict is still recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from aws_durable_execution_sdk_python import DurableContext, StepError

from apcu_clear import command, record
from apcu_clear.observability import count, logger
from apcu_clear.record import Clear, SlackMessage
from apcu_notifier import app_messages
from apcu_notifier.durable import slack_retry, step
from apcu_notifier.render import Request, Style, render
from apcu_notifier.runtime import Runtime
from apcu_notifier.slack import (
    MESSAGE_GONE,
    DeliveryUnconfirmed,
    SlackRejected,
    call_web,
    post_webhook,
)
from apcu_notifier.verdict import Verdict, VerdictKind

T = TypeVar("T")
QUIET_ORIGINS = frozenset({"warm-pool"})
POSTED, UNCONFIRMED, QUIET = "posted", "unconfirmed", "quiet"


def start_message(ctx: DurableContext, rt: Runtime, clear: Clear) -> SlackMessage | None:
    """App mode: the clear's message while it runs; None when Slack's answer was lost."""
    payload = app_messages.started(clear, _style(rt))
    posted = _once(
        ctx, rt, "post the start message", lambda: _post_new(rt, payload), SlackMessage | None
    )
    if posted is None:
        return None
    step(
        ctx,
        "keep the start message",
        lambda: record.record_message(rt.dynamodb, rt.table, clear.clear_id, posted),
        type(None),
    )
    return posted


def verdict(
    ctx: DurableContext, rt: Runtime, clear: Clear | None, clear_id: str, judged: Verdict
) -> str:
    """Post the clear's verdict; how it went (POSTED, UNCONFIRMED or QUIET)."""
    if clear is not None and clear.origin in QUIET_ORIGINS and not judged.is_alert:
        return QUIET
    request = _request(ctx, rt, clear)
    if not rt.config.shared.slack.is_app:
        payload = render(judged, _style(rt), request)
        return (
            POSTED
            if _once(ctx, rt, "post the verdict", lambda: _post_webhook(rt, payload), bool)
            else UNCONFIRMED
        )
    return _app_verdict(ctx, rt, request, clear_id, judged)


def stuck(ctx: DurableContext, rt: Runtime, clear_id: str, clear: Clear | None) -> None:
    """The stuck alert: the command still runs a minute past its expiry."""
    live = step(ctx, "read the stuck command", lambda: command.live(rt.ssm, clear_id), command.Live)
    alert = Verdict(
        kind=VerdictKind.STUCK,
        command_id=clear_id,
        status=live.status,
        status_details=live.details,
        targeted=live.targeted,
        succeeded=live.completed - live.errors,
    )
    count("CommandStuck")
    if rt.config.shared.slack.is_app:
        _app_reply(ctx, rt, clear, alert, "post the stuck alert")
        return
    payload = render(alert, _style(rt), Request.of(clear))
    _once(ctx, rt, "post the stuck alert", lambda: _post_webhook(rt, payload), bool)


def alone(ctx: DurableContext, rt: Runtime, judged: Verdict, name: str) -> None:
    """A message about no clear (an unreadable notification): posted once, on its own."""
    payload = render(judged, _style(rt))
    if rt.config.shared.slack.is_app:
        _once(ctx, rt, name, lambda: _post_new(rt, payload), SlackMessage | None)
    else:
        _once(ctx, rt, name, lambda: _post_webhook(rt, payload), bool)


def _request(ctx: DurableContext, rt: Runtime, clear: Clear | None) -> Request:
    """Who asked for the clear and why. A retry asked on demand speaks for the clear it
    repairs: its message names that clear's requester and comment, and who asked again."""
    if clear is None or not clear.retry_of:
        return Request.of(clear)
    first = clear.retry_of
    repaired = step(ctx, "read the clear it repairs", lambda: _clear_of(rt, first), Clear | None)
    return Request.of(clear, repaired)


def _clear_of(rt: Runtime, clear_id: str) -> Clear | None:
    stored = record.read(rt.dynamodb, rt.table, clear_id)
    return stored.clear if stored is not None else None


def _style(rt: Runtime) -> Style:
    return Style.of(rt.config, rt.region)


def _app_verdict(
    ctx: DurableContext, rt: Runtime, request: Request, clear_id: str, judged: Verdict
) -> str:
    parts = app_messages.for_verdict(judged, _style(rt), request)
    message = step(
        ctx, "read the clear's message", lambda: _message(rt, clear_id), SlackMessage | None
    )
    updated = False
    if message is not None:
        kept = message
        updated = step(
            ctx,
            "update the clear's message",
            lambda: _update(rt, kept, parts.message),
            bool,
            retry=slack_retry,
        )
    if not updated:
        message = _once(
            ctx,
            rt,
            "post the verdict as a new message",
            lambda: _post_new(rt, parts.message),
            SlackMessage | None,
        )
        if message is None:
            return UNCONFIRMED
        new = message
        step(
            ctx,
            "keep the verdict's message",
            lambda: record.record_message(rt.dynamodb, rt.table, clear_id, new),
            type(None),
        )
    thread = message.ts if message is not None else ""
    if parts.detail is not None:
        detail = parts.detail
        _once(
            ctx,
            rt,
            "post the detail in the thread",
            lambda: _post_new(rt, detail, thread_ts=thread),
            SlackMessage | None,
        )
    if parts.alert is not None:
        alert = parts.alert
        _once(
            ctx,
            rt,
            "notify the channel",
            lambda: _post_new(rt, alert, thread_ts=thread, broadcast=True),
            SlackMessage | None,
        )
    return POSTED


def _app_reply(
    ctx: DurableContext, rt: Runtime, clear: Clear | None, alert: Verdict, name: str
) -> None:
    payload = render(alert, _style(rt), Request.of(clear))
    message = clear.message if clear is not None else None
    thread = message.ts if message is not None else None
    _once(
        ctx,
        rt,
        name,
        lambda: _post_new(rt, payload, thread_ts=thread, broadcast=thread is not None),
        SlackMessage | None,
    )


def _once(
    ctx: DurableContext, rt: Runtime, name: str, post: Callable[[], T], result: Any
) -> T | None:
    """A post that is never sent twice: its step runs at most once per attempt, retries only
    what Slack did not take, and a post that may have been taken (unanswered, or cut off by the
    end of an invocation) counts as posted, unconfirmed. The Slack secret is read in a step of
    its own first (and kept in memory only: a step's result is checkpointed), so that the step
    that posts does nothing else that could fail before the post."""
    step(ctx, f"read the Slack secret ({name})", lambda: _read_secret(rt), type(None))
    try:
        return step(ctx, name, post, result, retry=slack_retry, once=True)
    except StepError as error:
        if not error.error_type.endswith("StepInterruptedError"):
            raise
    _unconfirmed(ctx, name)
    return None


def _read_secret(rt: Runtime) -> None:
    """Read the secret of Slack's mode into Powertools' cache (never into a checkpoint)."""
    if rt.config.shared.slack.is_app:
        rt.app_secret()
    else:
        rt.webhook_url()


def _unconfirmed(ctx: DurableContext, name: str) -> None:
    step(ctx, f"count the {name} unconfirmed", lambda: count("DeliveryUnconfirmed"), type(None))


def _post_webhook(rt: Runtime, payload: dict[str, Any]) -> bool:
    try:
        post_webhook(rt.webhook_url(), payload)
    except DeliveryUnconfirmed:
        count("DeliveryUnconfirmed")
        return False
    return True


def _post_new(
    rt: Runtime, payload: dict[str, Any], *, thread_ts: str | None = None, broadcast: bool = False
) -> SlackMessage | None:
    secret = rt.app_secret()
    params: dict[str, Any] = {"channel": secret.channel, **payload}
    if thread_ts:
        params["thread_ts"] = thread_ts
        params["reply_broadcast"] = broadcast
    try:
        answer = call_web(rt.slack_web, "chat.postMessage", secret.bot_token, params)
    except DeliveryUnconfirmed:
        count("DeliveryUnconfirmed")
        return None
    return SlackMessage(str(answer.get("channel") or secret.channel), str(answer.get("ts", "")))


def _update(rt: Runtime, message: SlackMessage, payload: dict[str, Any]) -> bool:
    """chat.update of the clear's message; False when the message is gone."""
    secret = rt.app_secret()
    params = {"channel": message.channel, "ts": message.ts, **payload}
    try:
        call_web(rt.slack_web, "chat.update", secret.bot_token, params)
    except SlackRejected as refusal:
        if refusal.code not in MESSAGE_GONE:
            raise
        logger.warning(
            "the clear's message is gone; its verdict is posted anew", extra={"code": refusal.code}
        )
        return False
    return True


def _message(rt: Runtime, clear_id: str) -> SlackMessage | None:
    stored = record.read(rt.dynamodb, rt.table, clear_id)
    return stored.message if stored is not None else None
