"""`make bench`, web node section, OPcache: what a reset costs the requests beside it.

A real web node (nginx + php-fpm + OPcache with validate_timestamps=0, started as the web node
tests start it) serves a tree the size of a Laravel vendor directory: SCRIPTS small classes,
all compiled once before each round. Neighbouring requests, each including PAGE_SCRIPTS of them
as a framework's request does, run at a steady pace while:

- the SSM document's own script resets OPcache (action=reset-opcache): the script's time, the
  time until the restart happened (opcache.php's waited_ms), the neighbours' p50 / p99 before
  and in the EVENT_WINDOW_S after the reset began, and the first requests after it, which
  recompile what they include;
- php-fpm reloads (`kill -USR2` of the master), the usual alternative, measured the same way;
- without load, the first requests after a reset, which recompile what they include: a page
  (PAGE_SCRIPTS files) and the whole tree, against the same once cached.

Latency is measured from the moment each request was due, as in bench/webnode.py. bench/webnode.py
prints the rows and their targets.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import signal
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.webnode_server import WebNode, local_flush_script

# A fresh Laravel application's vendor directory holds a few thousand PHP files.
SCRIPTS = 4000
PACKAGES = 40
# What one request of a framework includes (autoloader, container, router, a controller...).
PAGE_SCRIPTS = 400
CLIENTS = 4
# Each neighbour compiles PAGE_SCRIPTS files while OPcache restarts; at the APCu bench's pace
# (100/s each) that alone is more CPU than the 2 cores have, so this pace is a quarter of it.
RATE = 25
WORKERS = CLIENTS + 2
BEFORE_S = 1.0
# The reset, the restart and the recompiling requests after it all fall in this window.
EVENT_WINDOW_S = 1.0
AFTER_S = 1.5
FIRST_AFTER = 8
ROUNDS = 6
# The reset, until the restart happened, with nothing slow running beside it.
RESET_TARGET_S = 1.0
LOAD_LIMIT_S = 30.0
PHP_INI = {
    "opcache.enable": "1",
    "opcache.validate_timestamps": "0",
    "opcache.memory_consumption": "256",
    "opcache.max_accelerated_files": "20000",
}

CLASS_PHP = """<?php
declare(strict_types=1);

namespace Vendor\\Package{package};

