"""What a handler imports beyond its floor (python -X importtime): the part of the cold path
the handler adds, per library, Powertools per utility."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

from bench import deployed

# Powertools' event handler (the dispatcher's APIGatewayHttpResolver): its import's whole
# cost, what it brings in first included, is the router's share of the cold path.
ROUTER = "aws_lambda_powertools.event_handler"


def _import_times(
    code: str, env: dict[str, str], cumulative: dict[str, float] | None = None
) -> dict[str, float]:
    """Each module's own import time in ms, for `code` run with the function's folder first
    on sys.path, as Lambda puts it; `cumulative` receives each module's time with what it
    imported first."""
    prelude = "import os, sys; sys.path.insert(0, os.environ['LAMBDA_TASK_ROOT']); "
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", prelude + code],
        cwd=deployed.ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    times: dict[str, float] = {}
    for line in completed.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| *(\S+)", line)
        if match:
            times[match[3]] = int(match[1]) / 1000
            if cumulative is not None:
                cumulative[match[3]] = int(match[2]) / 1000
    return times


def _unit(module: str, own: str) -> str:
    parts = module.split(".")
    if parts[0] in (own, "app", "apcu_clear"):
        return own
    if parts[0] == "aws_lambda_powertools":
        # One package of many utilities: name the utility that costs.
        depth = 3 if parts[1:2] == ["utilities"] else 2
        return ".".join(parts[:depth])
    return parts[0]


def beyond_floor(
    d: deployed.Deployment, floor_code: str, *, lazy: tuple[str, ...] = (), top: int = 8
) -> dict[str, Any]:
    """What the handler imports beyond `floor_code`'s modules, by the modules' own import
    time. `lazy`: modules the handler imports on its first event, counted with it."""
    handler_module = d.env.get("_HANDLER", "app.lambda_handler").rsplit(".", 1)[0]
    cumulative: dict[str, float] = {}
    handler = _import_times(f"import {', '.join((handler_module, *lazy))}", d.env, cumulative)
    floor = _import_times(floor_code, d.env)
    own = f"apcu_{d.function}"
    extra: dict[str, float] = {}
    for module, ms in handler.items():
        if module not in floor:
            unit = _unit(module, own)
            extra[unit] = extra.get(unit, 0.0) + ms
    return {
        "handler_ms": round(sum(handler.values()), 1),
        "floor_ms": round(sum(floor.values()), 1),
        "beyond_floor_ms": round(sum(extra.values()), 1),
        "by_unit": {name: round(ms, 1) for name, ms in extra.items()},
        "router_ms": round(cumulative.get(ROUTER, 0.0), 1),
        "heaviest": [
            {"module": name, "self_ms": round(ms, 1)}
            for name, ms in sorted(extra.items(), key=lambda item: item[1], reverse=True)[:top]
        ],
    }
