"""Validated, keyword-only settings of a Guard."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .errors import ConfigError

MODES = ("enforce", "observe")


@dataclass(frozen=True, slots=True, kw_only=True)
class GuardConfig:
    """Settings of a :class:`~intent_guard.Guard`.

    Args:
        max_entities: cap on tracked entities (accounts + API keys) in the memory store.
        ttl_seconds: an entity idle this long (in request time) is forgotten.
        review_threshold / block_threshold: override the bundle's *account-score* thresholds
            (None keeps them; ``intent-guard calibrate`` fits them on your own traffic).
        request_review_threshold: override the bundle's single-request review threshold.
        batch_size: requests embedded together by ``score_many``.
        block_min_requests: ``block`` needs at least this many requests from the account (all
            time, not decayed); below, block-level account evidence gives ``review``. No single
            prompt may get an account blocked: blocking needs behaviour, not just content.
        mode: ``"enforce"`` (decisions as decided) or ``"observe"`` (``decision`` is always
            ``allow``; ``would_decide`` says what enforcing would have done): run a new deployment
            in observe mode first, then enforce once its would-review / would-block rates are known.
        trusted_accounts: account ids that are always allowed, as in observe mode: their verdicts
            say what would have been decided (``would_decide``) and carry a ``trusted_account``
            reason. For the operator's own evaluation runs and known batch customers.
    """

    max_entities: int = 1_000_000
    ttl_seconds: float = 7 * 86400.0
    review_threshold: float | None = None
    block_threshold: float | None = None
    batch_size: int = 256
    request_review_threshold: float | None = None
    block_min_requests: int = 3
    mode: Literal["enforce", "observe"] = "enforce"
    trusted_accounts: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        _check(
            isinstance(self.max_entities, int) and self.max_entities >= 1,
            "max_entities",
            "an int >= 1",
            self.max_entities,
        )
        _check(_is_number(self.ttl_seconds) and self.ttl_seconds > 0, "ttl_seconds", "a number > 0", self.ttl_seconds)
        _check(
            isinstance(self.batch_size, int) and 1 <= self.batch_size <= 65536,
            "batch_size",
            "an int in [1, 65536]",
            self.batch_size,
        )
        _check(
            isinstance(self.block_min_requests, int) and self.block_min_requests >= 1,
            "block_min_requests",
            "an int >= 1",
            self.block_min_requests,
        )
        _check(self.mode in MODES, "mode", f"one of {MODES}", self.mode)
        _check(
            isinstance(self.trusted_accounts, frozenset) and all(isinstance(a, str) for a in self.trusted_accounts),
            "trusted_accounts",
            "a frozenset of account-id strings",
            self.trusted_accounts,
        )
        for name in ("review_threshold", "block_threshold", "request_review_threshold"):
            value = getattr(self, name)
            _check(
                value is None or (_is_number(value) and 0.0 <= value <= 1.0), name, "None or a float in [0, 1]", value
            )


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check(ok: bool, name: str, rule: str, value: object) -> None:
    if not ok:
        raise ConfigError(f"The {name!r} parameter of GuardConfig must be {rule}. Got {value!r} instead.")
