"""The demo's process: both functions run in it, as two Lambda containers would, with the
configuration template.yaml gives them, and their logs kept apart from what the demo prints.

`prepare` must run before anything imports a function: each reads its configuration when it is
imported, as Lambda's init does. Only AWS_ENDPOINT_URL (local.embedded_aws) makes the functions'
AWS calls local; nothing in src/ knows it runs here.
"""

from __future__ import annotations

import io
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

ROOT = Path(__file__).resolve().parent.parent
# Each function's folder, as Lambda puts it first on sys.path, and the clear package their
# builds copy into both artifacts (src/*/Makefile).
FUNCTION_PATHS = [ROOT / "src" / "notifier", ROOT / "src" / "dispatcher", ROOT / "src" / "clear"]
# moto accepts any key; these make sure nothing could ever sign for a real account.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
}
SETTINGS = {
    "POWERTOOLS_SERVICE_NAME": "apcu-fleet-flush",
    "POWERTOOLS_METRICS_NAMESPACE": "ApcuFleetFlush",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "LOG_LEVEL": "INFO",
    # moto's catalogue of public AMIs: nothing here reads an AMI, and loading it costs every
    # scenario a quarter of a second (moto/settings.py).
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
}


def prepare() -> None:
    """The process as both functions' containers would have it, before either is imported."""
    from harness import stack

    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        os.environ.pop(name, None)
    os.environ.update({**CREDENTIALS, **SETTINGS, **stack.environment()})
    os.environ["AWS_DEFAULT_REGION"] = os.environ["AWS_REGION"]
    sys.path[:0] = [str(p) for p in FUNCTION_PATHS if str(p) not in sys.path]


class Logs(io.TextIOBase):
    """Where the functions' output goes: Powertools' JSON log lines and metrics, the durable
    SDK's step failures, moto's and werkzeug's chatter. One file per scenario, so that the
    terminal shows only what the demo prints."""

    def __init__(self) -> None:
        super().__init__()
        self._file: TextIO | None = None
        self._lock = threading.Lock()

    def start(self, path: Path) -> None:
        """From now on, to this file."""
        with self._lock:
            if self._file is not None:
                self._file.close()
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("w", encoding="utf-8")

    def write(self, text: str) -> int:
        with self._lock:
            if self._file is not None:
                self._file.write(text)
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.flush()

    def stop(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


@contextmanager
def functions_log_to(logs: Logs) -> Iterator[TextIO]:
    """The process's stdout and stderr go to `logs` while the demo runs; the terminal's stdout,
    given back, is where the demo prints."""
    terminal, errors = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = logs
    try:
        yield terminal
    finally:
        sys.stdout, sys.stderr = terminal, errors
        logs.stop()
