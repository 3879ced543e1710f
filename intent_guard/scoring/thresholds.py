"""Decision thresholds: probability >= block -> block, >= review -> review, else allow."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError
from ..types import Decision


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The bundle's thresholds, chosen in training at target benign false-positive rates."""

    review: float
    block: float

    def __post_init__(self) -> None:
        for name in ("review", "block"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ConfigError(f"The '{name}' threshold must be a float in [0, 1]. Got {value!r} instead.")
        if self.review > self.block:
            raise ConfigError(f"The 'review' threshold ({self.review}) must not exceed 'block' ({self.block}).")

    def decide(self, probability: float) -> Decision:
        if probability >= self.block:
            return "block"
        if probability >= self.review:
            return "review"
        return "allow"
