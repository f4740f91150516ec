"""The table's lines for whole clears: per clear (invocations, operations, calls, cost), from
SSM's notification to Slack, the large throttled clears, calls per verdict and scaling, and the
artifacts' sizes."""

from __future__ import annotations

from typing import Any

from bench import pricing
from bench.lines import Lines

# Issue 30: an ordinary clear (ok, or one retry round) uses at most 60 durable operations; a
# 20,000-instance clear stays under 1,500.
ORDINARY_OPERATIONS = 60
LARGE_OPERATIONS = 1500


def lines(out: Lines, report: dict[str, Any]) -> None:
    if "clears" in report:
        _clears(out, report["clears"])
    if "latency" in report:
        _latency(out, report["latency"], report.get("before"))
    if "scale" in report:
        out.text(
            "clears of 3 to 20,000 instances, both functions in this process, the fleet answering "
            "at once; the functions' clients wait up to 60 s for an answer (moto builds "
            "DescribeAutoScalingGroups of 20,000 instances in seconds; AWS does not):"
        )
        _throttled(out, report["scale"])
        _calls(out, report["scale"])
        _scaling(out, report["scale"])
    for name, a in report.get("artifacts", {}).items():
        _artifact(out, name, a)


def _listed(calls: dict[str, int]) -> str:
    return ", ".join(f"{n} {k.split(':')[1]}" for k, n in sorted(calls.items())) or "none"


def _clears(out: Lines, report: dict[str, Any]) -> None:
    out.text(
        f"per clear, group of 3, both functions in this process as deployed ({report['memory_mb']} "
        "MB each; an invocation billed at the longer of its wall time and its CPU time at "
        "Lambda's share of a vCPU):"
    )
    for kind, c in report["clears"].items():
        out.row(
            f"  {kind}: verdict, Slack posts",
            f"{c['verdict']}, {c['posts']}",
            "ok, 1",
            out.target(
                f"clear {kind}: verdict {c['verdict']}, {c['posts']} posts",
                c["verdict"] == "ok" and c["posts"] == 1,
            ),
        )
        out.row(
            "    notifier invocations: the clear's (replays), relays",
            f"{c['clear_invocations']} ({c['replays']}), {c['relay_invocations']}",
        )
        ops = c["operations"] + c["relay_operations"]
        out.row(
            "    durable operations: the clear's + the relays'",
            f"{c['operations']} + {c['relay_operations']}",
            f"<= {ORDINARY_OPERATIONS}",
            out.target(
                f"clear {kind}: {ops} durable operations, target <= {ORDINARY_OPERATIONS}",
                ops <= ORDINARY_OPERATIONS,
            ),
        )
        calls = c["calls"]
        total = sum(calls["dispatcher"].values()) + sum(calls["notifier"].values())
        out.row(
            "    AWS calls: the functions' + checkpoints",
            f"{total} + {calls['checkpoints']}",
        )
        out.text(f"      dispatcher: {_listed(calls['dispatcher'])}")
        out.text(f"      notifier: {_listed(calls['notifier'])}")
        usd = c["usd"]
        out.row(
            "    GB-s; USD (requests + duration + operations)",
            f"{c['gb_seconds']:.3f}; ${usd['total']:.7f}",
        )
        out.text(
            f"      ${usd['requests']:.7f} + ${usd['duration']:.7f} + ${usd['operations']:.7f}; "
            f"{c['written_bytes']} bytes checkpointed, which even at $1/GB written and per "
            f"GB-month retained would add ${usd['data_bound']:.9f}"
        )
    out.text(
        f"    prices: {pricing.SOURCES}; durable data written/retained: not found in the "
        f"sources read ({pricing.READ}), bounded above"
    )


def _latency(out: Lines, lat: dict[str, Any], before: dict[str, Any] | None) -> None:
    out.text(
        f"from SSM's final notification (SNS delivery) to the verdict in Slack, median of "
        f"{lat['runs']}:"
    )
    out.row(
        "  now, cold: relay, then the clear's resumed invocation",
        f"{lat['cold_post_ms']:.0f} ms",
    )
    out.text(
        f"    the relay answers in {lat['cold_relay_ms']:.0f} ms, the resumed clear in "
        f"{lat['cold_resumed_ms']:.0f} ms (each a fresh process)"
    )
    out.row("  now, warm (both invocations in a running notifier)", f"{lat['warm_post_ms']:.0f} ms")
    old = (before or {}).get("cold", {}).get("notifier")
    if old is None:
        out.row("  before (1.1.0): its notifier posting from the SNS invocation", "not measured")
        return
    r = next(r for r in old["rows"] if r["default"])
    out.row(
        f"  before (1.1.0 {before['commit'] if before else ''}): cold notifier, SNS -> post",
        f"{r['handler_median_ms']:.0f} ms",
    )
    out.text("    (until its answer: the verdict posted, then recorded)")
    out.row("  ratio now / before, cold", f"{lat['cold_post_ms'] / r['handler_median_ms']:.2f}x")


