"""intent_guard: per-request probability that an LLM API caller runs a distillation campaign."""

from ._version import __version__
from .config import GuardConfig
from .errors import (
    BackendError,
    BundleError,
    ConfigError,
    FeatureContractError,
    IntentGuardError,
    InvalidRequestError,
    MissingDependencyError,
)
from .guard import Guard
from .types import Client, Message, Reason, Request, Verdict

__all__ = [
    "BackendError",
    "BundleError",
    "Client",
    "ConfigError",
    "FeatureContractError",
    "Guard",
    "GuardConfig",
    "IntentGuardError",
    "InvalidRequestError",
    "Message",
    "MissingDependencyError",
    "Reason",
    "Request",
    "Verdict",
    "__version__",
]
