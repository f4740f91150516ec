"""A press of the Slack app's button, or its slash command, as the dispatcher receives it: Slack's signed request, as
API Gateway HTTP API (payload format 2.0) hands it to Lambda.

Slack posts interactions as application/x-www-form-urlencoded with one field, `payload`, the
JSON of the interaction (api.slack.com, "Handling user interaction"), and signs them with the
app's signing secret: X-Slack-Signature = "v0=" + hex HMAC-SHA256 of
"v0:{X-Slack-Request-Timestamp}:{raw body}" ("Verifying requests from Slack"). HTTP API gives
the headers lower-cased and, for a form body, base64-encodes it and says so in
isBase64Encoded. The signature is computed here by hand, not with slack_sdk, so that a test
of the dispatcher's check does not use the code it checks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

ROUTE_KEY = "POST /slack/actions"
PATH = "/slack/actions"
API_ID = "a1b2c3d4e5"
# What the button carries (the notifier's alert, docs/design.md): block and action ids.
RETRY_BLOCK_ID = "apcu_retry"
RETRY_ACTION_ID = "retry"
# Where Slack takes the answers to one interaction; a test gives the stand-in's own
# (harness.slack_web_api.SlackWebApi.response_url), so that nothing leaves 127.0.0.1.
RESPONSE_URL = "https://hooks.slack.com/actions/T0APCU/1/abcdefABCDEF"


def signature(signing_secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def block_actions_payload(
    *,
    command_id: str,
    user_id: str = "U0123ABCD",
    user_name: str = "alice",
    channel: str = "C0APCUFLUSH",
    message_ts: str = "1764741600.000100",
    message: dict[str, Any] | None = None,
    action_id: str = RETRY_ACTION_ID,
    block_id: str = RETRY_BLOCK_ID,
    response_url: str = RESPONSE_URL,
) -> dict[str, Any]:
    """The block_actions payload of one press of the retry button, with Slack's fields."""
    if message is None:
        message = alert_message(command_id)
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": "T0APCU"},
        "api_app_id": "A0APCUFLUSH",
        "token": "deprecatedverificationtoken",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": "1764741601.1234567890.abcdef0123456789",
        "team": {"id": "T0APCU", "domain": "example"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": "apcu-flush"},
        "message": {"type": "message", "ts": message_ts, **message},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": "Clear the 2 stale instances again"},
                "value": command_id,
                "type": "button",
                "action_ts": "1764741601.234567",
            }
        ],
    }


def alert_message(command_id: str) -> dict[str, Any]:
    """An alert as the notifier posts it, reduced to what a press reads: text, a section and
    the button."""
    return {
        "text": f"web-prod: 2 of 3 servers still hold the old cache (command {command_id})",
        "blocks": [
            {
                "type": "section",
                "block_id": "verdict",
                "text": {
                    "type": "mrkdwn",
                    "text": "*web-prod*: 2 of 3 servers still hold the old cache",
                },
            },
            {
                "type": "actions",
                "block_id": RETRY_BLOCK_ID,
                "elements": [
                    {
                        "type": "button",
                        "action_id": RETRY_ACTION_ID,
                        "text": {"type": "plain_text", "text": "Clear the 2 stale instances again"},
                        "value": command_id,
                    }
                ],
            },
        ],
    }


def form_body(payload: dict[str, Any]) -> bytes:
    """The request body Slack sends: payload=<JSON>, form-encoded."""
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()


def slash_command_body(
    text: str,
    *,
    user_id: str = "U0123ABCD",
    user_name: str = "alice",
    response_url: str = "https://hooks.slack.com/commands/T0APCU/1/abcdefABCDEF",
) -> bytes:
    """The body of `/apcu-flush <text>` as Slack posts a slash command: form fields
    (api.slack.com, "Slash commands")."""
    return urlencode(
        {
            "token": "deprecatedverificationtoken",
            "team_id": "T0APCU",
            "team_domain": "example",
            "channel_id": "C0APCUFLUSH",
            "channel_name": "apcu-flush",
            "user_id": user_id,
            "user_name": user_name,
            "command": "/apcu-flush",
            "text": text,
            "api_app_id": "A0APCUFLUSH",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": "1764741601.1234567890.abcdef0123456789",
        }
    ).encode()


def request_event(
    body: bytes,
    *,
    signing_secret: str | None,
    timestamp: int | None = None,
    is_base64: bool = True,
    signature_override: str | None = None,
    region: str = "us-east-1",
) -> dict[str, Any]:
    """The HTTP API event of a POST /slack/actions with this body, signed with
    `signing_secret` at `timestamp` (now by default). `signing_secret` None sends no
    signature headers at all; `signature_override` sends that header instead of the right one."""
    when = str(int(time.time()) if timestamp is None else timestamp)
    headers = {
        "accept": "application/json,*/*",
        "accept-encoding": "gzip,deflate",
        "content-length": str(len(body)),
        "content-type": "application/x-www-form-urlencoded",
        "host": f"{API_ID}.execute-api.{region}.amazonaws.com",
        "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        "x-amzn-trace-id": "Root=1-692fb7a1-0123456789abcdef01234567",
        "x-forwarded-for": "203.0.113.20",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    if signing_secret is not None:
        headers["x-slack-request-timestamp"] = when
        headers["x-slack-signature"] = signature_override or signature(signing_secret, when, body)
    return {
        "version": "2.0",
        "routeKey": ROUTE_KEY,
        "rawPath": PATH,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": API_ID,
            "domainName": f"{API_ID}.execute-api.{region}.amazonaws.com",
            "domainPrefix": API_ID,
            "http": {
                "method": "POST",
                "path": PATH,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.20",
                "userAgent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            },
            "requestId": "Zq4lviOtoAMEcZx=",
            "routeKey": ROUTE_KEY,
            "stage": "$default",
            "time": "03/Dec/2026:06:40:01 +0000",
            "timeEpoch": int(when) * 1000,
        },
        "body": base64.b64encode(body).decode() if is_base64 else body.decode(),
        "isBase64Encoded": is_base64,
    }


def press_event(
    command_id: str,
    *,
    signing_secret: str | None,
    timestamp: int | None = None,
    is_base64: bool = True,
    region: str = "us-east-1",
    **payload: Any,
) -> dict[str, Any]:
    """One signed press of the retry button on the alert of `command_id`."""
    body = form_body(block_actions_payload(command_id=command_id, **payload))
    return request_event(
        body, signing_secret=signing_secret, timestamp=timestamp, is_base64=is_base64, region=region
    )


def slash_command_event(
    text: str,
    *,
    signing_secret: str | None,
    timestamp: int | None = None,
    user_id: str = "U0123ABCD",
    user_name: str = "alice",
    response_url: str = "https://hooks.slack.com/commands/T0APCU/1/abcdefABCDEF",
) -> dict[str, Any]:
    """`/apcu-flush <text>`, signed, as the HTTP API delivers it."""
    body = slash_command_body(text, user_id=user_id, user_name=user_name, response_url=response_url)
    return request_event(body, signing_secret=signing_secret, timestamp=timestamp)
