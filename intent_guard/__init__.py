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
from .types import Client, Message, Reason, Request, Verdict

TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from .guard import Guard


def __getattr__(name: str) -> object:
    """``Guard`` is imported on first use: ``import intent_guard`` (types, errors, the CLI's
    ``--version``) loads no onnxruntime, FAISS or tokenizers."""
    if name == "Guard":
        from .guard import Guard

        return Guard
    raise AttributeError(f"module 'intent_guard' has no attribute {name!r}")


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
