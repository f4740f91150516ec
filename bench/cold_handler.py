"""One cold invocation of a real handler, as Lambda makes it: import the handler named by
_HANDLER from LAMBDA_TASK_ROOT, handle one event, exit.

    python bench/cold_handler.py dispatcher|notifier INVOKED_ARN EVENT.json REPORT.json

REPORT.json receives time.monotonic() when the answer was ready, the answer itself, and how
long the start, the handler's import and the first event took; with BENCH_COUNT_CALLS set (an
untimed run of the bench's check), also the AWS calls the handler made. INVOKED_ARN is the
ARN the function was invoked by (the notifier's alias, as SNS and the dispatcher invoke it).
"""

import time

started = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from importlib import import_module  # noqa: E402
from pathlib import Path  # noqa: E402

function, invoked_arn, event_path, report_path = sys.argv[1:5]
# Lambda puts the function's folder first on sys.path, where Python put this script's.
sys.path[0] = os.environ["LAMBDA_TASK_ROOT"]


class Context:
    """Lambda's context object, with nothing imported for it: the floor imports nothing
    of the kind either."""

    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
    memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
    invoked_function_arn = invoked_arn
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
    log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
    tenant_id = None
    deadline = time.monotonic() + 60

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


counted = None
if os.environ.get("BENCH_COUNT_CALLS"):
    from bench import count_calls

    counted = count_calls.install()
event = json.loads(Path(event_path).read_text(encoding="utf-8"))
context = Context()
module_name, handler_name = os.environ["_HANDLER"].rsplit(".", 1)
imported = time.perf_counter()
lambda_handler = getattr(import_module(module_name), handler_name)
handler_ready = time.perf_counter()
result = lambda_handler(event, context)
handled = time.perf_counter()
Path(report_path).write_text(
    json.dumps(
        {
            "answered": time.monotonic(),
            # CPU time since the process started: what a busy machine changes least.
            "cpu_ms": time.process_time() * 1000,
            "start_ms": (imported - started) * 1000,
            "import_ms": (handler_ready - imported) * 1000,
            "first_event_ms": (handled - handler_ready) * 1000,
            "result": result,
            **({"calls": dict(counted)} if counted is not None else {}),
        },
        default=str,
    ),
    encoding="utf-8",
)
