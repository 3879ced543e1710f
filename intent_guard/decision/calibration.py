"""Platt calibration of the scorer's raw probabilities.

The scorer is trained with account-balanced weights, so its raw output ranks requests but is not a
probability. Platt scaling (``sigmoid(a * logit(p) + b)``, fitted on the build's calibration split)
makes it one *at the calibration split's campaign prior* (``prior``, recorded in the manifest): the
share of campaign requests in the split, far above any real deployment's. The map is strictly
increasing, so the request ranking is unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import BundleError

_EPS = 1e-6


@dataclass(frozen=True, slots=True)
class Platt:
    """``p -> sigmoid(a * logit(p) + b)``; the identity is ``Platt(1, 0)``."""

    a: float = 1.0
    b: float = 0.0
    prior: float | None = None  # campaign share of the requests it was fitted on

    def __post_init__(self) -> None:
        if not (math.isfinite(self.a) and self.a > 0 and math.isfinite(self.b)):
            raise BundleError(
                f"Platt calibration needs a finite slope > 0 and a finite intercept, got {self.a}, {self.b}"
            )

    def __call__(self, probability: float) -> float:
        p = min(1.0 - _EPS, max(_EPS, probability))
        z = self.a * math.log(p / (1.0 - p)) + self.b
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))

    def many(self, probabilities: np.ndarray) -> np.ndarray:
        """The same map over an array (training and evaluation)."""
        p = np.clip(np.asarray(probabilities, dtype=np.float64), _EPS, 1.0 - _EPS)
        return 1.0 / (1.0 + np.exp(-(self.a * np.log(p / (1.0 - p)) + self.b)))

    @classmethod
    def from_manifest(cls, data: Mapping[str, Any]) -> Platt:
        """The bundle's calibration (``decision.calibration`` of its manifest)."""
        try:
            return cls(float(data["a"]), float(data["b"]), None if data.get("prior") is None else float(data["prior"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise BundleError(f"manifest 'decision.calibration' must hold numbers a and b: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        return {"method": "platt", "a": self.a, "b": self.b, "prior": self.prior}
