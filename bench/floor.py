"""What every floor script shares: Lambda's context, duck-typed (a floor imports nothing of
Lambda's for it), and the report bench/cold.py reads. The standard library only.

    python bench/floor_*.py INVOKED_ARN EVENT.json REPORT.json
"""

import json
import os
import sys
import time
from collections import Counter
from typing import Any


class Context:
    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
    memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
    invoked_function_arn = sys.argv[1]
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    tenant_id = None

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def event() -> Any:
    return json.load(open(sys.argv[2], encoding="utf-8"))  # noqa: PTH123


def report(started: float, imported: float, answer: Any, counted: Counter[Any] | None) -> None:
    """REPORT.json: when the answer was ready, the CPU time, the import and the work, the
    answer; with BENCH_COUNT_CALLS set (an untimed run), the AWS calls made."""
    with open(sys.argv[3], "w", encoding="utf-8") as out:  # noqa: PTH123
        done = time.perf_counter()
        json.dump(
            {
                "answered": time.monotonic(),
                "cpu_ms": time.process_time() * 1000,
                "import_ms": (imported - started) * 1000,
                "work_ms": (done - imported) * 1000,
                "result": answer,
                **({"calls": dict(counted)} if counted is not None else {}),
            },
            out,
            default=str,
        )
