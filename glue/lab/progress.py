"""A small progress display on stderr: one updating line on a terminal, plain lines elsewhere."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO


class Progress:
    """`with Progress() as p: p.note("seeding")` -- shows elapsed seconds and the latest note."""

    def __init__(self, stream: TextIO | None = None, every: float = 0.0) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.started = time.monotonic()
        self.every = every if not self.tty else 0.0
        self._last_plain = 0.0
        self._width = 0

    def note(self, text: str) -> None:
        elapsed = time.monotonic() - self.started
        line = f"[{elapsed:6.1f}s] {text}"
        if self.tty:
            pad = max(0, self._width - len(line))
            self.stream.write("\r" + line + " " * pad)
            self._width = len(line)
        elif elapsed - self._last_plain >= self.every or "day" not in text:
            self.stream.write(line + "\n")
            self._last_plain = elapsed
        self.stream.flush()

    def done(self, text: str) -> None:
        if self.tty and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self._width = 0
        self.note(text)
        if self.tty:
            self.stream.write("\n")
            self._width = 0

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.tty and self._width:
            self.stream.write("\n")
        self.stream.flush()
