"""Session stores: where entity states live. In memory (bounded: LRU + TTL) by default."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Protocol, runtime_checkable

import numpy as np

from ..errors import ConfigError
from .state import LAST_T, Event, update_state


@runtime_checkable
class SessionStore(Protocol):
    """Applies events to entity states atomically and returns the new states."""

    def apply(self, updates: list[tuple[str, Event]]) -> list[np.ndarray]:
        """Update each (key, event) in order, atomically per call; return the states after."""
        ...

    def get(self, key: str) -> np.ndarray | None:
        """The current state of ``key`` (a copy), or None."""
        ...


class MemoryStore:
    """In-process store: at most ``max_entities`` states, least recently used evicted first.

    A state idle for more than ``ttl_seconds`` of *request time* (the newest timestamp seen, not
    the wall clock) is dropped and starts afresh. Thread safe.
    """

    def __init__(self, *, max_entities: int = 1_000_000, ttl_seconds: float = 7 * 86400.0) -> None:
        if not isinstance(max_entities, int) or max_entities < 1:
            raise ConfigError(
                f"The 'max_entities' parameter of MemoryStore must be an int >= 1. Got {max_entities!r} instead."
            )
        if not isinstance(ttl_seconds, (int, float)) or not ttl_seconds > 0:
            raise ConfigError(
                f"The 'ttl_seconds' parameter of MemoryStore must be a number > 0. Got {ttl_seconds!r} instead."
            )
        self.max_entities = max_entities
        self.ttl_seconds = float(ttl_seconds)
        self._states: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._now = 0.0
        self.evicted = 0
        self.expired = 0

    def __len__(self) -> int:
        return len(self._states)

    def apply(self, updates: list[tuple[str, Event]]) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        with self._lock:
            for key, event in updates:
                self._now = max(self._now, event.timestamp)
                state = self._states.get(key)
                if state is not None and event.timestamp - state[LAST_T] > self.ttl_seconds:
                    state = None
                    self.expired += 1
                new = update_state(state, event)
                self._states[key] = new
                self._states.move_to_end(key)
                out.append(new)
            self._evict()
        return out

    def get(self, key: str) -> np.ndarray | None:
        with self._lock:
            state = self._states.get(key)
            return None if state is None else state.copy()

    def _evict(self) -> None:
        while len(self._states) > self.max_entities:
            self._states.popitem(last=False)
            self.evicted += 1
        # Least recently used first: drop expired states from the cold end.
        while self._states:
            key, state = next(iter(self._states.items()))
            if self._now - state[LAST_T] <= self.ttl_seconds:
                break
            del self._states[key]
            self.expired += 1