final class Service{index}
{{
    private array $items = [];

    public function __construct(private string $name = 'service-{index}')
    {{
    }}

    public function add(string $key, mixed $value): static
    {{
        $this->items[$key] = $value;
        return $this;
    }}

    public function get(string $key, mixed $default = null): mixed
    {{
        return $this->items[$key] ?? $default;
    }}

    public function map(callable $callback): array
    {{
        return array_map($callback, $this->items);
    }}

    public function filter(callable $callback): array
    {{
        return array_filter($this->items, $callback, ARRAY_FILTER_USE_BOTH);
    }}

    public function name(): string
    {{
        return sprintf('%s:%d', $this->name, count($this->items));
    }}
}}
"""

COMPILE_ALL_PHP = """<?php
// Bench only: includes every script of the tree once, so that OPcache holds them all.
declare(strict_types=1);
$began = hrtime(true);
foreach (require __DIR__ . '/manifest.php' as $file) {
    require_once $file;
}
$status = opcache_get_status(false);
header('Content-Type: application/json');
echo json_encode([
    'scripts' => $status['opcache_statistics']['num_cached_scripts'],
    'manual_restarts' => $status['opcache_statistics']['manual_restarts'],
    'ms' => (hrtime(true) - $began) / 1e6,
]), "\\n";
"""

PAGE_PHP = f"""<?php
// Bench only: a framework's request, {PAGE_SCRIPTS} includes and a little work; answers the
// microseconds PHP spent, compiling included.
declare(strict_types=1);
$began = hrtime(true);
$files = require __DIR__ . '/manifest.php';
for ($i = 0; $i < {PAGE_SCRIPTS}; $i++) {{
    require_once $files[$i];
}}
header('Content-Type: text/plain');
echo intdiv(hrtime(true) - $began, 1000), "\\n";
"""


@dataclass(frozen=True)
class Sample:
    due: float
    done: float
    status: int

    @property
    def latency(self) -> float:
        return self.done - self.due


def generate_tree(root: Path) -> None:
    """SCRIPTS classes in PACKAGES packages, and manifest.php listing them."""
    files = []
    for index in range(SCRIPTS):
        package = index % PACKAGES
        path = root / "vendor" / f"package{package}" / "src" / f"Service{index}.php"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(CLASS_PHP.format(package=package, index=index), encoding="utf-8")
        files.append(str(path))
    (root / "manifest.php").write_text(
        "<?php\nreturn " + json.dumps(files).replace("[", "[\n", 1) + ";\n", encoding="utf-8"
    )
    (root / "compile_all.php").write_text(COMPILE_ALL_PHP, encoding="utf-8")
    (root / "page.php").write_text(PAGE_PHP, encoding="utf-8")
    # OPcache does not cache a file changed less than opcache.file_update_protection (2 s) ago;
    # a deployed release is older than that.
    past = time.time() - 60
    for name in [*files, *(str(root / n) for n in ("manifest.php", "compile_all.php", "page.php"))]:
        os.utime(name, (past, past))


def _get(port: int, path: str) -> dict[str, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        text = response.read().decode("utf-8")
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"{path} answered {response.status}: {text}")
    answer = json.loads(text)
    assert isinstance(answer, dict)
    return answer


def compile_all(node: WebNode) -> dict[str, Any]:
    # The first pass compiles; the second proves every script is served from the cache.
    _get(node.port, "/bench/compile_all.php")
    answer = _get(node.port, "/bench/compile_all.php")
    if answer["scripts"] < SCRIPTS:
        raise RuntimeError(f"OPcache holds {answer['scripts']} of {SCRIPTS} scripts: {answer}")
    return answer


@contextmanager
def steady_load(node: WebNode) -> Iterator[list[Sample]]:
    """CLIENTS neighbours at RATE requests per second each, until the block ends."""
    samples: list[Sample] = []
    stop = threading.Event()
    deadline = time.perf_counter() + LOAD_LIMIT_S
    interval = 1.0 / RATE

    def client(offset: float) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", node.port, timeout=10)
        due = time.perf_counter() + offset
        try:
            while not stop.is_set() and due < deadline:
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                status = 0
                try:
                    connection.request("GET", "/bench/page.php")
                    response = connection.getresponse()
                    response.read()
                    status = response.status
                except (OSError, http.client.HTTPException):
                    connection.close()
                samples.append(Sample(due, time.perf_counter(), status))
                due += interval
        finally:
            connection.close()

    threads = [
        threading.Thread(target=client, args=(i * interval / CLIENTS,), daemon=True)
        for i in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    try:
        yield samples
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=15)


def run_reset(script: str) -> tuple[float, dict[str, Any]]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("SSM_")}
    env.update({"SSM_prefix": "", "SSM_action": "reset-opcache"})
    began = time.perf_counter()
    done = subprocess.run(
        ["sh", "-c", script], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise RuntimeError(f"reset-opcache failed ({done.returncode}): {done.stdout}{done.stderr}")
    answer = json.loads(done.stdout)
    assert isinstance(answer, dict)
    return seconds, answer


def _windows(samples: Sequence[Sample], began: float) -> dict[str, list[Sample]]:
    return {
        "before": [s for s in samples if s.done < began and s.due > began - BEFORE_S + 0.2],
        # Every request due in the window, or still running when it opened.
        "during": [s for s in samples if s.done >= began and s.due <= began + EVENT_WINDOW_S],
    }


def one_reset(node: WebNode, script: str) -> dict[str, Any]:
    compile_all(node)
    with steady_load(node) as samples:
        time.sleep(BEFORE_S)
        began = time.perf_counter()
        seconds, answer = run_reset(script)
        ended = began + seconds
        time.sleep(AFTER_S)
    taken = list(samples)
    windows = _windows(taken, began)
    first = sorted((s for s in taken if s.due >= ended), key=lambda s: s.due)[:FIRST_AFTER]
    return {
        "seconds": seconds,
        "waited_ms": answer["waited_ms"],
        "scripts_before": answer["scripts_before"],
        "before": [s.latency for s in windows["before"]],
        "during": [s.latency for s in windows["during"]],
        "first_after": [s.latency for s in first],
        "errors": sum(1 for s in taken if s.status != 200),
    }


def _page_ms(node: WebNode) -> float:
    """One page, the milliseconds PHP spent on it (compiling its includes, if they are not cached)."""
    connection = http.client.HTTPConnection("127.0.0.1", node.port, timeout=60)
    try:
        connection.request("GET", "/bench/page.php")
        response = connection.getresponse()
        text = response.read().decode("utf-8")
    finally:
        connection.close()
    if response.status != 200:
        raise RuntimeError(f"page.php answered {response.status}: {text}")
    return int(text) / 1000


def recompile(node: WebNode, script: str) -> dict[str, float]:
    """Without load: a page's first, second and third request after a reset, then the whole tree
    compiled after another reset, and compiled again (served from the cache)."""
    compile_all(node)
    run_reset(script)
    pages = [_page_ms(node) for _ in range(3)]
    run_reset(script)
    cold = _get(node.port, "/bench/compile_all.php")["ms"]
    warm = _get(node.port, "/bench/compile_all.php")["ms"]
    return {
        "page_first_ms": pages[0],
        "page_second_ms": pages[1],
        "page_third_ms": pages[2],
        "tree_cold_ms": cold,
        "tree_warm_ms": warm,
    }


def one_reload(node: WebNode) -> dict[str, Any]:
    compile_all(node)
    with steady_load(node) as samples:
        time.sleep(BEFORE_S)
        began = time.perf_counter()
        # php-fpm's graceful reload: a new master image, new workers, a new (empty) OPcache.
        os.kill(node.fpm_master_pid, signal.SIGUSR2)
        time.sleep(AFTER_S)
    taken = list(samples)
    windows = _windows(taken, began)
    served = [s for s in taken if s.due >= began and s.status == 200]
    return {
        "before": [s.latency for s in windows["before"]],
        "during": [s.latency for s in windows["during"]],
        "first_served_ms": (min((s.done for s in served), default=math.nan) - began) * 1000,
        "errors": sum(1 for s in taken if s.status != 200),
    }


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile: an observed value, never an interpolation."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _spread(values: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": percentile(values, 0.5) * 1000,
        "p99_ms": percentile(values, 0.99) * 1000,
        "max_ms": max(values, default=math.nan) * 1000,
    }


def _pooled(rounds: list[dict[str, Any]], key: str) -> dict[str, float]:
    return _spread([v for r in rounds for v in r[key]])


def measure(workdir: Path) -> dict[str, Any]:
    tree = workdir / "tree"
    generate_tree(tree)
    scripts = {
        "/bench/compile_all.php": tree / "compile_all.php",
        "/bench/page.php": tree / "page.php",
    }
    with WebNode(workdir / "node", scripts=scripts, workers=WORKERS, php_ini=PHP_INI) as node:
        script = local_flush_script(node.apcu_port)
        compiled = compile_all(node)
        resets = [one_reset(node, script) for _ in range(ROUNDS)]
        recompiles = [recompile(node, script) for _ in range(ROUNDS)]
        reloads = [one_reload(node) for _ in range(ROUNDS)]
    recompiled = {key: statistics.median(r[key] for r in recompiles) for key in recompiles[0]}
    reset_before, reset_during = _pooled(resets, "before"), _pooled(resets, "during")
    reload_before, reload_during = _pooled(reloads, "before"), _pooled(reloads, "during")
    return {
        "scripts": SCRIPTS,
        "page_scripts": PAGE_SCRIPTS,
        "clients": CLIENTS,
        "rate_per_client": RATE,
        "workers": WORKERS,
        "php_ini": PHP_INI,
        "rounds": ROUNDS,
        "compile_all_ms": compiled["ms"],
        "reset": {
            "script_ms_median": statistics.median(r["seconds"] for r in resets) * 1000,
            "script_ms_max": max(r["seconds"] for r in resets) * 1000,
            "waited_ms_median": statistics.median(r["waited_ms"] for r in resets),
            "waited_ms_max": max(r["waited_ms"] for r in resets),
            "scripts_before": [r["scripts_before"] for r in resets],
            "before": reset_before,
            "during": reset_during,
            "p50_ratio": reset_during["p50_ms"] / reset_before["p50_ms"],
            "p99_ratio": reset_during["p99_ms"] / reset_before["p99_ms"],
            "first_after": _pooled(resets, "first_after"),
            "errors": sum(r["errors"] for r in resets),
        },
        "recompile": recompiled,
        "reload": {
            "before": reload_before,
            "during": reload_during,
            "p50_ratio": reload_during["p50_ms"] / reload_before["p50_ms"],
            "p99_ratio": reload_during["p99_ms"] / reload_before["p99_ms"],
            "first_served_ms_median": statistics.median(r["first_served_ms"] for r in reloads),
            "errors": sum(r["errors"] for r in reloads),
        },
    }
