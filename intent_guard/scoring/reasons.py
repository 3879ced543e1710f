"""Reasons: the best template match and the features furthest above benign traffic."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..templates.library import Template
from ..templates.similarity import SimilarityFeatures
from ..types import Reason

MAX_FEATURE_REASONS = 3
FeatureReference = tuple[tuple[int, str, float], ...]


def feature_reference(feature_names: Sequence[str], benign_p99: Mapping[str, float]) -> FeatureReference:
    """(column, name, benign 99th percentile) for each feature the bundle gives a reference for."""
    return tuple((i, name, float(benign_p99[name])) for i, name in enumerate(feature_names) if name in benign_p99)


def build_reasons(
    sim: SimilarityFeatures,
    row: np.ndarray,
    templates: Sequence[Template],
    reference: FeatureReference,
    min_similarity: float,
) -> tuple[Reason, ...]:
    """Strongest first: the best template (if similar enough), then features above benign p99.

    A feature is evidence when it exceeds its 99th percentile on benign training traffic, ranked
    by how far (value / p99).
    """
    reasons: list[Reason] = []
    if sim.best_row >= 0 and sim.best_similarity >= min_similarity:
        template = templates[sim.best_row]
        reasons.append(
            Reason(
                kind="template", id=template.id, category=template.category, similarity=round(sim.best_similarity, 4)
            )
        )
    ranked: list[tuple[float, str, float]] = []
    for column, name, limit in reference:
        value = float(row[column])
        if value > limit:
            ranked.append((value / limit if limit > 0 else float("inf"), name, value))
    ranked.sort(key=lambda item: (-item[0], item[1]))
    reasons.extend(
        Reason(kind="feature", name=name, value=round(value, 4)) for _, name, value in ranked[:MAX_FEATURE_REASONS]
    )
    return tuple(reasons)
