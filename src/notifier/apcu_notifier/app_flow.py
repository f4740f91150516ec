"""Slack app mode: one message per clear, posted when it starts and updated with its verdict
(docs/design.md, "Slack app mode: one message per clear").

- start: the first command's InProgress notification posts the start message, once: the lease
  on the first command's item (apcu_clear.store.take_slack_message) is taken only while the
  command is unjudged and nobody is judging it, so a late InProgress posts nothing.
- verdict: chat.update of that message in place; the detail in its thread; an alert also a
  thread reply sent to the channel with ALERT_MENTION, and the retry button. No start message
  (lost, late, a warm-pool clear): the verdict is posted as the clear's message and recorded
  on the item, so that Lambda's retry updates it instead of posting another.

Imported only in app mode, by posting.deliver and the handler; it imports neither.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from apcu_clear import store
from apcu_clear.item import SENT, CommandRecord, SlackMessage
from apcu_clear.slack_app import AppSecret, read_app_secret
from apcu_notifier import app_messages, budget
from apcu_notifier.after_post import QUIET_ORIGINS, after_post
from apcu_notifier.observability import logger, metrics
from apcu_notifier.secret import clear_cached_secret
from apcu_notifier.slack import MessageBusy
from apcu_notifier.slack_web import Posted, SlackAppRejected, SlackUnconfirmed, SlackWeb

if TYPE_CHECKING:
    from apcu_notifier.runtime import Runtime
    from apcu_notifier.verdict import Verdict

# While another invocation posts the start message, the verdict waits for its ts this long
# between looks, at most MESSAGE_LOOKS times, then raises (Lambda's retry finds it).
MESSAGE_LOOK_SECONDS = 0.5
MESSAGE_LOOKS = 10
# chat.update's answers for a message that can never be updated again (deleted, or its
# channel archived or gone): the verdict is posted as a new message instead.
MESSAGE_GONE = frozenset(
    {"message_not_found", "cant_update_message", "is_archived", "channel_not_found"}
)


def start(command_id: str, rt: Runtime, remaining: Callable[[], float]) -> dict[str, Any]:
    """The clear's start message, on its first command's InProgress notification."""
    ledger, web = rt.ledger, _web(rt)
    if ledger is None:
        return _skipped(command_id, "no commands table to keep the message on")
    record = ledger.read(command_id)
    why = ""
    if record is None:
        why = "the stack did not record this command"
    elif record.retry_of:
        why = "a retry: its clear has its message"
    elif record.origin in QUIET_ORIGINS:
        why = "a warm-pool clear is posted only when it alerts"
    elif record.state != SENT or record.slack_message is not None:
        why = "the clear has its message or its verdict already"
    if why or record is None:
        return _skipped(command_id, why)
    claim = store.take_slack_message(
        ledger.client,
        ledger.table,
        command_id,
        now=rt.clock(),
        hold_seconds=remaining() + 5.0,
        before_verdict=True,
    )
    if not claim.token:
        return _skipped(command_id, "the clear has its message, or its verdict is being judged")
    try:
        secret = _secret(rt)
        payload = app_messages.started(record, language=rt.config.language, region=rt.config.region)
        budget.require(remaining, budget.POST_RESERVE, "to post the clear's start message")
        posted = _post(rt, web, secret, payload, remaining)
    except BaseException:
        _release(rt, command_id, claim.token)
        raise
    message = SlackMessage(posted.channel, posted.ts)
    kept = after_post(
        lambda: store.set_slack_message(
            ledger.client, ledger.table, command_id, claim.token, message
        ),
        rt,
        remaining,
        "the clear's message",
    )
    if not kept:
        logger.error("start message posted, but its lease had expired and was taken")
    logger.info("clear's start message posted", extra={"attempts": posted.attempts})
    metrics.add_metric(name="SlackMessageStarted", unit=MetricUnit.Count, value=1)
    return {"command_id": command_id, "started": True}


def deliver_verdict(
    verdict: Verdict,
    rt: Runtime,
    remaining: Callable[[], float],
    clear: CommandRecord | None,
) -> dict[str, Any]:
    """Update the clear's message with its verdict (or post it as the clear's message), then
    its thread replies. `clear`: the record of the command whose clear this is (a retry's
    names its first command in retry_of); None for a command the stack did not record."""
    web = _web(rt)
    secret = _secret(rt)
    first_id = (clear.retry_of or clear.command_id) if clear is not None else ""
    config = rt.config
    out = app_messages.for_verdict(
        verdict,
        language=config.language,
        mention=config.alert_mention,
        region=config.region,
        warm_pool_exit_clears=config.warm_pool_exit_clears,
        first_command_id=first_id,
        group=clear.group if clear is not None else "",
    )
    budget.require(remaining, budget.POST_RESERVE, "to post to Slack")
    existing, token, replied = _message_of(rt, first_id, remaining)
    try:
        if existing is not None:
            try:
                _call(
                    rt,
                    lambda: web.update(
                        token=secret.bot_token,
                        channel=existing.channel,
                        ts=existing.ts,
                        text=out.message["text"],
                        blocks=out.message["blocks"],
                        remaining=remaining,
                        policy=rt.slack_policy,
                        sleep=rt.sleep,
                    ),
                )
                where = existing
            except SlackAppRejected as error:
                if error.code not in MESSAGE_GONE:
                    raise
                where = _post_anew(rt, web, secret, first_id, existing, out.message, remaining)
        else:
            posted = _post(rt, web, secret, out.message, remaining)
            where = SlackMessage(posted.channel, posted.ts)
    except BaseException:
        if token:
            _release(rt, first_id, token)
        raise
    if token:
        # Kept before the replies: should one of them fail, Lambda's retry updates this
        # message instead of posting a second one.
        ledger = rt.ledger
        assert ledger is not None
        after_post(
            lambda: store.set_slack_message(ledger.client, ledger.table, first_id, token, where),
            rt,
            remaining,
            "the clear's message",
        )
    for reply, broadcast in ((out.detail, False), (out.alert, True)):
        if reply is None:
            continue
        key = f"{verdict.command_id}/{verdict.kind.value}/{'alert' if broadcast else 'detail'}"
        if where == existing and key in replied:
            # Posted by an earlier try of this event (Lambda's retry): not twice.
            continue
        _reply(rt, web, secret, where, reply, broadcast, remaining)
        _remember_reply(rt, first_id, key, remaining)
    return {"slack_message": where.ts, "updated": existing is not None}


def _remember_reply(rt: Runtime, first_id: str, key: str, remaining: Callable[[], float]) -> None:
    ledger = rt.ledger
    if ledger is None or not first_id:
        return
    after_post(
        lambda: store.add_slack_reply(ledger.client, ledger.table, first_id, key),
        rt,
        remaining,
        "a thread reply",
    )


def _post_anew(
    rt: Runtime,
    web: SlackWeb,
    secret: AppSecret,
    first_id: str,
    gone: SlackMessage,
    message: dict[str, Any],
    remaining: Callable[[], float],
) -> SlackMessage:
    """The clear's message was deleted, or its channel archived: updating it can never work,
    and a replay from the failure queue would fail the same way. The verdict is posted as a
    new message in the secret's channel, and the clear lives in that one from now on."""
    logger.warning(
        "the clear's message cannot be updated any more; posting the verdict anew",
        extra={"channel": gone.channel, "ts": gone.ts},
    )
    metrics.add_metric(name="SlackMessageReposted", unit=MetricUnit.Count, value=1)
    posted = _post(rt, web, secret, message, remaining)
    where = SlackMessage(posted.channel, posted.ts)
    ledger = rt.ledger
    if ledger is not None and first_id:
        after_post(
            lambda: store.replace_slack_message(ledger.client, ledger.table, first_id, gone, where),
            rt,
            remaining,
            "the clear's new message",
        )
    return where


