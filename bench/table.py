"""The table `make bench` prints: one line per figure, its target and whether it was met; a
missed target is also named in `missed`, for the exit status. A part the run left out
(BENCH_ONLY) has no lines."""

from __future__ import annotations

from collections import Counter
from typing import Any

from bench import table_clears
from bench.cold import BATCHED
from bench.cold_row import TARGET
from bench.lines import Lines

ONE_VCPU_MB = 1769  # Lambda: one vCPU at 1,769 MB, in proportion below it
NOISY = 0.15  # an interquartile range above this share of the median is called noisy


def table(report: dict[str, Any], missed: list[str]) -> str:
    m = report["machine"]
    out = Lines(missed)
    out.text(
        f"apcu-fleet-flush benchmark  {m['date']}  {m['machine']} {m['cpu']} ({m['cores']} cores)"
        f"  Python {m['python']}  load {m['load_average'][0]}"
    )
    out.header()
    for name, why in report.get("failed", {}).items():
        out.row(f"part {name}", "FAILED", "runs to its end", out.target(f"{name}: {why}", False))
        out.text(f"    {why}")
    cold = report.get("cold", {})
    noisy = sorted(
        key
        for key, c in cold.items()
        for spread, median in [(c["floor_spread_ms"], c["floor_median_ms"])]
        + [(r["spread_ms"], r["handler_median_ms"]) for r in c["rows"]]
        if spread > NOISY * median
    )
    if noisy:
        out.text(
            f"NOTE: noisy cold figures for {', '.join(dict.fromkeys(noisy))} (an interquartile "
            f"range over {NOISY:.0%} of the median; load average {m['load_average'][0]} on "
            f"{m['cores']} cores): rerun when the machine is quieter. CPU-time ratios move least."
        )
    for key, c in cold.items():
        _cold(out, key, c)
    if "cold" in report or "before" in report:
        _router(out, report.get("cold", {}).get("dispatcher"), report.get("before"))
    table_clears.lines(out, report)
    return "\n".join(out.lines)


def _cold(out: Lines, key: str, c: dict[str, Any]) -> None:
    out.text(
        f"cold {c['title']}, as deployed ({c['code_root']} + the SDK layer, {c['memory_mb']} MB, "
        f"Lambda's variables), median of {c['runs']}, alternating:"
    )
    out.row(
        f"  floor ({c['floor_label']}, same calls and env)",
        f"{c['floor_median_ms']:.0f} ms ±{c['floor_spread_ms'] / 2:.0f}",
    )
    fp = c["floor_phases_ms"]
    out.text(
        f"    imports {fp['import_ms']:.0f} ms, work {fp['work_ms']:.0f} ms, CPU {fp['cpu_ms']:.0f} ms"
    )
    check = c["calls_check"]
    out.row(
        "  AWS calls, handler and floor (untimed run each)",
        f"{sum(check['handler'].values())} calls",
        "the same",
        out.target(
            f"cold {key}: the floor's calls {check['floor']} are not the handler's "
            f"{check['handler']}",
            check["same"],
        ),
    )
    out.text("    " + ", ".join(f"{n} {k.split(':')[1]}" for k, n in check["handler"].items()))
    if check["handler"].get(BATCHED) != check["floor"].get(BATCHED):
        out.text(
            f"    checkpoints: the handler's {check['handler'].get(BATCHED, 0)}, the floor's "
            f"{check['floor'].get(BATCHED, 0)} calls (the SDK batches them as timing allows)"
        )
    default = next(r for r in c["rows"] if r["default"])
    for r in c["rows"]:
        label = f"  handler, Tracing {r['tracing']}" + (
            " (template default)" if r["default"] else ""
        )
        out.row(label, f"{r['handler_median_ms']:.0f} ms ±{r['spread_ms'] / 2:.0f}")
        cpu = r["phases_ms"]["cpu_ms"]
        out.text(f"    CPU until the answer {cpu:.0f} ms (floor {fp['cpu_ms']:.0f} ms)")
        ratios = f"{r['ratio']:.2f}x (CPU {r['cpu_ratio']:.2f}x)"
        if r["default"]:
            met = out.target(
                f"cold {key}: {ratios} of the floor, target <= {TARGET}x both", r["met"]
            )
            out.row("    ratio to the floor, clock (CPU)", ratios, f"<= {TARGET}x both", met)
        else:
            extra = r["handler_median_ms"] - default["handler_median_ms"]
            cpu_extra = cpu - default["phases_ms"]["cpu_ms"]
            out.row(
                "    ratio to the floor, clock (CPU)",
                ratios,
                f"tracing: {extra:+.0f} ms ({cpu_extra:+.0f} CPU)",
            )
        if c.get("answer_bound_ms") and r["default"]:
            _press(out, key, c, r)
        p = r["phases_ms"]
        out.text(
            f"    imports {p['start_ms'] + p['import_ms']:.0f} ms (the handler's "
            f"{p['import_ms']:.0f}), first event {p['first_event_ms']:.0f} ms"
        )
        if r["subsegments"]:
            traced = Counter(r["subsegments"])
            listed = ", ".join(f"{n} {k}" if n > 1 else k for k, n in sorted(traced.items()))
            out.text(
                f"    buys: a trace of each invocation, a subsegment per AWS call ({listed}); "
                f"{' and '.join(c['secrets'])} in them: never"
            )
        i = r["imports"]
        heaviest = ", ".join(f"{h['module']} {h['self_ms']:.0f}" for h in i["heaviest"])
        out.text(
            f"    imports beyond the floor's: {i['beyond_floor_ms']:.0f} ms (python -X importtime, "
            f"own time): {heaviest}"
        )


