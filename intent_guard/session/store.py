"""Session stores: where entity states live. In memory (bounded: LRU + TTL) by default.

A store applies one request's updates atomically (all its entities, in one call). It keeps
nothing else: every state is an entity's, with the same meaning, expiry and size in every store.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import NamedTuple, Protocol, runtime_checkable

import numpy as np

from ..errors import ConfigError
from .state import LAST_T, EntityUpdate, Schema, update_state

Update = tuple[str, Schema, EntityUpdate]


class StoreResult(NamedTuple):
    """States after one request's updates, and whether a fallback (local state) answered."""

    states: list[np.ndarray]
    degraded: bool = False


@runtime_checkable
class SessionStore(Protocol):
    """Applies entity updates atomically and returns the new states."""

    degraded: bool

    def apply(self, updates: Sequence[Update]) -> StoreResult:
        """Update each (key, schema, update) in order, atomically; returns the states after."""
        ...

    def get(self, key: str) -> np.ndarray | None:
        """The current state of ``key`` (a copy), or None."""
        ...

    def forget(self, key: str) -> bool:
        """Drop the state of ``key`` (an operator's reset); True if there was one."""
        ...


def _check_positive(name: str, value: object, integer: bool) -> None:
    ok = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok or not value > 0:  # type: ignore[operator]
        kind = "an int >= 1" if integer else "a number > 0"
        raise ConfigError(f"The {name!r} parameter of MemoryStore must be {kind}. Got {value!r} instead.")


class MemoryStore:
    """In-process store: at most ``max_entities`` states, least recently used evicted first.

    A state whose last request is more than ``ttl_seconds`` (of *request time*, not the wall
    clock) before the request that touches it starts afresh. Expiry is judged per entity against
    the incoming request only, never against a store-wide "now": one request with a far-future
    timestamp cannot expire anybody else's state. Memory is bounded by ``max_entities``. Thread safe.
    """

    degraded = False

    def __init__(self, *, max_entities: int = 1_000_000, ttl_seconds: float = 7 * 86400.0) -> None:
        _check_positive("max_entities", max_entities, integer=True)
        _check_positive("ttl_seconds", ttl_seconds, integer=False)
        self.max_entities = max_entities
        self.ttl_seconds = float(ttl_seconds)
        # States are kept as immutable bytes (33 B of overhead, against 112 B for an ndarray).
        self._states: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.evicted = 0
        self.expired = 0

    def __len__(self) -> int:
        return len(self._states)

    def apply(self, updates: Sequence[Update]) -> StoreResult:
        out: list[np.ndarray] = []
        with self._lock:
            for key, schema, update in updates:
                raw = self._states.get(key)
                state = None if raw is None else np.frombuffer(raw, dtype=np.float64)
                if state is not None and (
                    len(state) != schema.size or update.timestamp - state[LAST_T] > self.ttl_seconds
                ):
                    state = None
                    self.expired += 1
                new = update_state(schema, state, update)
                self._states[key] = new.tobytes()
                self._states.move_to_end(key)
                out.append(new)
            self._evict()
        return StoreResult(out)

    def get(self, key: str) -> np.ndarray | None:
        with self._lock:
            raw = self._states.get(key)
            return None if raw is None else np.frombuffer(raw, dtype=np.float64).copy()

    def forget(self, key: str) -> bool:
        with self._lock:
            return self._states.pop(key, None) is not None

    def _evict(self) -> None:
        while len(self._states) > self.max_entities:
            self._states.popitem(last=False)
            self.evicted += 1
