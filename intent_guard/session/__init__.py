"""Streaming per-entity state (accounts, API keys, shared link values) and the stores that keep it."""

from .entities import (
    ACCOUNT,
    ACCOUNT_FEATURES,
    CLUSTER_FEATURES,
    KEY,
    KEY_FEATURES,
    LINK,
    SCHEMAS,
    Observation,
    account_features,
    account_update,
    cluster_features,
    key_features,
    key_update,
    link_update,
)
from .state import EntityUpdate, Schema, update_state
from .store import MemoryStore, SessionStore, StoreResult

__all__ = [
    "ACCOUNT",
    "ACCOUNT_FEATURES",
    "CLUSTER_FEATURES",
    "KEY",
    "KEY_FEATURES",
    "LINK",
    "SCHEMAS",
    "EntityUpdate",
    "MemoryStore",
    "Observation",
    "Schema",
    "SessionStore",
    "StoreResult",
    "account_features",
    "account_update",
    "cluster_features",
    "key_features",
    "key_update",
    "link_update",
    "update_state",
]
