"""Fixed-size streaming state of one entity, updated per request with the request's own timestamp.

Every entity (an account, an API key, a shared *link value* such as a payment fingerprint) is one
float64 vector laid out by a :class:`Schema`::

    [last_t, first_t, n, decayed slots ..., stamp slots ...]

* A **decayed slot** ``i`` holds a sum that decays with horizon ``h_i``: at a request ``dt``
  seconds after the previous one it becomes ``s_i * exp(-dt / h_i) + x_i``. Counts, shares,
  histograms (hour of day, template category, topic) are all such sums, so one update rule
  serves everything, and the same rule runs as a short Lua script in Redis.
* Three **gap slots** (a schema's ``gap_slot``..+2) receive ``1, log1p(dt), log1p(dt)^2`` on every
  request but the first: a decayed mean and variance of the log inter-arrival time
  (machine-regular callers have a low variance).
* A **stamp slot** holds the last time any account hashed to it was seen (max-update): 64 of them
  estimate the number of distinct accounts behind a link value within any window, by linear
  counting.

The state never reads the wall clock, so replaying a log gives the features live traffic gave.
Events older than the entity's latest one count with ``dt = 0`` (full weight).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

LAST_T, FIRST_T, N_TOTAL = 0, 1, 2
META = 3
MINUTE, HOUR, DAY, WEEK = 60.0, 3600.0, 86400.0, 7 * 86400.0


@dataclass(frozen=True)
class Schema:
    """The layout of one kind of entity: named decayed slots with horizons, and stamp slots."""

    name: str
    slots: tuple[tuple[str, float], ...]  # (name, horizon seconds), in order
    stamps: int = 0

    def __post_init__(self) -> None:
        names = [n for n, _ in self.slots]
        if len(set(names)) != len(names):
            raise ValueError(f"schema {self.name} has duplicate slot names")

    @cached_property
    def size(self) -> int:
        return META + len(self.slots) + self.stamps

    @cached_property
    def horizons(self) -> np.ndarray:
        return np.array([h for _, h in self.slots], dtype=np.float64)

    def slot(self, name: str) -> int:
        """Index of a decayed slot in the state vector."""
        for i, (n, _) in enumerate(self.slots):
            if n == name:
                return META + i
        raise KeyError(f"schema {self.name} has no slot {name!r}")

    def block(self, prefix: str) -> slice:
        """The contiguous decayed slots named ``prefix0``, ``prefix1``, ... as a slice."""
        first = self.slot(f"{prefix}0")
        n = sum(1 for name, _ in self.slots if name.startswith(prefix) and name[len(prefix) :].isdigit())
        return slice(first, first + n)

    @cached_property
    def gap_slot(self) -> int | None:
        try:
            return self.slot("gap_n")
        except KeyError:
            return None

    @cached_property
    def stamp_start(self) -> int:
        return META + len(self.slots)

    @cached_property
    def n_slots(self) -> int:
        return len(self.slots)


@dataclass(frozen=True, slots=True)
class EntityUpdate:
    """What one request adds to one entity: sparse increments and an optional stamp slot."""

    timestamp: float
    increments: tuple[tuple[int, float], ...]  # (state index, amount)
    stamp: int = -1  # index among the schema's stamp slots, or -1
    #: False for a second write about the same request (e.g. its probability, after scoring): the
    #: increments are added, but it is not counted as another request (no count, no gap).
    tally: bool = True


def new_state(schema: Schema) -> np.ndarray:
    return np.zeros(schema.size, dtype=np.float64)


def update_state(schema: Schema, state: np.ndarray | None, update: EntityUpdate) -> np.ndarray:
    """Return the state after ``update`` (a new array; ``state`` is left unchanged).

    ``intent_guard/session/redis_lua.py`` implements the same rule in Lua; the Redis store's tests
    check that both agree.
    """
    out = new_state(schema) if state is None else state.copy()
    t = update.timestamp
    first = out[N_TOTAL] == 0
    dt = 0.0 if first else max(0.0, t - out[LAST_T])
    if first:
        out[FIRST_T] = out[LAST_T] = t
    if dt > 0.0:
        out[META : META + schema.n_slots] *= np.exp(-dt / schema.horizons)
    for index, amount in update.increments:
        out[index] += amount
    gap = schema.gap_slot
    if gap is not None and not first and update.tally:
        x = math.log1p(dt)
        out[gap] += 1.0
        out[gap + 1] += x
        out[gap + 2] += x * x
    if update.stamp >= 0:
        index = schema.stamp_start + update.stamp
        out[index] = max(out[index], t)
    out[LAST_T] = max(out[LAST_T], t)
    if update.tally:
        out[N_TOTAL] += 1
    return out


def distinct_within(state: np.ndarray, schema: Schema, now: float, window: float) -> float:
    """Linear-counting estimate of distinct accounts seen within ``window`` seconds of ``now``."""
    stamps = state[schema.stamp_start : schema.stamp_start + schema.stamps]
    occupied = int(np.count_nonzero(stamps > now - window))
    m = schema.stamps
    if occupied == 0:
        return 0.0
    if occupied >= m:
        return m * math.log(m)  # saturated: "many"
    return -m * math.log(1.0 - occupied / m)


def entropy(counts: Sequence[float]) -> float:
    """Shannon entropy (nats) of a non-negative histogram; 0 when empty."""
    total = math.fsum(counts)
    if total <= 0:
        return 0.0
    return -math.fsum(c / total * math.log(c / total) for c in counts if c > 0)
