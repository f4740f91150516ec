"""POST /slack/actions: a press of the Slack app's retry button.

The route has no IAM authorisation (Slack cannot sign SigV4), so Slack's own signature is the
first thing checked, before the body is parsed or anything is read but the app secret: the v0
HMAC-SHA256 of "v0:{timestamp}:{raw body}" with the signing secret, compared in constant time,
and a timestamp within 5 minutes (api.slack.com, "Verifying requests from Slack";
slack_sdk.signature.SignatureVerifier does both). A request that fails gets 401 and nothing
else happens.

A signed press of "retry" by someone in SLACK_ALLOWED_USERS runs the same retry as
POST /flush/{commandId}/retry (apcu_dispatcher.retry), then shows on the message who asked and
which command was sent; the retry's own verdict updates that message later (the notifier).
Everything else signed is answered 200 (Slack shows an error for any other status) with an
ephemeral message where the presser should know why nothing happened. The slash command
`/apcu-flush clear <group> [prefix]` comes on the same route (apcu_dispatcher.slack_command).

Never logged: the token, the signing secret, the raw body, the signature.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from aws_lambda_powertools import Logger

from apcu_dispatcher.budget import Remaining
from apcu_dispatcher.clients import Clients
from apcu_dispatcher.config import Config
from apcu_dispatcher.errors import Refusal
from apcu_dispatcher.retry import retry
from apcu_dispatcher.slack_command import is_slash_command, requester_of, run_command
from apcu_dispatcher.status import command_id_of

if TYPE_CHECKING:
    from apcu_dispatcher.slack_client import SlackApp

from apcu_clear.slack_app import RETRY_ACTION_ID, RETRY_BLOCK_ID, AppSecretError

# The context line that replaces the button once someone asked for the retry.
ASKED_BLOCK_ID = "apcu_retry_asked"
# Slack's 5-minute window for X-Slack-Request-Timestamp (api.slack.com, "Verifying requests").
MAX_CLOCK_SKEW_SECONDS = 300
# An interaction payload carries the whole message (up to 50 blocks of up to 3,000 characters);
# anything much larger is not Slack's, and is refused before the HMAC is even computed.
MAX_BODY_BYTES = 256 * 1024
# A v0 signature is "v0=" and 64 hex digits; anything else is refused before it is compared
# (slack_sdk compares str with hmac.compare_digest, which raises on non-ASCII text).
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")

logger = Logger(service="apcu-dispatcher", child=True)


@dataclass(frozen=True)
class Press:
    """One press of the retry button, from a verified block_actions payload."""

    user_id: str
    user_name: str
    channel: str
    message_ts: str
    # The button's value: the clear's first command id, not yet checked.
    value: str
    message: dict[str, Any]

    @property
    def requester(self) -> str:
        """Who asked, as the command's Comment and the record name them."""
        return requester_of(self.user_id, self.user_name)


@dataclass(frozen=True)
class SlackAnswer:
    """The HTTP answer to Slack, and the metric it counts."""

    status: int
    outcome: str
    # A refusal's rule and message, in the API's error shape (responses.refused).
    rule: str | None = None
    message: str | None = None
    # The ephemeral reply to a slash command, shown to the person who typed it only.
    reply: str | None = None

    def for_api(self) -> dict[str, Any]:
        # Slack reads only the status of a 200; an error says why to whoever calls by hand.
        if self.reply is not None:
            body = json.dumps({"response_type": "ephemeral", "text": self.reply})
        elif self.message:
            body = json.dumps(
                {"error": {"status": self.status, "rule": self.rule, "message": self.message}}
            )
        else:
            body = ""
        return {
            "statusCode": self.status,
            "headers": {"content-type": "application/json"},
            "body": body,
        }


