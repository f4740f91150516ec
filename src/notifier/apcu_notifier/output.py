"""What an invocation printed (SSM's Output, stdout and stderr joined): apcu.php's answer (the
entries it cleared) and opcache.php's (whether the restart took, and what it left alone)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# aws:runShellScript joins stdout and stderr in an invocation's Output with this line.
ERROR_SEPARATOR = "----------ERROR-------"
# opcache.php's caveat codes: what a restart that took left alone (webnode/README.md).
CAVEAT_PRELOAD = "preload"
CAVEAT_FILE_CACHE = "file_cache"
CAVEAT_VALIDATE_TIMESTAMPS = "validate_timestamps"
CAVEATS = (CAVEAT_PRELOAD, CAVEAT_FILE_CACHE, CAVEAT_VALIDATE_TIMESTAMPS)


# opcache.php's confirm step: the restart took ("reset", with what it left alone) or did not
# ("error", with opcache.php's code: disabled, restricted, not_restarted).
@dataclass(frozen=True)
class OpcacheAnswer:
    status: str
    error: str = ""
    message: str = ""
    scripts_before: int = 0
    caveats: tuple[str, ...] = ()

    @property
    def took(self) -> bool:
        return self.status == "reset"


def parse_cleared(output: str) -> int | None:
    """apcu.php's answer: the last output line that is a JSON object with an integer "cleared"
    and, when it has one, "cache":"apcu" (older apcu.php printed no "cache")."""
    for value in reversed(_json_lines(output.split(ERROR_SEPARATOR, 1)[0])):
        if value.get("cache", "apcu") == "apcu" and _count(value.get("cleared")):
            return int(value["cleared"])
    return None


def parse_opcache(output: str) -> OpcacheAnswer | None:
    """opcache.php's last "reset" or "error" line, stderr too (curl --fail-with-body's refusal)."""
    for value in reversed(_json_lines(output)):
        status = value.get("status")
        if value.get("cache") != "opcache" or status not in ("reset", "error"):
            continue
        if status == "reset":
            caveats, before = value.get("caveats"), value.get("scripts_before")
            return OpcacheAnswer(
                status="reset",
                scripts_before=before if _count(before) else 0,
                caveats=tuple(c for c in CAVEATS if isinstance(caveats, list) and c in caveats),
            )
        return OpcacheAnswer("error", _text(value.get("error")), _text(value.get("message")))
    return None


def _json_lines(text: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for line in text.splitlines():
        if not line.strip().startswith("{"):
            continue
        try:
            value: Any = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict):
            found.append(value)
    return found


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _count(value: object) -> bool:
    # bool is an int in Python; true is not a count.
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def error_text(output: str) -> str:
    """The part of an invocation's output that explains a failure: stderr when there is one."""
    head, separator, tail = output.partition(ERROR_SEPARATOR)
    return (tail if separator else head).strip()
