"""Stored Slack payloads, beside this file: the committed files are the expectation.

Run with UPDATE_SNAPSHOTS=1 to rewrite them after an intended change, then read the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

SNAPSHOTS = Path(__file__).resolve().parent

# Slack's Block Kit limits (docs.slack.dev reference: blocks, section, header, context).
MAX_BLOCKS = 50
HEADER_TEXT = 150
SECTION_TEXT = 3000
MAX_FIELDS = 10
FIELD_TEXT = 2000
MAX_CONTEXT_ELEMENTS = 10
BUTTON_TEXT = 75
# Not Slack's (it truncates at 40,000): the gist a phone's notification shows, which we keep short.
NOTIFICATION_TEXT = 3000
# What Slack parses as a control sequence: a mention, a broadcast, or a link.
CONTROL = re.compile(r"<[!@#][^>]*>|<https?://[^>]*>")


def entries(catalogue: object) -> dict[str, Any]:
    """Every entry of a message catalogue by name: its sentences, counts and tables."""
    return {name: getattr(catalogue, name) for name in dir(catalogue) if not name.startswith("_")}


def assert_snapshot(name: str, payload: dict[str, Any]) -> None:
    path = SNAPSHOTS / f"{name}.json"
    rendered = json.dumps(payload, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.write_text(rendered, encoding="utf-8")
        return
    assert path.exists(), f"no snapshot {path.name}; run with UPDATE_SNAPSHOTS=1 and review it"
    assert json.loads(path.read_text(encoding="utf-8")) == payload, (
        f"payload differs from {path.name}; if intended, run with UPDATE_SNAPSHOTS=1"
    )


def assert_within_slack_limits(payload: dict[str, Any]) -> None:
    assert isinstance(payload.get("text"), str) and payload["text"].strip(), "no top-level text"
    assert len(payload["text"]) <= NOTIFICATION_TEXT
    blocks = payload["blocks"]
    assert 0 < len(blocks) <= MAX_BLOCKS
    for block in blocks:
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text"
            assert 0 < len(block["text"]["text"]) <= HEADER_TEXT
        elif block["type"] == "section":
            if "text" in block:
                assert 0 < len(block["text"]["text"]) <= SECTION_TEXT
            found = block.get("fields", [])
            assert len(found) <= MAX_FIELDS
            assert all(0 < len(f["text"]) <= FIELD_TEXT for f in found)
            assert "text" in block or found
        elif block["type"] == "context":
            assert 0 < len(block["elements"]) <= MAX_CONTEXT_ELEMENTS
        elif block["type"] == "actions":
            assert all(0 < len(e["text"]["text"]) <= BUTTON_TEXT for e in block["elements"])
        else:
            raise AssertionError(f"unexpected block type {block['type']}")


def control_sequences(text: str) -> list[str]:
    return CONTROL.findall(text)


def plain(payload: dict[str, Any]) -> str:
    """Everything a reader sees in a payload, as one text."""
    parts = []
    for block in payload["blocks"]:
        if "text" in block:
            parts.append(block["text"]["text"])
        parts += [f["text"] for f in block.get("fields", [])]
        parts += [
            e["text"] if isinstance(e["text"], str) else e["text"]["text"]
            for e in block.get("elements", [])
        ]
    return "\n".join(parts)


# What stays as written in a Japanese message: SSM's and AWS's own names and words, the names of
# settings and files, and the zone abbreviations.
KEPT_IN_JAPANESE = frozenset(
    {
        "APCu", "OPcache", "SSM", "AWS", "Auto", "Scaling", "EC2", "Fleet", "Manager",
        "CloudTrail", "CancelCommand", "ALARM", "OK", "UNKNOWN", "AWSServiceRoleForAmazonSSM",
        "InService", "Pending", "Standby", "Hibernated", "Online", "MaxErrors", "Run", "Command",
        "Message", "JSON", "commandId", "SNS", "ClearOnWarmPoolExit", "WarmPoolUncleared",
        "php", "fpm", "opcache", "preload", "file_cache", "restrict_api", "enable",
        "validate_timestamps", "revalidate_freq", "docs", "deploy", "md", "Success", "Failed",
        "Cancelled", "Incomplete", "Undeliverable", "Delivery", "Execution", "Timed", "Out",
        "Access", "Denied", "Rate", "Exceeded", "No", "Instances", "In", "Tag", "Progress",
        "JST", "UTC", "Wait", "ID",
    }
)  # fmt: skip


def english_words(text: str, *values: str) -> list[str]:
    """The English left in a Japanese message, once code, links and the given values (names
    and words from the command and its request) are taken out."""
    text = re.sub(r"```.*?```|`[^`]*`|<[^>]*>", " ", text, flags=re.DOTALL)
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, " ")
    return [w for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]+", text) if w not in KEPT_IN_JAPANESE]
