"""POST /slack/actions: the app's retry button and `/apcu-flush clear <group> [prefix]`, checked
(signature, user), handed to an asynchronous invocation and answered within Slack's 3 seconds
(docs/design.md, Slack). Never logged: the token, the signing secret, the body, the signature."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any
from urllib.parse import parse_qs

from apcu_clear import slack_app
from apcu_clear.observability import count, logger
from apcu_clear.slack_app import AppSecret, AppSecretError
from apcu_dispatcher import recorded, refusals, sending, validation
from apcu_dispatcher.runtime import Runtime

COMMAND = "/apcu-flush"
USAGE = f"Usage: {COMMAND} clear <group> [prefix], e.g. {COMMAND} clear web-prod config:"
WORK = "slackRequest"
# Slack's window for X-Slack-Request-Timestamp; an interaction payload is far below this size.
MAX_CLOCK_SKEW_SECONDS = 300
MAX_BODY_BYTES = 256 * 1024
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
# Web API and response_url calls from a route that answers within Slack's 3 s.
TIMEOUT_SECONDS = 2
ASKED_BLOCK_ID = "apcu_retry_asked"
_MAX_TEXT = 300
_MAX_NAME = 40
# A context block's text holds at most 3,000 characters (Block Kit reference).
_MAX_LINE = 3000


@dataclass(frozen=True)
class Signed:
    body: str
    timestamp: str
    signature: str


@dataclass(frozen=True)
class Press:
    # The clear it retries, and the message it is in.
    value: str
    channel: str
    ts: str
    message: dict[str, Any]


@dataclass(frozen=True)
class Asked:
    user: str
    # Who asked, as a command's Comment and the record name them.
    requester: str
    response_url: str | None
    # The slash command's text, as Slack escaped it; None for anything else.
    command: str | None
    press: Press | None

    @classmethod
    def of(cls, body: str) -> Asked:
        field = {name: values[0] for name, values in parse_qs(body, keep_blank_values=True).items()}
        try:
            payload = _object(json.loads(field.get("payload", "")))
        except ValueError:
            payload = {}
        user = _object(payload.get("user"))
        user_id = field["user_id"] if "user_id" in field else str(user.get("id", ""))
        name = field.get("user_name") or str(user.get("username") or user.get("name") or "")
        shown = "".join(c for c in name if c.isprintable())[:_MAX_NAME]
        # The URL comes from the request whose signature was checked: it is Slack's.
        url = field.get("response_url") or str(payload.get("response_url") or "")
        return cls(
            user_id,
            f"slack:{user_id} ({shown})" if shown else f"slack:{user_id}",
            url if url.startswith(("https://", "http://")) else None,
            field.get("text", "") if field.get("command") == COMMAND else None,
            _press(payload),
        )


def answer(
    signed: Signed | None, rt: Runtime, function_arn: str
) -> tuple[str, dict[str, Any] | None]:
    """The outcome to count and the body to answer; refused when not Slack's, or not checkable."""
    if not rt.config.shared.slack.is_app:
        count("SlackAppOff")
        raise refusals.NotFound("Slack app mode is not enabled on this stack", rule="slack-app-off")
    if signed is None:
        count("SlackRejected")
        raise refusals.InvalidRequest("not a Slack request body", rule="slack-body")
    try:
        secret = secret_of(rt)
    except AppSecretError as error:
        logged = {"why": str(error)}
        logger.error("Slack request not checked: the app secret is unusable", extra=logged)
        count("SlackAppSecretUnusable")
        why = "the Slack app is not set up yet"
        raise refusals.Unavailable(why, rule="slack-app-secret") from None
    problem = signature_problem(signed, secret)
    if problem is not None:
        logger.warning("Slack request refused: signature check failed", extra={"reason": problem})
        count("SlackUnauthorized")
        raise refusals.Unauthenticated("invalid or missing Slack signature", rule="slack-signature")
    asked = Asked.of(signed.body)
    if asked.command is None and asked.press is None:
        return "SlackIgnored", None
    if asked.user not in rt.config.slack_allowed_users:
        text = f"You may not clear from Slack: your user id {asked.user or '(none)'} is not in the stack's SlackAllowedUsers. Nothing was sent."
        if asked.command is not None:
            return "SlackNotAllowed", {"response_type": "ephemeral", "text": text}
        tell(asked, text)
        return "SlackNotAllowed", None
    payload = json.dumps({WORK: asdict(signed)}).encode()
    rt.lambda_.invoke(FunctionName=function_arn, InvocationType="Event", Payload=payload)
    if asked.command is None:
        return "SlackPressTaken", None
    on_it = "On it: the answer follows here in a moment."
    return "SlackCommandTaken", {"response_type": "ephemeral", "text": on_it}