def handle_slack_request(
    event: dict[str, Any],
    config: Config,
    aws: Clients,
    slack: Callable[[], SlackApp],
    remaining: Remaining,
    now: Callable[[], float] = time.time,
) -> SlackAnswer:
    if not config.slack.is_app:
        # The route exists in every mode (template.yaml); in webhook mode it reads nothing.
        logger.info("Slack request refused: SLACK_MODE is not app")
        return SlackAnswer(
            404, "SlackAppOff", "slack-app-off", "Slack app mode is not enabled on this stack"
        )
    raw = raw_body(event)
    if raw is None:
        logger.info("Slack request refused: no body, not base64, or too large")
        return SlackAnswer(400, "SlackRejected", "slack-body", "not a Slack request body")
    try:
        app = slack()
    except AppSecretError as error:
        # Not the caller's fault, and nothing a retry of theirs changes: 503, logged as an
        # error with its metric (SlackAppSecretUnusable), so the operator fills the secret.
        logger.error(
            "Slack request not checked: the app secret is unusable", extra={"why": str(error)}
        )
        return SlackAnswer(
            503, "SlackAppSecretUnusable", "slack-app-secret", "the Slack app is not set up yet"
        )
    reason = signature_problem(event, raw, app, now())
    if reason is not None:
        logger.warning("Slack request refused: signature check failed", extra={"reason": reason})
        return SlackAnswer(
            401, "SlackUnauthorized", "slack-signature", "invalid or missing Slack signature"
        )
    form = parse_form(raw)
    if is_slash_command(form):
        reply = run_command(form, config, aws, remaining)
        logger.info(
            "slash command answered",
            extra={"slack_user": form.get("user_id", [""])[0][:20], "outcome": reply.outcome},
        )
        return SlackAnswer(200, reply.outcome, reply=reply.text)
    press = parse_press(form)
    if press is None:
        logger.info("Slack request ignored: not a press of the retry button")
        return SlackAnswer(200, "SlackIgnored")
    return act(press, config, aws, app, remaining)


def raw_body(event: dict[str, Any]) -> bytes | None:
    """The body exactly as Slack signed it: API Gateway base64-encodes a form body and says
    so in isBase64Encoded."""
    body = event.get("body")
    if not isinstance(body, str) or not body:
        return None
    if len(body) > MAX_BODY_BYTES * (4 / 3 if event.get("isBase64Encoded") else 1):
        return None
    if event.get("isBase64Encoded") is True:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return None
    return body.encode("utf-8")


def signature_problem(event: dict[str, Any], raw: bytes, app: SlackApp, now: float) -> str | None:
    """Why the request is not Slack's, or None. The reason is logged; the values never."""
    # HTTP API passes header names lower-cased; a Lambda Function URL or a test may not.
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    timestamp = headers.get("x-slack-request-timestamp")
    signature = headers.get("x-slack-signature")
    if not isinstance(timestamp, str) or not isinstance(signature, str) or not signature:
        return "missing"
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return "malformed-timestamp"
    if not _SIGNATURE.fullmatch(signature):
        return "malformed-signature"
    try:
        # SignatureVerifier decodes the body as UTF-8; a body Slack sent always is.
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return "malformed-body"
    # SignatureVerifier checks the window too; checked here first to say which failed.
    if abs(now - int(timestamp)) > MAX_CLOCK_SKEW_SECONDS:
        return "stale-timestamp"
    if not app.verifier.is_valid(raw, timestamp, signature):
        return "mismatch"
    return None


