"""How `make demo` prints its steps: short readable lines, never raw Python dicts.

The dispatcher's 202 answer is printed with its warnings, since they are what catches an
unmanaged or offline instance before the verdict does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

INDENT = "        "


def step(n: int, total: int, text: str) -> None:
    print(f"  [{n}/{total}] {text}", flush=True)


def detail(text: str) -> None:
    print(f"{INDENT}{text}", flush=True)


def expectation(expect: Mapping[str, Any]) -> str:
    """The 202's `expect`, as a sentence: what a complete clear will look like."""
    return (
        f"the group wants {expect.get('desiredCapacity', '?')}, "
        f"{expect.get('inService', '?')} InService, "
        f"{expect.get('managedOnline', '?')} with an SSM agent online"
    )


def dispatcher_answer(event_name: str, body: Mapping[str, Any]) -> tuple[str, list[str]]:
    """The step line for the dispatcher's 202, and one line per warning it carries."""
    line = (
        f"dispatcher: {event_name} -> 202, command {body.get('commandId')}; "
        f"{expectation(body.get('expect', {}))}"
    )
    warnings = [
        f"warning ({w.get('reason', '?')}): {w.get('message', '')}"
        for w in body.get("warnings", [])
        if isinstance(w, Mapping)
    ]
    notes = warnings or ["no warnings: every InService instance has an agent online"]
    alarm = body.get("stopAlarm")
    if isinstance(alarm, Mapping):
        notes.append(
            f"stop alarm {alarm.get('name')}: {alarm.get('state')}; the command carries it, "
            "and SSM holds what has not run while it is in ALARM"
        )
    return line, notes


def print_dispatcher_answer(n: int, total: int, event_name: str, body: Mapping[str, Any]) -> None:
    line, notes = dispatcher_answer(event_name, body)
    step(n, total, line)
    for note in notes:
        detail(note)
