"""POST /slack/actions: the Slack app's retry button, and its slash command
`/apcu-flush clear <group> [prefix]`.

Slack shows the presser an error unless it gets an answer within 3 seconds, and a clear (claim,
preflight, SendCommand) takes several AWS calls. So the route only checks who is asking, then
hands the request, as Slack signed it, to an asynchronous invocation of this function and
answers 200 at once: a slash command with an "on it" reply only its typist sees. The
asynchronous invocation (apcu_dispatcher.slack_work) checks the signature again, does the work,
and says what came of it through the request's response_url; the clear's own message shows the
retry's verdict when it comes.

The route has no IAM authorisation (Slack cannot sign SigV4): Slack's v0 signature, HMAC-SHA256
of "v0:{timestamp}:{raw body}" with the signing secret, compared in constant time within a
5-minute window (slack_sdk.signature.SignatureVerifier), is checked before anything else is
read but the app secret. Never logged: the token, the signing secret, the body, the signature.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from apcu_clear.errors import (
    InvalidRequest,
    NotFound,
    Unauthenticated,
    Unavailable,
)
from apcu_clear.observability import count, logger
from apcu_clear.slack_app import (
    RETRY_ACTION_ID,
    RETRY_BLOCK_ID,
    AppSecret,
    AppSecretError,
    read_app_secret,
)
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


@dataclass(frozen=True)
class Signed:
    """A request as Slack signed it."""

    body: str
    timestamp: str
    signature: str

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body, keep_blank_values=True)


@dataclass(frozen=True)
class Answer:
    """What Slack is answered (the request was taken): the outcome counted, and a body."""

    outcome: str
    body: dict[str, Any] | None = None


def answer(
    signed: Signed | None, rt: Runtime, function_arn: str, now: float | None = None
) -> Answer:
    """The route's answer, within Slack's 3 s: check, hand off, say so. A request that is not
    Slack's, or that this stack cannot check, is refused (a Refusal)."""
    if not rt.config.shared.slack.is_app:
        count("SlackAppOff")
        raise NotFound("Slack app mode is not enabled on this stack", rule="slack-app-off")
    if signed is None:
        count("SlackRejected")
        raise InvalidRequest("not a Slack request body", rule="slack-body")
    try:
        secret = secret_of(rt)
    except AppSecretError as error:
        logger.error(
            "Slack request not checked: the app secret is unusable", extra={"why": str(error)}
        )
        count("SlackAppSecretUnusable")
        raise Unavailable("the Slack app is not set up yet", rule="slack-app-secret") from None
    problem = signature_problem(signed, secret, time.time() if now is None else now)
    if problem is not None:
        logger.warning("Slack request refused: signature check failed", extra={"reason": problem})
        count("SlackUnauthorized")
        raise Unauthenticated("invalid or missing Slack signature", rule="slack-signature")
    form = signed.form()
    user = user_of(form)
    command = form.get("command", [""])[0] == COMMAND
    if not command and press_of(form) is None:
        return Answer("SlackIgnored")
    if user not in rt.config.slack_allowed_users:
        text = f"You may not clear from Slack: your user id {user or '(none)'} is not in the stack's SlackAllowedUsers. Nothing was sent."
        if command:
            return Answer("SlackNotAllowed", {"response_type": "ephemeral", "text": text})
        tell(form, text)
        return Answer("SlackNotAllowed")
    rt.lambda_.invoke(
        FunctionName=function_arn,
        InvocationType="Event",
        Payload=json.dumps(
            {
                WORK: {
                    "body": signed.body,
                    "timestamp": signed.timestamp,
                    "signature": signed.signature,
                }
            }
        ).encode(),
    )
    if command:
        return Answer(
            "SlackCommandTaken",
            {"response_type": "ephemeral", "text": "On it: the answer follows here in a moment."},
        )
    return Answer("SlackPressTaken")


