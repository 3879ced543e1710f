"""Test doubles: a scorer whose probability the test sets, and a Guard built around it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from intent_guard import Guard, GuardConfig
from intent_guard.bundle import load_manifest
from intent_guard.decision import Platt
from intent_guard.features import FEATURE_NAMES
from intent_guard.pipeline import FeaturePipeline
from intent_guard.session import MemoryStore, SessionStore

#: The shipped bundle (not imported from conftest: fakes also load inside a LiteLLM proxy, without pytest).
DEFAULT_BUNDLE = Path(__file__).resolve().parents[1] / "models" / "default"


class FakeScorer:
    """Returns ``probability`` for every row (or ``fn(row)`` when given): policy tests set it directly."""

    n_features = len(FEATURE_NAMES)

    def __init__(self, probability: float = 0.0, fn: Callable[[np.ndarray], float] | None = None) -> None:
        self.probability = probability
        self.fn = fn

    def predict_proba(self, rows: np.ndarray) -> np.ndarray:
        if self.fn is not None:
            return np.array([self.fn(row) for row in rows], dtype=np.float64)
        return np.full(len(rows), self.probability, dtype=np.float64)


#: Thresholds the policy tests use, so that they do not depend on the shipped bundle's.
TEST_THRESHOLDS = {"review_threshold": 0.5, "block_threshold": 0.8, "request_review_threshold": 0.95}


def fake_guard(
    scorer: FakeScorer | None = None, *, store: SessionStore | None = None, **config: object
) -> tuple[Guard, FakeScorer]:
    """A Guard on the shipped bundle's pipeline with ``scorer`` in place of the ONNX model and no
    calibration (the probability the test sets is the one the policy sees)."""
    scorer = scorer or FakeScorer()
    manifest = load_manifest(DEFAULT_BUNDLE)
    settings = {**TEST_THRESHOLDS, **config}
    guard = Guard(
        manifest=manifest,
        pipeline=FeaturePipeline.from_manifest(manifest, store or MemoryStore()),
        scorer=scorer,
        config=GuardConfig(**settings),  # type: ignore[arg-type]
        encoder_kind=manifest.serving_encoder,
    )
    guard.calibration = Platt()
    return guard, scorer