def _press(out: Lines, key: str, c: dict[str, Any], r: dict[str, Any]) -> None:
    """A press's answer against Slack's 3 s: every cold run's, so the slowest; and the CPU time
    at the share of a vCPU Lambda gives the function's memory."""
    bound = c["answer_bound_ms"]
    slowest = r["handler_max_ms"]
    out.row(
        f"    answer to Slack, slowest of {c['runs']} cold",
        f"{slowest:.0f} ms (median {r['handler_median_ms']:.0f})",
        f"< {bound:.0f} ms (Slack's 3 s)",
        out.target(
            f"cold {key}: answered in {slowest:.0f} ms, target < {bound:.0f} ms", slowest < bound
        ),
    )
    share = min(c["memory_mb"], ONE_VCPU_MB) / ONE_VCPU_MB
    cpu_ms = r["phases_ms"]["cpu_ms"]
    estimate = max(r["handler_median_ms"], cpu_ms / share)
    out.row(
        f"    at {c['memory_mb']} MB ({share:.3f} of a vCPU): CPU {cpu_ms:.0f} ms would take",
        f"{estimate:.0f} ms",
        f"< {bound:.0f} ms (Slack's 3 s)",
        out.target(
            f"cold {key}: {cpu_ms:.0f} ms of CPU at {share:.3f} of a vCPU is some "
            f"{estimate:.0f} ms, target < {bound:.0f} ms",
            estimate < bound,
        ),
    )
    out.text(
        "    (an estimate, not a measurement: Lambda's cores are not this machine's, and its "
        "runtime's own start is not in it)"
    )


def _router(out: Lines, after: dict[str, Any] | None, before: dict[str, Any] | None) -> None:
    """The dispatcher before and after Powertools' router, each against its own floor; and
    what the router costs beyond the bound."""
    out.text(
        "dispatcher, before / after Powertools' APIGatewayHttpResolver (template default tracing):"
    )
    if before is not None and "error" in before:
        out.row("  before (1.1.0)", "not measured", "", None)
        out.text(f"    {before['error']}")
    elif before is not None and "dispatcher" in before.get("cold", {}):
        old = before["cold"]["dispatcher"]
        r = next(r for r in old["rows"] if r["default"])
        out.row(
            f"  before (1.1.0, {before['commit']}: a console clear)",
            f"{r['handler_median_ms']:.0f} / {old['floor_median_ms']:.0f} ms",
            f"{r['ratio']:.2f}x (CPU {r['cpu_ratio']:.2f}x)",
        )
    if after is not None:
        r = next(r for r in after["rows"] if r["default"])
        out.row(
            "  after (here: POST /flush)",
            f"{r['handler_median_ms']:.0f} / {after['floor_median_ms']:.0f} ms",
            f"{r['ratio']:.2f}x (CPU {r['cpu_ratio']:.2f}x)",
        )
        router = r["imports"].get("router_ms", 0.0)
        over = r["handler_median_ms"] - TARGET * after["floor_median_ms"]
        verdict = (
            f"over the {TARGET}x bound by {over:.0f} ms; importing the router (with what it "
            f"brings in first: data classes, asyncio) takes {router:.0f} ms"
            if over > 0
            else f"within the {TARGET}x bound ({-over:.0f} ms to spare); importing the router "
            f"takes {router:.0f} ms"
        )
        out.text(f"    the router: {verdict}")
