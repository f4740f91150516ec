"""`make bench` tells a script whether every target was met: exit 1 with the misses named, shown
here without running the bench (the table of a report with a missed row decides the status)."""

from __future__ import annotations

from typing import Any

import pytest

from bench import webnode
from bench.lines import Lines, exit_status

ENTRIES = 1_000_000


def _clear(kind: str, seconds: float, reader_ms: float) -> webnode.Clear:
    # One clear as bench/webnode.py measures it: readers' latencies before and during, in seconds.
    before = tuple(0.002 for _ in range(200))
    during = tuple(reader_ms / 1000 for _ in range(200))
    cleared = ENTRIES // webnode.PREFIX_EVERY if kind == "prefix" else ENTRIES
    return webnode.Clear(kind, seconds, cleared, ENTRIES, before, during, before, before, 0)


def _webnode_report(
    full_clear_s: float,
    prefix_reader_ms: float = 3.0,
    *,
    floor_s: float = 0.1,
    floor_reader_ms: float = 100.0,
) -> dict[str, Any]:
    # Readers at 2 ms before each clear; the floor (a bare apcu_clear_cache()) blocks them.
    return {
        "machine": {"date": "2026-12-01T00:00:00Z", "cores": 2, "load_average": [0.1, 0.1, 0.1]},
        "sizes": {
            str(ENTRIES): {
                "php_ini": webnode.php_settings(ENTRIES),
                "fill": {"seconds": 4.0, "shm_used_per_entry": 180.0},
                "full": webnode.summary([_clear("full", full_clear_s, 3.0)], ENTRIES),
                "prefix": webnode.summary([_clear("prefix", 0.2, prefix_reader_ms)], ENTRIES),
                "floor": webnode.summary([_clear("floor", floor_s, floor_reader_ms)], ENTRIES),
            }
        },
    }


def test_a_web_node_bench_that_met_every_target_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    missed: list[str] = []
    webnode.table(_webnode_report(full_clear_s=0.4), missed)
    assert missed == []
    assert webnode.exit_status(missed) == 0
    assert "missed" not in capsys.readouterr().out


def test_the_floor_is_in_the_table_with_the_clear_as_a_ratio_to_it() -> None:
    shown = webnode.table(_webnode_report(full_clear_s=0.4), [])
    lines = shown.splitlines()
    floor = next(line for line in lines if line.startswith("floor: bare apcu_clear_cache()"))
    assert "100 ms (median 100)" in floor
    # The absolute time stays, with no target; the ratio to the floor carries the target
    full = next(line for line in lines if line.startswith("full clear of 1,000,000"))
    assert full.rstrip().endswith("(median 400)")
    ratio = lines[lines.index(full) + 1]
    assert "4.0x" in ratio and ratio.rstrip().endswith("yes")
    assert any(
        "readers p99 during / during the floor" in line and "0.03x" in line for line in lines
    )


def test_a_web_node_clear_over_its_ratio_to_the_floor_exits_1_and_names_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a full clear of 1,000,000 entries 7x as long as the bare clear (the bound is 6x),
    # however short it is in absolute terms
    missed: list[str] = []
    shown = webnode.table(_webnode_report(full_clear_s=0.07, floor_s=0.01), missed)
    # Then the table marks it, and the exit status is 1 with the miss said again at the end
    assert any(line.rstrip().endswith("NO") for line in shown.splitlines())
    assert webnode.exit_status(missed) == 1
    said = capsys.readouterr().out
    assert "missed 1 target(s):" in said
    assert "full clear of 1,000,000: 7.0x the floor's time (median), target <= 6x" in said


def test_a_slow_machine_is_no_miss_when_the_ratio_holds() -> None:
    # Given 1.5 s for the clear on a machine where the bare clear takes 0.5 s (3x)
    missed: list[str] = []
    webnode.table(_webnode_report(full_clear_s=1.5, floor_s=0.5), missed)
    assert missed == []


def test_readers_blocked_as_by_the_bare_clear_exit_1() -> None:
    # Given readers' p99 during the full clear at 40 ms: 20x theirs before (the bound is 5x),
    # and 0.4x theirs during the floor, 100 ms (the bound is 0.25x): both rows miss
    missed: list[str] = []
    report = _webnode_report(full_clear_s=0.4)
    report["sizes"][str(ENTRIES)]["full"] = webnode.summary([_clear("full", 0.4, 40.0)], ENTRIES)
    webnode.table(report, missed)
    assert missed == [
        "readers' p99 during the full clear of 1,000,000: 20.0x before, target <= 5x",
        "readers' p99 during the full clear of 1,000,000: 0.40x theirs during the floor, "
        "target <= 0.25x",
    ]
    assert webnode.exit_status(missed) == 1


def test_readers_slowed_past_their_target_exit_1() -> None:
    # Given readers' p99 at 6x its value before the prefix clear (the target is 5x)
    missed: list[str] = []
    webnode.table(_webnode_report(full_clear_s=0.4, prefix_reader_ms=12.0), missed)
    assert missed == [
        "readers' p99 during the prefix clear of 100,000 of 1,000,000: 6.0x before, target <= 5x"
    ]
    assert webnode.exit_status(missed) == 1


def test_the_bench_exits_1_on_a_missed_row_and_names_it(capsys: pytest.CaptureFixture[str]) -> None:
    # Given an artifact over its 1 MiB target, as the table's row decides it
    missed: list[str] = []
    out = Lines(missed)
    assert out.target("artifact notifier: 1100 KiB, target < 1024 KiB", False) is False
    assert out.target("artifact dispatcher: 300 KiB, target < 1024 KiB", True) is True
    # Then the bench exits 1 and says which
    assert exit_status(missed) == 1
    said = capsys.readouterr().out
    assert "missed 1 target(s):\n  artifact notifier: 1100 KiB, target < 1024 KiB" in said
    assert "dispatcher" not in said


def test_the_bench_exits_0_when_every_target_is_met() -> None:
    assert exit_status([]) == 0