def signed_request(body: str | None, headers: dict[str, str]) -> Signed | None:
    """The body exactly as Slack signed it (API Gateway's base64 already decoded), and the
    signature's headers; None for a body that is no Slack request's."""
    if not body or len(body) > MAX_BODY_BYTES:
        return None
    lower = {str(k).lower(): v for k, v in headers.items()}
    return Signed(
        body,
        str(lower.get("x-slack-request-timestamp", "")),
        str(lower.get("x-slack-signature", "")),
    )


def signature_problem(signed: Signed, secret: AppSecret, now: float) -> str | None:
    """Why the request is not Slack's, or None. The reason is logged; the values never."""
    from slack_sdk.signature import SignatureVerifier

    if not signed.timestamp or not signed.signature:
        return "missing"
    if (
        not signed.timestamp.isascii()
        or not signed.timestamp.isdigit()
        or len(signed.timestamp) > 12
    ):
        return "malformed-timestamp"
    if not _SIGNATURE.fullmatch(signed.signature):
        return "malformed-signature"
    # SignatureVerifier checks the window too; checked here first to say which failed.
    if abs(now - int(signed.timestamp)) > MAX_CLOCK_SKEW_SECONDS:
        return "stale-timestamp"
    if not SignatureVerifier(secret.signing_secret).is_valid(
        signed.body.encode(), signed.timestamp, signed.signature
    ):
        return "mismatch"
    return None


def press_of(form: dict[str, list[str]]) -> dict[str, Any] | None:
    """A press of the retry button (its value, channel, message), or None."""
    try:
        payload: Any = json.loads(form["payload"][0])
    except (KeyError, IndexError, ValueError):
        return None
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        return None
    actions: list[Any] = payload["actions"] if isinstance(payload.get("actions"), list) else []
    pressed = [
        a
        for a in actions
        if isinstance(a, dict)
        and a.get("action_id") == RETRY_ACTION_ID
        and a.get("block_id") == RETRY_BLOCK_ID
    ]
    container: dict[str, Any] = (
        payload["container"] if isinstance(payload.get("container"), dict) else {}
    )
    if not pressed or not container.get("channel_id") or not container.get("message_ts"):
        return None
    message: dict[str, Any] = payload["message"] if isinstance(payload.get("message"), dict) else {}
    return {
        "value": str(pressed[0].get("value") or ""),
        "channel": str(container["channel_id"]),
        "ts": str(container["message_ts"]),
        "message": message,
    }


def tell(form: dict[str, list[str]], text: str) -> None:
    """An ephemeral answer on the request's response_url. A failure is logged: nothing depends
    on it, and the clear's message says the outcome anyway."""
    from slack_sdk.webhook import WebhookClient

    url = _response_url(form)
    if url is None:
        return
    try:
        sent = WebhookClient(url, timeout=TIMEOUT_SECONDS).send(
            text=text, response_type="ephemeral", replace_original=False
        )
        if sent.status_code >= 300:
            logger.warning("response_url answer refused", extra={"status": sent.status_code})
    except Exception as error:
        logger.warning("response_url answer not sent", extra={"error": type(error).__name__})


def secret_of(rt: Runtime) -> AppSecret:
    try:
        return read_app_secret(rt.secrets, rt.config.shared.slack.secret_arn)
    except AppSecretError:
        # A placeholder or a broken value is not kept for the cache's quarter of an hour: once
        # the operator fills the secret, the next request reads it.
        rt.secrets.clear_cache()  # type: ignore[no-untyped-call]
        raise


def user_of(form: dict[str, list[str]]) -> str:
    if "user_id" in form:
        return form["user_id"][0]
    try:
        payload = json.loads(form["payload"][0])
        return str(payload.get("user", {}).get("id", ""))
    except (KeyError, IndexError, ValueError, AttributeError):
        return ""


def _response_url(form: dict[str, list[str]]) -> str | None:
    url = form.get("response_url", [""])[0]
    if not url:
        try:
            url = str(json.loads(form["payload"][0]).get("response_url", ""))
        except (KeyError, IndexError, ValueError, AttributeError):
            url = ""
    # The URL comes from the request whose signature was checked: it is Slack's.
    return url if url.startswith(("https://", "http://")) else None
