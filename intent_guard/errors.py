"""The exception tree of intent_guard.

::

    IntentGuardError
     +-- ConfigError              a setting has the wrong type or value
     +-- InvalidRequestError      a request does not follow the request-log spec (also ValueError)
     +-- CorruptLogError          a gzip log is truncated or damaged (logs.py; also ValueError)
     +-- BundleError              a model bundle is missing, corrupt, tampered or incompatible
     |    +-- FeatureContractError  the bundle's feature names differ from this library's
     +-- MissingDependencyError   an optional extra is not installed (also ImportError)
     +-- BackendError             a backend (onnxruntime, FAISS, Redis) failed at run time
     +-- SetupError               a gateway integration is configured wrongly (not a ValueError)
"""

from __future__ import annotations


class IntentGuardError(Exception):
    """Base class of every error intent_guard raises on purpose."""


class ConfigError(IntentGuardError, ValueError):
    """A setting has the wrong type or value; the message names the field, the rule and the value."""


class InvalidRequestError(IntentGuardError, ValueError):
    """A request does not follow the request-log spec; the message says which field and why."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}" if line is not None else message)


class BundleError(IntentGuardError):
    """A model bundle is missing, corrupt, tampered with or built for another library version."""


class FeatureContractError(BundleError):
    """The bundle's feature names (in order) differ from the ones this library computes."""


class MissingDependencyError(IntentGuardError, ImportError):
    """An optional dependency is not installed; the message gives the pip command that fixes it."""


class BackendError(IntentGuardError):
    """A backend (onnxruntime, FAISS, a state store) failed while scoring."""


def require(module: str, extra: str) -> object:
    """Import ``module`` or raise MissingDependencyError naming the extra that provides it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{module!r} is needed for this and is not installed. Install it with: pip install 'intent-guard[{extra}]'"
        ) from exc


class StoreError(IntentGuardError):
    """The session store failed or answered something unreadable (the Guard falls back to local state)."""


class SetupError(IntentGuardError):
    """A gateway integration is configured wrongly; the message names the setting and what to fix.

    Deliberately not a ValueError: LiteLLM skips a guardrail whose constructor raises ValueError or
    TypeError and serves every call without it, where a guard that was asked for must stop the
    proxy instead."""