def work(event: dict[str, Any], rt: Runtime) -> str:
    """The request checked again, done, and answered on response_url; the outcome to count."""
    raw = event[WORK] if isinstance(event[WORK], dict) else {}
    signed = Signed(**{name: str(raw.get(name, "")) for name in ("body", "timestamp", "signature")})
    secret = secret_of(rt)
    problem = signature_problem(signed, secret)
    if problem is not None:
        logger.warning("Slack work refused: signature check failed", extra={"reason": problem})
        return "SlackUnauthorized"
    asked = Asked.of(signed.body)
    if asked.user not in rt.config.slack_allowed_users:
        return "SlackNotAllowed"
    try:
        if asked.press is not None:
            # The button gives way before the retry starts: from then on only the retry's own
            # clear writes to this message, so its verdict is never overwritten by this update.
            line = f"Retry asked by <@{asked.user}>; its verdict will update this message"
            _show_asked(rt, secret, asked.press, line)
            started = recorded.retry(asked.press.value, asked.requester, rt, origin="slack")
            retried = len(started["retried"])
            to = f"{retried} instance{'s' if retried != 1 else ''}"
            said = f"clear {started['commandId']} to {to}; its verdict will update this message"
            tell(asked, f"Retry asked by <@{asked.user}>: {said}")
            return "SlackRetryAccepted"
        words = unescape((asked.command or "")[:_MAX_TEXT]).split()
        if len(words) not in (2, 3) or words[0] != "clear":
            tell(asked, USAGE)
            return "SlackCommandRejected"
        body = {"group": words[1], "action": validation.CLEAR_APCU}
        if len(words) == 3:
            body["prefix"] = words[2]
        request = validation.validate_request(
            body, allowed_groups=rt.config.shared.allowed_groups, requester=asked.requester
        )
        done = sending.clear_group(replace(request, origin="slack"), rt)
        prefix = f" of the keys starting {request.prefix}" if request.prefix else ""
        in_service = done["expect"]["inService"]
        said = f"202: clear{prefix} sent to {request.group} ({in_service} InService), command {done['commandId']}; its verdict will be posted in the channel."
        warnings = [f"warning {w['reason']}: {w['message']}" for w in done["warnings"]]
        tell(asked, "\n".join([said, *warnings]))
        return "SlackCommandAccepted"
    except Exception as error:
        # A refusal, or AWS failing in a way the presser may try again: said on response_url.
        # Anything else is the function's fault, raised so that Lambda tries the event again.
        refusal = refusals.as_refusal(error)
        if refusal is None:
            raise
        if asked.press is not None and refusal.rule != refusals.CLEAR_IN_PROGRESS:
            # Nothing was started: the button comes back, with why. A clear in progress may be
            # this very retry (Lambda's retry of this event): its message is left to it.
            line = f"Retry asked by <@{asked.user}> refused: {refusal.message}"
            _show_asked(rt, secret, asked.press, line, button=True)
        usage = f"\n{USAGE}" if asked.press is None else ""
        tell(asked, f"Refused ({refusal.rule}): {refusal.message}{usage}")
        return "SlackRefused"


def signed_request(body: str | None, headers: Mapping[str, str]) -> Signed | None:
    """The body as Slack signed it (base64 already decoded), None for one that is no Slack's."""
    if not body or len(body) > MAX_BODY_BYTES:
        return None
    timestamp, signature = "x-slack-request-timestamp", "x-slack-signature"
    return Signed(body, headers.get(timestamp, ""), headers.get(signature, ""))


