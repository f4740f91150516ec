"""A clear's messages, each post a step of the clear, at most once (docs/design.md, "Slack"): one
message per verdict in webhook mode; in app mode, one per clear, updated in place."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from aws_durable_execution_sdk_python import DurableContext, StepError
from aws_durable_execution_sdk_python.retries import RetryDecision

from apcu_clear import record
from apcu_clear.observability import count, logger
from apcu_clear.record import Clear, SlackMessage
from apcu_notifier import app_messages, slack
from apcu_notifier.config import Runtime
from apcu_notifier.durable import delay, step
from apcu_notifier.render import Request, Style, render
from apcu_notifier.verdict import Verdict

T = TypeVar("T")
SLACK_ATTEMPTS = 5
POSTED, UNCONFIRMED = "posted", "unconfirmed"


def slack_retry(error: Exception, attempt: int) -> RetryDecision:
    """What Slack did not take (429 after its Retry-After, 5xx, no connection). A post sent whole
    and unanswered was probably taken: it raises DeliveryUnconfirmed, never retried."""
    if attempt < SLACK_ATTEMPTS and isinstance(error, slack.SlackUnavailable):
        return RetryDecision.retry(delay(max(error.retry_after, 2**attempt)))
    return RetryDecision.no_retry()


def start_message(ctx: DurableContext, rt: Runtime, clear: Clear) -> SlackMessage | None:
    """App mode: the clear's message while it runs; None when Slack's answer was lost."""
    payload = app_messages.started(clear, Style.of(rt.config, rt.region))
    return _post_kept(ctx, rt, clear.clear_id, payload, "post the start message", "start")


def verdict(
    ctx: DurableContext, rt: Runtime, clear: Clear | None, clear_id: str, judged: Verdict
) -> str:
    """Post the clear's verdict; how it went (POSTED or UNCONFIRMED)."""
    request = Request.of(clear)
    if clear is not None and clear.retry_of:
        # A retry asked on demand speaks for the clear it repairs, and names who asked again.
        repaired = partial(_stored, rt, clear.retry_of, "clear")
        first = step(ctx, "read the clear it repairs", repaired, Clear | None)
        request = Request.of(clear, first)
    if not rt.config.shared.slack.is_app:
        post = partial(_post_webhook, rt, render(judged, Style.of(rt.config, rt.region), request))
        return POSTED if _once(ctx, rt, "post the verdict", post, bool) else UNCONFIRMED
    parts = app_messages.for_verdict(judged, Style.of(rt.config, rt.region), request)
    read = partial(_stored, rt, clear_id, "message")
    message = step(ctx, "read the clear's message", read, SlackMessage | None)
    # chat.update is safe to repeat (so it may retry); a message deleted meanwhile gets the
    # verdict as a new one.
    if message is not None:
        update = partial(_update, rt, message, parts.message)
        if not step(ctx, "update the clear's message", update, bool, retry=slack_retry):
            message = None
    if message is None:
        name = "post the verdict as a new message"
        message = _post_kept(ctx, rt, clear_id, parts.message, name, "verdict's")
        if message is None:
            return UNCONFIRMED
    if parts.detail is not None:
        detail = partial(_post_new, rt, parts.detail, thread_ts=message.ts)
        _once(ctx, rt, "post the detail in the thread", detail, SlackMessage | None)
    if parts.alert is not None:
        notify = partial(_post_new, rt, parts.alert, thread_ts=message.ts, broadcast=True)
        _once(ctx, rt, "notify the channel", notify, SlackMessage | None)
    return POSTED


def alert(
    ctx: DurableContext, rt: Runtime, name: str, judged: Verdict, clear: Clear | None
) -> None:
    """An alert of its own, posted once: an unreadable notification (no clear), or a stuck command
    (app mode: in its clear's thread, sent to the channel)."""
    payload = render(judged, Style.of(rt.config, rt.region), Request.of(clear))
    thread = clear.message.ts if clear is not None and clear.message is not None else None
    if rt.config.shared.slack.is_app:
        reply = partial(_post_new, rt, payload, thread_ts=thread, broadcast=thread is not None)
        _once(ctx, rt, name, reply, SlackMessage | None)
    else:
        _once(ctx, rt, name, partial(_post_webhook, rt, payload), bool)


def _stored(rt: Runtime, clear_id: str, field: str) -> Any:
    return getattr(record.read(rt.dynamodb, rt.table, clear_id), field, None)


def _post_kept(
    ctx: DurableContext, rt: Runtime, clear_id: str, payload: dict[str, Any], name: str, kept: str
) -> SlackMessage | None:
    """App mode: a new message for the clear, which its record keeps (its updates, its thread)."""
    posted = _once(ctx, rt, name, partial(_post_new, rt, payload), SlackMessage | None)
    if posted is not None:
        keep = partial(record.record_message, rt.dynamodb, rt.table, clear_id, posted)
        step(ctx, f"keep the {kept} message", keep, type(None))
    return posted


def _once(
    ctx: DurableContext, rt: Runtime, name: str, post: Callable[[], T], result: Any
) -> T | None:
    """A post never sent twice: one that may have been taken (unanswered, or cut off) counts as
    unconfirmed. The secret is read first, so the post's step has nothing else that can fail."""
    step(ctx, f"read the Slack secret ({name})", partial(_read_secret, rt), type(None))
    try:
        return step(ctx, name, post, result, retry=slack_retry, once=True)
    except StepError as error:
        if not error.error_type.endswith("StepInterruptedError"):
            raise
    step(ctx, f"count the {name} unconfirmed", lambda: count("DeliveryUnconfirmed"), type(None))
    return None


def _read_secret(rt: Runtime) -> None:
    """Into Powertools' cache, never into a checkpoint: this step's result is None."""
    if rt.config.shared.slack.is_app:
        rt.app_secret()
    else:
        rt.webhook_url()


def _post_webhook(rt: Runtime, payload: dict[str, Any]) -> bool:
    try:
        slack.post_webhook(rt.webhook_url(), payload)
    except slack.DeliveryUnconfirmed:
        count("DeliveryUnconfirmed")
        return False
    return True


def _post_new(
    rt: Runtime, payload: dict[str, Any], *, thread_ts: str | None = None, broadcast: bool = False
) -> SlackMessage | None:
    secret = rt.app_secret()
    params: dict[str, Any] = {"channel": secret.channel, **payload}
    if thread_ts:
        params |= {"thread_ts": thread_ts, "reply_broadcast": broadcast}
    try:
        answer = slack.call_web(rt.slack_web, "chat.postMessage", secret.bot_token, params)
    except slack.DeliveryUnconfirmed:
        count("DeliveryUnconfirmed")
        return None
    return SlackMessage(str(answer.get("channel") or secret.channel), str(answer.get("ts", "")))


def _update(rt: Runtime, message: SlackMessage, payload: dict[str, Any]) -> bool:
    params = {"channel": message.channel, "ts": message.ts, **payload}
    try:
        slack.call_web(rt.slack_web, "chat.update", rt.app_secret().bot_token, params)
    except slack.SlackRejected as refusal:
        if refusal.code not in slack.MESSAGE_GONE:
            raise
        gone = {"code": refusal.code}
        logger.warning("the clear's message is gone; its verdict is posted anew", extra=gone)
        return False
    return True
