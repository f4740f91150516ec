"""One cold invocation of a real handler, as Lambda makes it: import the handler named by
_HANDLER from LAMBDA_TASK_ROOT, handle one event, exit.

    python bench/cold_handler.py dispatcher|notifier EVENT.json REPORT.json

REPORT.json receives time.monotonic() when the answer was ready, and how long the start,
the handler's import and the first event took.
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
sys.path.insert(1, str(root))
from local.lambda_context import LocalContext  # noqa: E402

event = json.loads(Path(event_path).read_text(encoding="utf-8"))
context = LocalContext(
    function_name=os.environ.get("AWS_LAMBDA_FUNCTION_NAME", f"apcu-{function}"),
    memory_limit_in_mb=int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")),
)
module_name, handler_name = os.environ.get("_HANDLER", "app.lambda_handler").rsplit(".", 1)
imported = time.perf_counter()
lambda_handler = getattr(import_module(module_name), handler_name)
handler_ready = time.perf_counter()
result = lambda_handler(event, context)
handled = time.perf_counter()
if function == "dispatcher" and result.get("statusCode") != 202:
    raise SystemExit(f"dispatcher answered {result.get('statusCode')}")
Path(sys.argv[3]).write_text(
    json.dumps(
        {
            "answered": time.monotonic(),
            # CPU time since the process started: what a busy machine changes least.
            "cpu_ms": time.process_time() * 1000,
            "start_ms": (imported - started) * 1000,
            "import_ms": (handler_ready - imported) * 1000,
            "first_event_ms": (handled - handler_ready) * 1000,
        }
    ),
    encoding="utf-8",
)
