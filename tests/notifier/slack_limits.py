"""Slack's Block Kit limits (docs.slack.dev reference: blocks, section, header, context)."""

from __future__ import annotations

import re
from typing import Any

MAX_BLOCKS = 50
HEADER_TEXT = 150
SECTION_TEXT = 3000
MAX_FIELDS = 10
FIELD_TEXT = 2000
MAX_CONTEXT_ELEMENTS = 10

# What Slack parses as a control sequence: a mention, a broadcast, or a link.
CONTROL = re.compile(r"<[!@#][^>]*>|<https?://[^>]*>")


def assert_within_slack_limits(payload: dict[str, Any]) -> None:
    assert isinstance(payload.get("text"), str) and payload["text"].strip(), (
        "top-level text missing"
    )
    blocks = payload["blocks"]
    assert 0 < len(blocks) <= MAX_BLOCKS
    for block in blocks:
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text"
            assert 0 < len(block["text"]["text"]) <= HEADER_TEXT
        elif block["type"] == "section":
            if "text" in block:
                assert 0 < len(block["text"]["text"]) <= SECTION_TEXT
            fields = block.get("fields", [])
            assert len(fields) <= MAX_FIELDS
            assert all(0 < len(f["text"]) <= FIELD_TEXT for f in fields)
            assert "text" in block or fields
        elif block["type"] == "context":
            assert 0 < len(block["elements"]) <= MAX_CONTEXT_ELEMENTS
        else:
            raise AssertionError(f"unexpected block type {block['type']}")


def control_sequences(text: str) -> list[str]:
    return CONTROL.findall(text)
