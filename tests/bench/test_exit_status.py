"""`make bench` tells a script whether every target was met: exit 1 with the misses named, shown
here without running the bench (the table of a report with a missed row decides the status)."""

from __future__ import annotations

from typing import Any

import pytest

from bench import run, webnode

ENTRIES = 1_000_000


def _clear(kind: str, seconds: float, reader_ms: float) -> webnode.Clear:
    # One clear as bench/webnode.py measures it: readers' latencies before and during, in seconds.
    before = tuple(0.002 for _ in range(200))
    during = tuple(reader_ms / 1000 for _ in range(200))
    cleared = ENTRIES if kind == "full" else ENTRIES // webnode.PREFIX_EVERY
    return webnode.Clear(kind, seconds, cleared, ENTRIES, before, during, before, before, 0)


def _webnode_report(full_clear_s: float, prefix_reader_ms: float = 3.0) -> dict[str, Any]:
    return {
        "machine": {"date": "2026-12-01T00:00:00Z", "cores": 2, "load_average": [0.1, 0.1, 0.1]},
        "sizes": {
            str(ENTRIES): {
                "php_ini": webnode.php_settings(ENTRIES),
                "fill": {"seconds": 4.0, "shm_used_per_entry": 180.0},
                "full": webnode.summary([_clear("full", full_clear_s, 3.0)], ENTRIES),
                "prefix": webnode.summary([_clear("prefix", 0.2, prefix_reader_ms)], ENTRIES),
            }
        },
    }


def test_a_web_node_bench_that_met_every_target_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    missed: list[str] = []
    webnode.table(_webnode_report(full_clear_s=0.4), missed)
    assert missed == []
    assert webnode.exit_status(missed) == 0
    assert "missed" not in capsys.readouterr().out


def test_a_web_node_clear_over_its_target_exits_1_and_names_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a full clear of 1,000,000 entries that took 1.5 s (the target is 1 s)
    missed: list[str] = []
    shown = webnode.table(_webnode_report(full_clear_s=1.5), missed)
    # Then the table marks it, and the exit status is 1 with the miss said again at the end
    assert any(line.rstrip().endswith("NO") for line in shown.splitlines())
    assert webnode.exit_status(missed) == 1
    said = capsys.readouterr().out
    assert "missed 1 target(s):" in said
    assert "full clear of 1,000,000: 1500 ms (max), target <= 1000 ms" in said


def test_readers_slowed_past_their_target_exit_1() -> None:
    # Given readers' p99 at 4.5x its value before the prefix clear (the target is 3x)
    missed: list[str] = []
    webnode.table(_webnode_report(full_clear_s=0.4, prefix_reader_ms=9.0), missed)
    assert missed == [
        "readers' p99 during the prefix clear of 100,000 of 1,000,000: 4.5x before, target <= 3x"
    ]
    assert webnode.exit_status(missed) == 1


def test_the_bench_exits_1_on_a_missed_row_and_names_it(capsys: pytest.CaptureFixture[str]) -> None:
    # Given an artifact over its 1 MiB target, as the table's row decides it
    missed: list[str] = []
    assert run._target(missed, "artifact notifier: 1100 KiB, target < 1024 KiB", False) is False
    assert run._target(missed, "artifact dispatcher: 300 KiB, target < 1024 KiB", True) is True
    # Then the bench exits 1 and says which
    assert run.exit_status(missed) == 1
    said = capsys.readouterr().out
    assert "missed 1 target(s):\n  artifact notifier: 1100 KiB, target < 1024 KiB" in said
    assert "dispatcher" not in said


def test_the_bench_exits_0_when_every_target_is_met() -> None:
    assert run.exit_status([]) == 0
