"""One validator for console events and API bodies: a FlushRequest, or a refusal naming the rule.
Only values that pass here reach SendCommand, so every rule is strict."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from apcu_clear.command import CACHES
from apcu_clear.record import LifecycleHold
from apcu_dispatcher.refusals import InvalidRequest

# The prefix rule shared with apcu.php and the SSM document (template.yaml's FlushDocument).
PREFIX_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"
# The document's parameter also takes "" for "clear everything".
DOCUMENT_PREFIX_PATTERN = "^$|" + PREFIX_PATTERN
# What the SSM document's `action` parameter allows.
ACTIONS = frozenset(CACHES)
CLEAR_APCU = "clear-apcu"
RESET_OPCACHE = "reset-opcache"
# Said by the dispatcher, the CLI (cli/apcu_flush/cli.py) and the document's script alike.
PREFIX_WITH_OPCACHE = "prefix applies to APCu keys only, and OPcache has no key prefixes: leave prefix out with reset-opcache (clear-all clears the prefixed APCu keys and resets all of OPcache)"
MAX_COMMENT_LENGTH = 80
MAX_BODY_BYTES = 4096
FIELDS = ("group", "action", "prefix", "comment", "dryRun")
# Enough to show every group of a usual stack, few enough to keep a refusal one readable line.
_GROUPS_LISTED = 10
_BODY = "body"
_JSON_TYPES: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (type(None), "null"),
    (bool, "a boolean"),
    ((int, float), "a number"),
    (str, "a string"),
    ((list, tuple), "an array"),
    (dict, "an object"),
)


class ValidationError(InvalidRequest):
    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(message, field=field, rule=rule)


@dataclass(frozen=True)
class FlushRequest:
    group: str
    action: str
    prefix: str | None
    comment: str | None
    dry_run: bool
    requester: str
    origin: str = "api"
    # A warm-pool clear under a launch lifecycle hook: the action its verdict completes.
    hold: LifecycleHold | None = None


def decode_body(body: object, *, is_base64: bool) -> object:
    """The JSON value in an HTTP request body (API Gateway HTTP API, payload 2.0)."""
    if body is None or body == "":
        raise ValidationError(_BODY, "required", "the request body must be a JSON object")
    if not isinstance(body, str):
        raise ValidationError(_BODY, "type", "the request body must be JSON text")
    why = f"the request body must be at most {MAX_BODY_BYTES} bytes"
    too_big = ValidationError(_BODY, "max-size", why)
    # Checked before decoding, so an oversized body costs nothing to refuse.
    if len(body) > MAX_BODY_BYTES * (2 if is_base64 else 1):
        raise too_big
    if is_base64:
        try:
            raw = base64.b64decode(body, validate=True)
        except ValueError:
            raise ValidationError(_BODY, "base64", "the request body is not valid base64") from None
    else:
        raw = body.encode("utf-8", errors="surrogatepass")
    if len(raw) > MAX_BODY_BYTES:
        raise too_big
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError(_BODY, "encoding", "the request body must be UTF-8") from None
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise ValidationError(_BODY, "json", "the request body is not valid JSON") from None


def validate_request(
    payload: object, *, allowed_groups: Collection[str], requester: str
) -> FlushRequest:
    """Check a console event or a decoded API body against every rule, in field order."""
    if not isinstance(payload, dict):
        why = f"the request must be a JSON object, not {_json_type(payload)}"
        raise ValidationError(_BODY, "type", why)
    unknown = sorted(str(key) for key in payload if key not in FIELDS)
    if unknown:
        names = ", ".join(_quote(name) for name in unknown[:3])
        more = f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
        why = f"unknown field(s) {names}{more}; the fields are {', '.join(FIELDS)}"
        raise ValidationError(_short(unknown[0]), "unknown-field", why)
    group = _string(payload, "group")
    if group is None:
        why = "group is required: the Auto Scaling group to clear"
        raise ValidationError("group", "required", why)
    # Exact names only: no trimming, no case folding, no wildcards.
    if group not in allowed_groups:
        raise ValidationError("group", "allowed-groups", _not_allowed(group, allowed_groups))
    choices = ", ".join(sorted(ACTIONS))
    if "action" not in payload:
        raise ValidationError("action", "required", f"action is required: one of {choices}")
    action = payload["action"]
    if not isinstance(action, str) or action not in ACTIONS:
        raise ValidationError("action", "allowed-actions", f"action must be one of {choices}")
    prefix = _string(payload, "prefix")
    if prefix == "":
        raise ValidationError("prefix", "empty", "prefix is empty: omit prefix to clear everything")
    # fullmatch, because `$` alone also matches before a trailing newline.
    if prefix is not None and not re.fullmatch(PREFIX_PATTERN, prefix):
        why = (
            f"prefix must be 1 to 64 characters from A-Z a-z 0-9 _ . : - (pattern {PREFIX_PATTERN})"
        )
        raise ValidationError("prefix", "pattern", why)
    if prefix is not None and action == RESET_OPCACHE:
        raise ValidationError("prefix", "not-with-action", PREFIX_WITH_OPCACHE)
    comment = _string(payload, "comment") or ""
    if len(comment) > MAX_COMMENT_LENGTH:
        why = f"comment must be at most {MAX_COMMENT_LENGTH} characters"
        raise ValidationError("comment", "max-length", why)
    if not comment.isprintable():
        why = "comment must be printable text: no newlines or control characters"
        raise ValidationError("comment", "printable", why)
    dry_run = payload.get("dryRun", False)
    # A JSON boolean only: "false" as a string would be truthy and send a real clear.
    if not isinstance(dry_run, bool):
        why = f"dryRun must be true or false, not {_json_type(dry_run)}"
        raise ValidationError("dryRun", "type", why)
    return FlushRequest(group, action, prefix, comment or None, dry_run, requester)


def _not_allowed(group: str, allowed_groups: Collection[str]) -> str:
    # The caller's next question is which groups are allowed and who decides that.
    names = sorted(allowed_groups)
    shown = ", ".join(names[:_GROUPS_LISTED])
    more = f" and {len(names) - _GROUPS_LISTED} more" if len(names) > _GROUPS_LISTED else ""
    allowed = f"the allowed groups are {shown}{more}" if names else "no group is allowed yet"
    return f"group {_quote(group)} is not one this function may target: {allowed}. To change them, update the stack's AllowedGroups parameter (ALLOWED_GROUPS) and deploy"


def _string(payload: dict[Any, Any], field: str) -> str | None:
    if field not in payload:
        return None
    value = payload[field]
    if not isinstance(value, str):
        raise ValidationError(field, "type", f"{field} must be a string, not {_json_type(value)}")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # A repeated key would let two readers of the same body disagree on its meaning.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            why = f"field {_quote(key)} appears twice"
            raise ValidationError(_short(key), "duplicate-field", why)
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json_type(value: object) -> str:
    names = (name for kind, name in _JSON_TYPES if isinstance(value, kind))
    return next(names, type(value).__name__)


def _short(name: str, limit: int = 64) -> str:
    # Field names come from the caller; keep what is echoed back short.
    return name if len(name) <= limit else name[: limit - 3] + "..."


def _quote(name: str) -> str:
    return json.dumps(_short(name, 32), ensure_ascii=False)