def _reply(
    rt: Runtime,
    web: SlackWeb,
    secret: AppSecret,
    where: SlackMessage,
    reply: dict[str, Any],
    broadcast: bool,
    remaining: Callable[[], float],
) -> None:
    try:
        _post(rt, web, secret, reply, remaining, thread=where, broadcast=broadcast)
    except SlackUnconfirmed:
        # Sent whole, unanswered: probably posted, and the clear's message holds the verdict
        # already. Counted as posted, as the webhook's unconfirmed post is, rather than risk
        # a second @here on Lambda's retry.
        logger.warning("thread reply unconfirmed: probably posted, not posted again")
        metrics.add_metric(name="SlackDeliveryUnconfirmed", unit=MetricUnit.Count, value=1)


def _message_of(
    rt: Runtime, first_id: str, remaining: Callable[[], float]
) -> tuple[SlackMessage | None, str, frozenset[str]]:
    """The clear's message and the thread replies posted under it, or a lease to post it
    ("" when there is no item to keep it on)."""
    ledger = rt.ledger
    if ledger is None or not first_id:
        return None, "", frozenset()
    for _ in range(MESSAGE_LOOKS):
        claim = store.take_slack_message(
            ledger.client,
            ledger.table,
            first_id,
            now=rt.clock(),
            hold_seconds=remaining() + 5.0,
            before_verdict=False,
        )
        if claim.message is not None or claim.token or claim.missing:
            return claim.message, claim.token, claim.replies
        # The start message is being posted right now: its ts comes in a moment.
        rt.sleep(MESSAGE_LOOK_SECONDS)
    raise MessageBusy(
        f"the message of clear {first_id} is still being posted by another invocation; "
        "the event will be retried"
    )


