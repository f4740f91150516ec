"""The table's lines: a figure, its target and whether it was met, in fixed columns; each
missed target also named in `missed`, for the exit status."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Lines:
    missed: list[str]
    lines: list[str] = field(default_factory=list)

    def text(self, line: str) -> None:
        self.lines.append(line)

    def row(self, measure: str, figure: str, target: str = "", met: bool | None = None) -> None:
        mark = "" if met is None else "yes" if met else "NO"
        self.lines.append(f"{measure:<56} {figure:>24}  {target:<24} {mark}".rstrip())

    def header(self) -> None:
        self.lines.append(f"{'measure':<56} {'figure':>24}  {'target':<24} met")
        self.lines.append("-" * 110)

    def target(self, what: str, met: bool) -> bool:
        """Note a missed target, and hand `met` on to the row."""
        if not met:
            self.missed.append(what)
        return met


def exit_status(missed: list[str]) -> int:
    """1 when a target was missed, each named again under the table."""
    if not missed:
        return 0
    print(f"\nmissed {len(missed)} target(s):")
    for what in missed:
        print(f"  {what}")
    return 1
