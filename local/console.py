"""How `make demo` prints: numbered steps in short sentences, never raw Python dicts; Slack and
the execution history indented under the step that produced them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TextIO

INDENT = "        "
BAR = INDENT + "│ "


class Console:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._step = 0

    def say(self, text: str = "") -> None:
        print(text, file=self.stream, flush=True)

    def scenario(self, title: str) -> None:
        self._step = 0
        self.say(f"\n{title}")

    def step(self, text: str) -> None:
        self._step += 1
        self.say(f"  [{self._step}] {text}")

    def detail(self, text: str) -> None:
        self.say(f"{INDENT}{text}")

    def block(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.say(f"{BAR}{line}")


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
