"""Account-level decisions: calibrated request probabilities, the account's evidence read from its
session state, and the policy that turns both into ``allow`` / ``review`` / ``block`` with reasons."""

from .calibration import Platt
from .policy import Decided, DecisionThresholds, Policy
from .snapshot import AccountSnapshot

__all__ = ["AccountSnapshot", "Decided", "DecisionThresholds", "Platt", "Policy"]