def parse_form(raw: bytes) -> dict[str, list[str]]:
    """The form fields Slack posts (application/x-www-form-urlencoded); none if not a form."""
    try:
        return parse_qs(raw.decode("utf-8"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError):
        return {}


def parse_press(form: dict[str, list[str]]) -> Press | None:
    """A press of the retry button, or None for any other interaction or form."""
    try:
        payload: Any = json.loads(form["payload"][0])
    except (KeyError, IndexError, ValueError):
        return None
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        return None
    actions = payload.get("actions")
    pressed = [
        a
        for a in (actions if isinstance(actions, list) else [])
        if isinstance(a, dict)
        and a.get("action_id") == RETRY_ACTION_ID
        and a.get("block_id") == RETRY_BLOCK_ID
    ]
    user = payload.get("user")
    container = payload.get("container")
    if not pressed or not isinstance(user, dict) or not isinstance(container, dict):
        return None
    user_id, channel, ts = user.get("id"), container.get("channel_id"), container.get("message_ts")
    if not all(isinstance(v, str) and v for v in (user_id, channel, ts)):
        return None
    name = user.get("username") or user.get("name") or ""
    message = payload.get("message")
    return Press(
        user_id=str(user_id),
        user_name=str(name),
        channel=str(channel),
        message_ts=str(ts),
        value=str(pressed[0].get("value") or ""),
        message=message if isinstance(message, dict) else {},
    )


def act(
    press: Press, config: Config, aws: Clients, app: SlackApp, remaining: Remaining
) -> SlackAnswer:
    where = {"slack_user": press.user_id, "command_id": press.value[:40]}
    if press.user_id not in config.slack_allowed_users:
        logger.info("retry press refused: user not in SLACK_ALLOWED_USERS", extra=where)
        tell(
            app,
            press,
            "You may not ask for a retry from Slack: your user id "
            f"{press.user_id} is not in the stack's SlackAllowedUsers. Nothing was sent.",
        )
        return SlackAnswer(200, "SlackNotAllowed")
    try:
        command_id = command_id_of({"pathParameters": {"commandId": press.value}})
        answer = retry(command_id, press.requester, config, aws, remaining)
    except Refusal as refusal:
        logger.info(
            "retry press refused",
            extra={**where, "status": refusal.status, "rule": refusal.rule},
        )
        tell(app, press, f"The retry was refused: {refusal.message}")
        return SlackAnswer(200, "SlackRetryRefused")
    retry_ids: list[str] = answer.body["commandIds"]
    logger.info(
        "retry sent from Slack",
        extra={**where, "retry_ids": retry_ids, "retried": len(answer.body["retried"])},
    )
    show_asked(app, press, retry_ids, len(answer.body["retried"]))
    return SlackAnswer(200, "SlackRetryAccepted")


def tell(app: SlackApp, press: Press, text: str) -> None:
    """An ephemeral message to the presser only. A failure is logged: the press is answered
    either way, and nothing depends on this message."""
    try:
        app.web.chat_postEphemeral(channel=press.channel, user=press.user_id, text=text)
    except Exception as error:
        logger.warning("ephemeral message not posted", extra={"error": _slack_error(error)})


def show_asked(app: SlackApp, press: Press, retry_ids: list[str], instances: int) -> None:
    """Update the pressed message in place: the button gives way to who asked and what was
    sent, so that nobody presses it again; the rest of the message is kept as it was."""
    line = asked_line(press, retry_ids, instances)
    original = press.message.get("text")
    text = f"{original} ({line})" if isinstance(original, str) and original else line
    try:
        app.web.chat_update(
            channel=press.channel,
            ts=press.message_ts,
            text=text,
            blocks=replace_button(press.message.get("blocks"), line),
        )
    except Exception as error:
        # The retry was sent: its verdict still updates the message (the notifier).
        logger.warning("pressed message not updated", extra={"error": _slack_error(error)})


def asked_line(press: Press, retry_ids: list[str], instances: int) -> str:
    commands = (
        retry_ids[0] if len(retry_ids) == 1 else f"{retry_ids[0]} and {len(retry_ids) - 1} more"
    )
    return (
        f"Retry asked by <@{press.user_id}>: command {commands} to {instances} "
        f"instance{'s' if instances != 1 else ''}; its verdict will update this message"
    )


def replace_button(blocks: object, line: str) -> list[dict[str, Any]]:
    """The message's blocks with the retry actions block replaced by a context line (added at
    the end if the button is not there any more)."""
    from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject

    context = ContextBlock(
        block_id=ASKED_BLOCK_ID, elements=[MarkdownTextObject(text=line)]
    ).to_dict()
    kept = [b for b in (blocks if isinstance(blocks, list) else []) if isinstance(b, dict)]
    kept = [b for b in kept if b.get("block_id") != ASKED_BLOCK_ID]
    if any(b.get("block_id") == RETRY_BLOCK_ID for b in kept):
        return [context if b.get("block_id") == RETRY_BLOCK_ID else b for b in kept]
    return [*kept, context]


def _slack_error(error: Exception) -> str:
    """Slack's error code or the exception's type: never the request, which holds the token."""
    response = getattr(error, "response", None)
    code = response.get("error") if response is not None and hasattr(response, "get") else None
    return str(code) if code else type(error).__name__