def _web(rt: Runtime) -> SlackWeb:
    if rt.slack_web is None:
        raise RuntimeError("app mode without a Slack Web API client")
    return rt.slack_web


def _secret(rt: Runtime) -> AppSecret:
    return read_app_secret(rt.secrets, rt.config.slack.secret_arn)


def _post(
    rt: Runtime,
    web: SlackWeb,
    secret: AppSecret,
    message: dict[str, Any],
    remaining: Callable[[], float],
    *,
    thread: SlackMessage | None = None,
    broadcast: bool = False,
) -> Posted:
    """chat.postMessage of `message` ({"text", "blocks"}): to the secret's channel, or as a
    reply in `thread` (sent to the channel too with `broadcast`)."""
    return _call(  # type: ignore[no-any-return]
        rt,
        lambda: web.post(
            token=secret.bot_token,
            channel=thread.channel if thread is not None else secret.channel,
            text=message["text"],
            blocks=message["blocks"],
            thread_ts=thread.ts if thread is not None else None,
            reply_broadcast=broadcast,
            remaining=remaining,
            policy=rt.slack_policy,
            sleep=rt.sleep,
        ),
    )


def _call(rt: Runtime, call: Callable[[], Any]) -> Any:
    try:
        return call()
    except SlackAppRejected:
        # The fix (a new token, another channel) is made in the secret: read it again.
        clear_cached_secret(rt.secrets)
        metrics.add_metric(name="SlackRejected", unit=MetricUnit.Count, value=1)
        raise


def _release(rt: Runtime, command_id: str, token: str) -> None:
    ledger = rt.ledger
    if ledger is None:
        return
    try:
        store.release_slack_message(ledger.client, ledger.table, command_id, token)
    except Exception:
        logger.exception("could not give the message's lease back; it expires on its own")


def _skipped(command_id: str, why: str) -> dict[str, Any]:
    logger.info("no start message", extra={"why": why})
    metrics.add_metric(name="NotificationSkipped", unit=MetricUnit.Count, value=1)
    return {"command_id": command_id, "skipped": "InProgress", "why": why}