def signature_problem(signed: Signed, secret: AppSecret) -> str | None:
    """Why the request is not Slack's, or None (docs/facts.md, Slack: the v0 signature)."""
    from slack_sdk.signature import SignatureVerifier

    if not signed.timestamp or not signed.signature:
        return "missing"
    if not re.fullmatch(r"[0-9]{1,12}", signed.timestamp):
        return "malformed-timestamp"
    if not _SIGNATURE.fullmatch(signed.signature):
        return "malformed-signature"
    # SignatureVerifier checks the window too; checked here first to say which failed.
    if abs(time.time() - int(signed.timestamp)) > MAX_CLOCK_SKEW_SECONDS:
        return "stale-timestamp"
    verifier = SignatureVerifier(secret.signing_secret)
    if not verifier.is_valid(signed.body.encode(), signed.timestamp, signed.signature):
        return "mismatch"
    return None


def tell(asked: Asked, text: str) -> None:
    """An ephemeral answer on response_url; a failure is only logged (the clear's message says)."""
    from slack_sdk.webhook import WebhookClient

    if asked.response_url is None:
        return
    try:
        webhook = WebhookClient(asked.response_url, timeout=TIMEOUT_SECONDS)
        sent = webhook.send(text=text, response_type="ephemeral", replace_original=False)
        if sent.status_code >= 300:
            logger.warning("response_url answer refused", extra={"status": sent.status_code})
    except Exception as error:
        logger.warning("response_url answer not sent", extra={"error": type(error).__name__})


def secret_of(rt: Runtime) -> AppSecret:
    try:
        return slack_app.read_app_secret(rt.secrets, rt.config.shared.slack.secret_arn)
    except AppSecretError:
        # A placeholder or a broken value is not kept for the cache's quarter of an hour: once
        # the operator fills the secret, the next request reads it.
        rt.secrets.clear_cache()  # type: ignore[no-untyped-call]
        raise


def _press(payload: dict[str, Any]) -> Press | None:
    if payload.get("type") != "block_actions" or not isinstance(payload.get("actions"), list):
        return None
    ours = {"action_id": slack_app.RETRY_ACTION_ID, "block_id": slack_app.RETRY_BLOCK_ID}
    pressed = [a for a in payload["actions"] if isinstance(a, dict) and ours.items() <= a.items()]
    where = _object(payload.get("container"))
    if not pressed or not where.get("channel_id") or not where.get("message_ts"):
        return None
    message = _object(payload.get("message"))
    value = str(pressed[0].get("value") or "")
    return Press(value, str(where["channel_id"]), str(where["message_ts"]), message)


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def unescape(text: str) -> str:
    """A slash command's text as typed: Slack escapes &, < and >; &amp; last."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _show_asked(
    rt: Runtime, secret: AppSecret, press: Press, line: str, *, button: bool = False
) -> None:
    """The pressed message with `line` in place of its button, or under it (`button` stays)."""
    from slack_sdk import WebClient

    gone = {ASKED_BLOCK_ID} if button else {ASKED_BLOCK_ID, slack_app.RETRY_BLOCK_ID}
    kept = [b for b in press.message.get("blocks", []) if isinstance(b, dict)]
    blocks = [b for b in kept if b.get("block_id") not in gone]
    context = {"type": "mrkdwn", "text": line[:_MAX_LINE]}
    blocks.append({"type": "context", "block_id": ASKED_BLOCK_ID, "elements": [context]})
    original = press.message.get("text")
    text = f"{original} ({line})" if isinstance(original, str) and original else line
    api_url = rt.config.shared.slack.api_url
    try:
        client = WebClient(
            token=secret.bot_token, base_url=api_url, timeout=TIMEOUT_SECONDS, retry_handlers=[]
        )
        client.chat_update(channel=press.channel, ts=press.ts, text=text, blocks=blocks)
    except Exception as error:
        logger.warning("pressed message not updated", extra={"error": type(error).__name__})
