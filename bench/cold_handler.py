"""One cold invocation of a real handler, as Lambda makes it: import the handler named by
_HANDLER from LAMBDA_TASK_ROOT, handle one event, exit.

    python bench/cold_handler.py dispatcher|notifier EVENT.json REPORT.json

REPORT.json receives time.monotonic() when the answer was ready, and how long the start,
the handler's import and the first event took; with BENCH_COUNT_CALLS set (an untimed run of
the bench's check), also the AWS calls the handler made.
"""

import time

started = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from importlib import import_module  # noqa: E402
from pathlib import Path  # noqa: E402

function, event_path = sys.argv[1], sys.argv[2]
root = Path(__file__).resolve().parent.parent
# Lambda puts the function's folder first on sys.path.
sys.path.insert(0, os.environ.get("LAMBDA_TASK_ROOT") or str(root / "src" / function))


class Context:
    """Lambda's context object, with nothing imported for it: the floor imports nothing
    of the kind either."""

    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", f"apcu-{function}")
    function_version = "$LATEST"
    memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"))
    invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/local")
    log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "local")
    deadline = time.monotonic() + 60

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


counted = None
if os.environ.get("BENCH_COUNT_CALLS"):
    from bench import count_calls

    counted = count_calls.install()
event = json.loads(Path(event_path).read_text(encoding="utf-8"))
context = Context()
module_name, handler_name = os.environ.get("_HANDLER", "app.lambda_handler").rsplit(".", 1)
imported = time.perf_counter()
lambda_handler = getattr(import_module(module_name), handler_name)
handler_ready = time.perf_counter()
result = lambda_handler(event, context)
handled = time.perf_counter()
# Slack reads only the status of its request, and wants 200 (whether the press sent a retry
# the bench reads from the commands table); every other request is a clear, answered 202.
press = event.get("routeKey") == "POST /slack/actions"
if function == "dispatcher":
    if result.get("statusCode") != (200 if press else 202):
        raise SystemExit(f"dispatcher answered {result.get('statusCode')}: {result.get('body')}")
    # A command whose record or watchdog schedule could not be written is still accepted,
    # with a warning: a run that skipped those writes would time less than the template does.
    body = result.get("body") or {}
    # A JSON string through the HTTP API, the object itself for a console invocation.
    warnings = (json.loads(body) if isinstance(body, str) else body).get("warnings", [])
    if any(w.get("reason") == "watchdog-not-armed" for w in warnings):
        raise SystemExit(f"dispatcher sent the command but did not arm it: {warnings}")
Path(sys.argv[3]).write_text(
    json.dumps(
        {
            "answered": time.monotonic(),
            # CPU time since the process started: what a busy machine changes least.
            "cpu_ms": time.process_time() * 1000,
            "start_ms": (imported - started) * 1000,
            "import_ms": (handler_ready - imported) * 1000,
            "first_event_ms": (handled - handler_ready) * 1000,
            **({"calls": dict(counted)} if counted is not None else {}),
        }
    ),
    encoding="utf-8",
)
