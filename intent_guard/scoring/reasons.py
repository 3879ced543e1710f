"""Reasons: the best template match and the features furthest above benign traffic."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..templates.library import Template
from ..templates.similarity import SimilarityFeatures
from ..types import Reason

MAX_FEATURE_REASONS = 3


def build_reasons(
    sim: SimilarityFeatures,
    row: np.ndarray,
    templates: Sequence[Template],
    feature_names: Sequence[str],
    reference: Mapping[str, float],
    min_similarity: float,
) -> tuple[Reason, ...]:
    """Strongest first: the best template (if similar enough), then features above benign p99.

    ``reference`` maps a feature name to its 99th percentile on benign training traffic; a
    feature is evidence when it exceeds that, ranked by how far (value / p99).
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
    for i, name in enumerate(feature_names):
        limit = reference.get(name)
        value = float(row[i])
        if limit is not None and value > limit:
            ranked.append((value / limit if limit > 0 else float("inf"), name, value))
    ranked.sort(key=lambda item: (-item[0], item[1]))
    reasons.extend(
        Reason(kind="feature", name=name, value=round(value, 4)) for _, name, value in ranked[:MAX_FEATURE_REASONS]
    )
    return tuple(reasons)
