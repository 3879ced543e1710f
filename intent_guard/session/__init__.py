"""Streaming per-entity state (account, API key) and the stores that keep it."""

from .state import HORIZONS, STATE_SIZE, TOPIC_DIM, Event, state_features, update_state
from .store import MemoryStore, SessionStore

__all__ = [
    "HORIZONS",
    "STATE_SIZE",
    "TOPIC_DIM",
    "Event",
    "MemoryStore",
    "SessionStore",
    "state_features",
    "update_state",
]
