"""How a long load says how far it is: a callback, bars on a terminal, or log lines.

Off a terminal (a CI log, ``nohup``, a container) a bar's carriage returns show
nothing useful, so each phase writes a line when it starts, every few seconds
or tenth of the way, and when it ends: rows done of the total, the rate and
the time left.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

import click

# phase, rows done, rows in the phase
ProgressCallback = Callable[[str, int, int], None]

LINE_SECONDS = 5.0  # at most this long between two log lines of a phase


class Progress:
    """Report each phase's progress to a callback, to stderr (bars or lines), or nowhere.

    :param report: a callback ``(phase, done, total)``; True for stderr, bars when it is a
        terminal and log lines when it is not; False for silence.
    """

    def __init__(self, report: bool | ProgressCallback, stream: TextIO | None = None) -> None:
        self._report = report
        self._stream = stream

    @contextmanager
    def phase(self, name: str, total: int) -> Iterator[Callable[[int], None]]:
        """Yield a function that adds a number of finished rows to the phase named ``name``."""
        if callable(self._report):
            callback = self._report
            done = 0

            def step(n: int) -> None:
                nonlocal done
                done += n
                callback(name, done, total)

            callback(name, 0, total)
            yield step
            return
        if not self._report:
            yield lambda n: None
            return
        stream = self._stream or sys.stderr
        if stream.isatty():
            with click.progressbar(
                length=max(total, 1), label=f"{name:<13}", file=stream, show_pos=True
            ) as bar:
                yield bar.update
            return
        lines = _LogLines(name, total, stream)
        yield lines.step
        lines.finish()


class _LogLines:
    """Progress of one phase as log lines: ``demo: interactions 1,200,000/8,000,000 (15%) …``.

    The rate counts the phase's own items: customers, interactions, answers rolled up.
    """

    def __init__(self, name: str, total: int, stream: TextIO) -> None:
        self.name, self.total, self.stream = name, total, stream
        self.done = 0
        self.started = self.last_line = time.monotonic()
        self.last_tenth = 0
        self._write(f"demo: {name} 0/{total:,} started")

    def step(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        tenth = 10 * self.done // self.total if self.total else 10
        if self.done >= self.total:
            return  # the closing line says it
        if now - self.last_line >= LINE_SECONDS or tenth > self.last_tenth:
            self.last_line, self.last_tenth = now, tenth
            self._write(self._line(now))

    def finish(self) -> None:
        seconds = time.monotonic() - self.started
        rate = self.done / seconds if seconds > 0 else 0.0
        self._write(
            f"demo: {self.name} {self.done:,}/{self.total:,} done in {seconds:.1f} s "
            f"({rate:,.0f}/s)"
        )

    def _line(self, now: float) -> str:
        seconds = now - self.started
        rate = self.done / seconds if seconds > 0 else 0.0
        share = f"{100 * self.done / self.total:.0f}%" if self.total else "-"
        left = (self.total - self.done) / rate if rate > 0 else None
        eta = "?" if left is None else _duration(left)
        return (
            f"demo: {self.name} {self.done:,}/{self.total:,} ({share}), "
            f"{rate:,.0f}/s, {_duration(seconds)} elapsed, ETA {eta}"
        )

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
