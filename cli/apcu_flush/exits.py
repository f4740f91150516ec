"""The exit codes a pipeline branches on, and the one error type that carries them."""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from typing import Any


class Exit(IntEnum):
    OK = 0  # the verdict is ok (or the request was accepted, without --wait)
    ALERT = 1  # the verdict is an alert: some cache may still be stale
    REFUSED = 2  # the API refused the request (4xx), or the command line is wrong
    TIMED_OUT = 3  # --wait gave up before a verdict was recorded
    FAILED = 4  # credentials, network or a server error: nothing is known


class CliError(Exception):
    """Ends the run with `exit`; `body` is what --json prints."""

    def __init__(self, exit: Exit, message: str, body: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.exit = exit
        self.message = message
        self.body: dict[str, Any] = dict(body) if body is not None else _error_body(exit, message)


def _error_body(exit: Exit, message: str) -> dict[str, Any]:
    return {"error": {"kind": exit.name.lower().replace("_", "-"), "message": message}}
