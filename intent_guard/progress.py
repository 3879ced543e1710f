"""A dependency-free progress line for terminals (silent when stderr is not a terminal)."""

from __future__ import annotations

import sys
import time
from typing import IO


class Progress:
    """``Progress(total, "scoring")``; call ``update(n)`` and ``close()``. Redraws at most 10x/s."""

    def __init__(
        self, total: int | None, label: str, *, stream: IO[str] | None = None, enabled: bool | None = None
    ) -> None:
        self.total = total
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.done = 0
        self.start = time.perf_counter()
        self._last_draw = 0.0

    def update(self, n: int = 1) -> None:
        self.done += n
        now = time.perf_counter()
        if self.enabled and now - self._last_draw >= 0.1:
            self._last_draw = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        elapsed = max(now - self.start, 1e-9)
        rate = self.done / elapsed
        if self.total:
            share = min(1.0, self.done / self.total)
            bar = "#" * int(share * 30)
            eta = (self.total - self.done) / rate if rate > 0 else 0.0
            text = f"\r{self.label} [{bar:<30}] {self.done:,}/{self.total:,} {rate:,.0f}/s eta {eta:,.0f}s"
        else:
            text = f"\r{self.label} {self.done:,} {rate:,.0f}/s"
        self.stream.write(text)
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw(time.perf_counter())
            self.stream.write("\n")
            self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
