"""Progress while waiting: one live line on a terminal, a line per change in a pipeline log."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from apcu_flush import render
from apcu_flush.wait import Waiting

# How often the live line's clock moves; each tick is a sleep, never a spin.
TICK_SECONDS = 1.0
_CLEAR_LINE = "\r\x1b[K"


class Progress:
    def __init__(
        self,
        stream: TextIO,
        *,
        live: bool,
        quiet: bool = False,
        clock: Callable[[], float] = time.monotonic,
        pause: Callable[[float], None] = time.sleep,
    ) -> None:
        self._stream = stream
        self._live = live and not quiet
        self._quiet = quiet
        self._clock = clock
        self._pause = pause
        self._last_line = ""
        self._drawn = False

    def observe(self, waiting: Waiting) -> None:
        if self._quiet:
            return
        line = render.progress(waiting.last, self._clock() - waiting.started)
        if self._live:
            self._draw(line)
            return
        # In a log, print a state only when it changes, not its clock.
        state = line.split(" · ", 2)
        key = " · ".join(state[:1] + state[2:])
        if key != self._last_line:
            self._last_line = key
            print(line, file=self._stream, flush=True)

    def sleep(self, seconds: float, waiting: Waiting) -> None:
        if not self._live:
            self._pause(seconds)
            return
        end = self._clock() + seconds
        while (left := end - self._clock()) > 0:
            self._pause(min(TICK_SECONDS, left))
            self._draw(render.progress(waiting.last, self._clock() - waiting.started))

    def finish(self) -> None:
        if self._drawn:
            self._stream.write(_CLEAR_LINE)
            self._stream.flush()
            self._drawn = False

    def _draw(self, line: str) -> None:
        self._stream.write(_CLEAR_LINE + line)
        self._stream.flush()
        self._drawn = True