def _throttled(out: Lines, scale: dict[str, Any]) -> None:
    for size, t in scale["throttled"].items():
        pages = t["throttled_pages"]
        out.text(
            f"clear of {int(size):,} instances, one page in five throttled once "
            f"({sum(pages.values())} pages: "
            + ", ".join(f"{n} {k.split('.')[-1]}" for k, n in sorted(pages.items()))
            + "):"
        )
        out.row(
            "  verdict right (ok, every instance cleared)",
            f"{t['verdict']}, {t['succeeded']}",
            f"ok, {int(size)}",
            out.target(f"throttled clear of {size}: verdict {t['verdict']}", t["right"]),
        )
        out.row("  wall time, request to recorded verdict", f"{t['wall_ms'] / 1000:.1f} s")
        out.row(
            "  durable operations (invocations)",
            f"{t['operations']} ({t['invocations']})",
            f"< {LARGE_OPERATIONS}",
            out.target(
                f"throttled clear of {size}: {t['operations']} durable operations",
                t["operations"] < LARGE_OPERATIONS,
            ),
        )
        out.row(
            "  largest checkpoint; checkpoints, bytes written",
            f"{t['largest_checkpoint_bytes'] / 1024:.1f} KiB; {t['checkpoints']}, "
            f"{t['written_bytes'] / 1024:.0f} KiB",
            f"<= {t['checkpoint_limit_bytes'] // 1024} KiB",
            out.target(
                f"throttled clear of {size}: a checkpoint of {t['largest_checkpoint_bytes']} bytes",
                t["largest_checkpoint_bytes"] <= t["checkpoint_limit_bytes"],
            ),
        )


def _calls(out: Lines, scale: dict[str, Any]) -> None:
    for size, s in scale["sizes"].items():
        pages, expected = s["pages"], s["expected_pages"]
        minimum = all(n == expected for n in pages.values()) and s["right"]
        throttled = " (throttled)" if "throttled_pages" in s else ""
        out.row(
            f"calls, ok verdict, {int(size):,} instances{throttled}",
            f"{sum(s['calls']['notifier'].values())} + {sum(s['calls']['dispatcher'].values())}",
            f"{expected} page(s) each",
            out.target(
                f"calls, ok verdict, {size} instances: pages {pages}, verdict {s['verdict']}, "
                f"target {expected} each",
                minimum,
            ),
        )
        out.text(f"    notifier: {_listed(s['calls']['notifier'])}")
        out.text(f"    dispatcher: {_listed(s['calls']['dispatcher'])}")


def _scaling(out: Lines, scale: dict[str, Any]) -> None:
    for size, s in scale["sizes"].items():
        if "throttled_pages" in s:
            continue  # its wall time is the throttled row's
        out.row(
            f"clear wall time, {int(size):,} instances (ops, largest checkpoint)",
            f"{s['wall_ms']:.0f} ms ({s['operations']}, {s['largest_checkpoint_bytes'] / 1024:.0f} KiB)",
        )
    per_10x = scale["per_10x"]
    out.row(
        "clear time growth per 10x instances (50 to 10,000)",
        f"{per_10x:.2f}x",
        "<= 10x (linear)",
        out.target(f"clear time growth: {per_10x:.2f}x per 10x, target <= 10x", per_10x <= 10),
    )
    out.text(f"    growth exponents (1.0 = linear): {scale['growth_exponent']}")
    out.text(
        f"    the groups of 10,000 and 20,000 made in {scale['large_group_s']:.0f} s, in batches"
    )


def _artifact(out: Lines, name: str, a: dict[str, Any]) -> None:
    if "error" in a:
        out.row(f"artifact {name}", a["error"])
        return
    out.row(
        f"artifact {name} ({a['files']} files)",
        f"{a['zip_bytes'] / 1024:.0f} KiB zipped",
        f"< {a['target_bytes'] // 1024} KiB zipped",
        out.target(
            f"artifact {name}: {a['zip_bytes'] / 1024:.0f} KiB zipped, target < "
            f"{a['target_bytes'] // 1024} KiB",
            a["met"],
        ),
    )
    parts = ", ".join(f"{part} {size / 1024:.0f}" for part, size in a["parts"].items())
    out.text(
        f"    {a['bytes'] / 1024:.0f} KiB unpacked; KiB by entry: {parts}; .pyc: "
        f"{a['pyc_files']} files, {a['pyc_bytes'] / 1024:.0f} KiB"
    )
