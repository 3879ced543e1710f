"""Streaming per-entity state (accounts, API keys, shared link values) and the stores that keep it."""

from .entities import (
    ACCOUNT,
    DEEP,
    KEY,
    LINK,
    SCHEMAS,
    AccountView,
    ClusterView,
    Observation,
    account_update,
    link_update,
)
from .state import EntityUpdate, Schema, update_state
from .store import MemoryStore, SessionStore, StoreResult

__all__ = [
    "ACCOUNT",
    "DEEP",
    "KEY",
    "LINK",
    "SCHEMAS",
    "AccountView",
    "ClusterView",
    "EntityUpdate",
    "MemoryStore",
    "Observation",
    "Schema",
    "SessionStore",
    "StoreResult",
    "account_update",
    "link_update",
    "update_state",
]
