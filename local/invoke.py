"""Run one handler in this fresh process, as a Lambda container would, and write its result.

    python -m local.invoke dispatcher|notifier EVENT.json RESULT.json

The process gets AWS_ENDPOINT_URL from its environment, so every boto3 call it makes goes
over HTTP to the embedded moto server; the handlers themselves know nothing of it.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path
from typing import Any

from local.lambda_context import LocalContext

ROOT = Path(__file__).resolve().parent.parent


def _handler(function: str) -> Any:
    # Lambda puts the function's folder first on sys.path; do the same. The build copies the
    # clear package into each artifact (src/*/Makefile); here it is found where it lives.
    sys.path[:0] = [str(ROOT / "src" / function), str(ROOT / "src" / "clear")]
    if function == "dispatcher":
        from apcu_dispatcher.handler import lambda_handler as dispatcher

        return dispatcher
    if function == "notifier":
        from apcu_notifier.handler import lambda_handler as notifier

        return notifier
    raise SystemExit(f"unknown function {function!r}: choose dispatcher or notifier")


def main(argv: list[str]) -> int:
    function, event_path, result_path = argv
    event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    handler = _handler(function)
    try:
        result = {
            "ok": True,
            "result": handler(
                event,
                LocalContext(
                    f"{function.capitalize()}Function", function_name=f"apcu-fleet-flush-{function}"
                ),
            ),
        }
    except Exception as error:  # a raised error is an outcome Lambda would report, not a crash here
        result = {
            "ok": False,
            "errorType": type(error).__name__,
            "errorMessage": str(error),
            "trace": traceback.format_exc(),
        }
    Path(result_path).write_text(json.dumps(result, default=str, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
