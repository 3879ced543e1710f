"""The account policy: a request's calibrated probability plus its account's evidence -> a decision
with reasons, strongest first.

* ``block`` rests on account evidence only: the account score (the decayed mean of its top-3
  request probabilities) at or above ``account_block``, from an account with at least
  ``block_min_requests`` requests. One request can never block: alone it lifts the score to a
  third of its probability at most.
* ``review``: the account score at or above ``account_review``, or one request at or above
  ``request_review`` (a single very template-like request is worth a look, never a block).
* With a deep analyser (:mod:`intent_guard.deep_analysis`), the account's *deep* evidence (the
  top-3 mean of the transformer's content-only probabilities of its analysed requests) reviews at
  ``deep_review`` and blocks at ``deep_block`` under the same history rule: a second,
  independently fitted channel of account evidence, either of which can decide.
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
    #: Deep-evidence thresholds (None: the deep channel decides nothing). A threshold above 1 is
    #: allowed: the calibration split left the channel no room at that rate.
    deep_review: float | None = None
    deep_block: float | None = None

    def __post_init__(self) -> None:
        for name in ("account_review", "account_block", "request_review"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ConfigError(f"The '{name}' threshold must be a float in [0, 1]. Got {value!r} instead.")
        for name in ("deep_review", "deep_block"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0):
                raise ConfigError(f"The '{name}' threshold must be a float >= 0 or None. Got {value!r} instead.")
        if (self.deep_review is None) != (self.deep_block is None):
            raise ConfigError("Set both deep thresholds ('deep_review' and 'deep_block') or neither.")
        for low, high in (("account_review", "account_block"), ("deep_review", "deep_block")):
            if getattr(self, low) is not None and getattr(self, low) > getattr(self, high):
                raise ConfigError(
                    f"The '{low}' threshold ({getattr(self, low)}) must not exceed '{high}' ({getattr(self, high)})."
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
        deep = account.deep_score if t.deep_review is not None else None
        deep_block = deep is not None and t.deep_block is not None and deep >= t.deep_block
        deep_review = deep is not None and t.deep_review is not None and deep >= t.deep_review
        block_level = account.score >= t.account_block or deep_block
        if block_level and account.requests >= self.block_min_requests:
            return Decided("block", account_reasons(account, t) + request_reasons)
        if block_level or account.score >= t.account_review or deep_review:
            reasons = account_reasons(account, t)
            if block_level:  # block-level evidence, too little history to block
                reasons += (Reason(kind="policy", name="block_needs_requests", value=self.block_min_requests),)
            return Decided("review", reasons + request_reasons)
        if probability >= t.request_review:
            return Decided(
                "review",
                (Reason(kind="request", name="probability", value=round(probability, 4)), *request_reasons),
            )
        return Decided("allow", request_reasons)


def account_reasons(account: AccountSnapshot, thresholds: DecisionThresholds | None = None) -> tuple[Reason, ...]:
    """The account's evidence, strongest first: its score (and its deep score, first when that is
    what crossed its threshold), its template-like volume and which categories, then which kinds
    of elicitation it asked for."""
    inline = Reason(kind="account", name="account_score", value=round(account.score, 4))
    reasons = [inline]
    if account.deep_score is not None:
        deep = [
            Reason(kind="account", name="deep_score", value=round(account.deep_score, 4)),
            Reason(kind="account", name="deep_analysed_requests", value=account.deep_requests),
        ]
        t = thresholds
        deep_decided = (
            t is not None
            and t.deep_review is not None
            and t.deep_block is not None
            and (
                (account.deep_score >= t.deep_review and account.score < t.account_review)
                or (account.deep_score >= t.deep_block and account.score < t.account_block)
            )
        )
        reasons = [*deep, inline] if deep_decided else [inline, *deep]
    reasons += [
        Reason(kind="account", name="campaign_like_requests", value=round(account.evidence_requests, 2)),
        Reason(kind="account", name="template_requests_7d", value=round(account.template_requests_7d, 2)),
    ]
    reasons += [
        Reason(kind="account", name="category_share", category=c, value=share) for c, share in account.categories
    ]
    if account.cue_kinds:
        reasons.append(Reason(kind="account", name="elicitation_kinds", value=",".join(account.cue_kinds)))
    return tuple(reasons)
