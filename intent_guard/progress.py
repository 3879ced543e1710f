"""Progress bars: tqdm (already installed with tokenizers), silent when stderr is not a terminal."""

from __future__ import annotations

import sys
from typing import IO


class Progress:
    """``Progress(total, "scoring")``; call ``update(n)`` and ``close()`` (or use it as a context).

    ``enabled=None`` draws only on a terminal; ``done`` is the count so far.
    """

    def __init__(
        self,
        total: int | None,
        label: str,
        *,
        stream: IO[str] | None = None,
        enabled: bool | None = None,
        unit: str = "req",
    ) -> None:
        from tqdm import tqdm

        stream = stream or sys.stderr
        self.done = 0
        self._bar = tqdm(
            total=total,
            desc=label.strip(),
            file=stream,
            disable=not (stream.isatty() if enabled is None else enabled),
            unit=unit,
            unit_scale=True,
            mininterval=0.1,
            dynamic_ncols=True,
        )

    def update(self, n: int = 1) -> None:
        self.done += n
        self._bar.update(n)

    def close(self) -> None:
        self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
