"""The account policy: a request's calibrated probability plus its account's evidence -> a decision
with reasons, strongest first.

* ``block`` rests on account evidence only: the account score (the decayed mean of its top-3
  request probabilities) at or above ``account_block``, from an account with at least
  ``block_min_requests`` requests. One request can never block: alone it lifts the score to a
  third of its probability at most.
* ``review``: the account score at or above ``account_review``, or one request at or above
  ``request_review`` (a single very template-like request is worth a look, never a block).
* Every non-allow decision carries reasons: the account's evidence first, then the request's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from ..types import Decision, Reason
from .snapshot import AccountSnapshot


@dataclass(frozen=True, slots=True)
class DecisionThresholds:
    """Account-score thresholds (chosen at target benign-account FPRs) and the request-level review one."""

    account_review: float
    account_block: float
    request_review: float

    def __post_init__(self) -> None:
        for name in ("account_review", "account_block", "request_review"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ConfigError(f"The '{name}' threshold must be a float in [0, 1]. Got {value!r} instead.")
        if self.account_review > self.account_block:
            raise ConfigError(
                f"The 'account_review' threshold ({self.account_review}) must not exceed "
                f"'account_block' ({self.account_block})."
            )

    @classmethod
    def from_manifest(cls, decision: Mapping[str, Any]) -> DecisionThresholds:
        """The bundle's ``decision`` section (its fields checked by :func:`~intent_guard.bundle.load_manifest`)."""
        return cls(
            float(decision["account_review"]), float(decision["account_block"]), float(decision["request_review"])
        )


@dataclass(frozen=True, slots=True)
class Decided:
    decision: Decision
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class Policy:
    """Turns (probability, account snapshot, the request's own reasons) into a decision."""

    thresholds: DecisionThresholds
    block_min_requests: int = 3

    def decide(self, probability: float, account: AccountSnapshot, request_reasons: tuple[Reason, ...]) -> Decided:
        t = self.thresholds
        if account.score >= t.account_block and account.requests >= self.block_min_requests:
            return Decided("block", account_reasons(account) + request_reasons)
        if account.score >= t.account_review:
            reasons = account_reasons(account)
            if account.score >= t.account_block:  # block-level evidence, too little history to block
                reasons += (Reason(kind="policy", name="block_needs_requests", value=self.block_min_requests),)
            return Decided("review", reasons + request_reasons)
        if probability >= t.request_review:
            return Decided(
                "review",
                (Reason(kind="request", name="probability", value=round(probability, 4)), *request_reasons),
            )
        return Decided("allow", request_reasons)


def account_reasons(account: AccountSnapshot) -> tuple[Reason, ...]:
    """The account's evidence, strongest first: its score, its template-like volume and which
    categories, then which kinds of elicitation it asked for."""
    reasons = [
        Reason(kind="account", name="account_score", value=round(account.score, 4)),
        Reason(kind="account", name="campaign_like_requests", value=round(account.evidence_requests, 2)),
        Reason(kind="account", name="template_requests_7d", value=round(account.template_requests_7d, 2)),
    ]
    reasons += [
        Reason(kind="account", name="category_share", category=c, value=share) for c, share in account.categories
    ]
    if account.cue_kinds:
        reasons.append(Reason(kind="account", name="elicitation_kinds", value=",".join(account.cue_kinds)))
    return tuple(reasons)
