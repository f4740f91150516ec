"""One cold invocation of a real handler: import it, handle one event, exit.

python bench/cold_handler.py dispatcher|notifier EVENT.json
"""

import json
import sys
from pathlib import Path

function, event_path = sys.argv[1], sys.argv[2]
root = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(root / "src" / function))  # as Lambda puts the function's folder first
sys.path.insert(0, str(root))
from local.lambda_context import LocalContext  # noqa: E402

if function == "notifier":
    from apcu_notifier.handler import lambda_handler
else:
    from apcu_dispatcher.handler import lambda_handler

event = json.loads(Path(event_path).read_text(encoding="utf-8"))
result = lambda_handler(event, LocalContext(function_name=f"apcu-{function}"))
if function == "dispatcher" and result.get("statusCode") != 202:
    raise SystemExit(f"dispatcher answered {result.get('statusCode')}")
