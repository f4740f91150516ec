"""`/apcu-flush clear <group> [prefix]`: the Slack app's slash command, on POST /slack/actions.

Called only once slack_actions has checked Slack's signature. The command's text becomes the
same body POST /flush takes ({"group", "action": "clear-apcu", "prefix"}), checked by the
same validator and sent by the same dispatch; the answer, in the API's words, goes back in
the HTTP response as an ephemeral message (api.slack.com, "Slash commands": a 200 whose JSON
body has response_type "ephemeral" is shown to the person who typed it only).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from apcu_dispatcher.budget import Remaining
from apcu_dispatcher.clients import Clients
from apcu_dispatcher.config import Config
from apcu_dispatcher.dispatch import dispatch
from apcu_dispatcher.errors import Refusal
from apcu_dispatcher.validation import CLEAR_APCU, ValidationError, validate_request

COMMAND = "/apcu-flush"
USAGE = f"Usage: {COMMAND} clear <group> [prefix], e.g. {COMMAND} clear web-prod config:"
# The longest command text read: a group name and a prefix are far shorter.
MAX_TEXT = 300
_MAX_NAME = 40


@dataclass(frozen=True)
class Reply:
    """What the person who typed the command reads, and the metric it counts."""

    text: str
    outcome: str


def is_slash_command(form: Mapping[str, list[str]]) -> bool:
    return form.get("command", [""])[0] == COMMAND


def requester_of(user_id: str, name: str) -> str:
    """Who asked from Slack, as the command's Comment and the record name them: the user id
    and, kept short and printable, the name Slack gave."""
    shown = "".join(c for c in name if c.isprintable())[:_MAX_NAME]
    return f"slack:{user_id} ({shown})" if shown else f"slack:{user_id}"


def unescape(text: str) -> str:
    """A slash command's text as typed: Slack escapes &, < and > in it (api.slack.com,
    "Formatting text for app surfaces: escaping text"); &amp; last, so that "&amp;lt;" stays
    "&lt;"."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def run_command(
    form: Mapping[str, list[str]], config: Config, aws: Clients, remaining: Remaining
) -> Reply:
    user_id = form.get("user_id", [""])[0]
    if user_id not in config.slack_allowed_users:
        return Reply(
            f"You may not clear from Slack: your user id {user_id or '(none)'} is not in the "
            "stack's SlackAllowedUsers. Nothing was sent.",
            "SlackNotAllowed",
        )
    words = unescape(form.get("text", [""])[0][:MAX_TEXT]).split()
    if len(words) not in (2, 3) or words[0] != "clear":
        return Reply(USAGE, "SlackCommandRejected")
    body = {"group": words[1], "action": CLEAR_APCU}
    if len(words) == 3:
        body["prefix"] = words[2]
    requester = requester_of(user_id, form.get("user_name", [""])[0])
    try:
        request = validate_request(body, allowed_groups=config.allowed_groups, requester=requester)
        answer, command_id = dispatch(request, config, aws, remaining)
    except ValidationError as refusal:
        return Reply(
            f"{refusal.status} {refusal.rule}: {refusal.message}\n{USAGE}", "SlackCommandRejected"
        )
    except Refusal as refusal:
        rule = f" {refusal.rule}" if refusal.rule else ""
        return Reply(f"{refusal.status}{rule}: {refusal.message}", "SlackCommandRefused")
    prefix = f" of the keys starting {request.prefix}" if request.prefix else ""
    expect = answer.body["expect"]
    lines = [
        f"202: clear{prefix} sent to {request.group} ({expect['inService']} InService), "
        f"command {command_id}; its verdict will be posted in the channel.",
        *(f"warning {w['reason']}: {w['message']}" for w in answer.body["warnings"]),
    ]
    return Reply("\n".join(lines), "SlackCommandAccepted")
