"""Similarity features: how close a request's views come to each category of known templates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import BundleError
from .index import TemplateIndex
from .library import Template

#: The template categories of the feature contract, in order.
CATEGORIES: tuple[str, ...] = (
    "cot_dump",
    "trace_reconstruction",
    "agentic_tool_probe",
    "capability_sweep",
    "reward_grading",
    "sysprompt_extraction",
    "agentic_coding",
    "structured_harvest",
    "synthetic_data",
)
TOP_K_MEAN = 3
#: Libraries up to this size are searched exhaustively, so every category's features are exact.
FULL_SEARCH_LIMIT = 512
PARTIAL_K = 64


@dataclass(frozen=True, slots=True)
class SimilarityFeatures:
    """Per-category max and top-k mean similarity of the user views, plus the best match."""

    category_max: np.ndarray
    category_topk: np.ndarray
    user_max: float
    system_max: float
    best_row: int
    best_similarity: float


def category_rows(templates: list[Template]) -> np.ndarray:
    """The category index of each template row; refuses categories outside the contract."""
    unknown = sorted({t.category for t in templates} - set(CATEGORIES))
    if unknown:
        raise BundleError(f"templates use categories outside the feature contract: {unknown}; known: {CATEGORIES}")
    lookup = {c: i for i, c in enumerate(CATEGORIES)}
    return np.array([lookup[t.category] for t in templates], dtype=np.int64)


def search_k(index: TemplateIndex) -> int:
    return index.size if index.size <= FULL_SEARCH_LIMIT else PARTIAL_K


def similarity_features(
    user_sims: np.ndarray,
    user_rows: np.ndarray,
    system_sims: np.ndarray | None,
    categories: np.ndarray,
) -> SimilarityFeatures:
    """Fold the hits of one request's user views ([views, k]) and system view ([k]) into features.

    A template's similarity is its best over the user views; a category's max is its best
    template, its top-k mean the mean of its TOP_K_MEAN best templates (0 where it has no hit).
    """
    n_cat = len(CATEGORIES)
    best_per_row: dict[int, float] = {}
    for sims, rows in zip(user_sims, user_rows, strict=True):
        for sim, row in zip(sims.tolist(), rows.tolist(), strict=True):
            if row >= 0 and sim > best_per_row.get(row, -2.0):
                best_per_row[row] = sim
    per_category: list[list[float]] = [[] for _ in range(n_cat)]
    for row, sim in sorted(best_per_row.items(), key=lambda item: (-item[1], item[0])):
        bucket = per_category[categories[row]]
        if len(bucket) < TOP_K_MEAN:
            bucket.append(sim)
    category_max = np.array([b[0] if b else 0.0 for b in per_category], dtype=np.float32)
    category_topk = np.array([sum(b) / len(b) if b else 0.0 for b in per_category], dtype=np.float32)
    if best_per_row:
        best_row, best_sim = min(best_per_row.items(), key=lambda item: (-item[1], item[0]))
    else:
        best_row, best_sim = -1, 0.0
    system_max = float(system_sims.max()) if system_sims is not None and system_sims.size else 0.0
    return SimilarityFeatures(
        category_max=np.clip(category_max, 0.0, 1.0),
        category_topk=np.clip(category_topk, 0.0, 1.0),
        user_max=max(0.0, min(1.0, float(best_sim))),
        system_max=max(0.0, min(1.0, system_max)),
        best_row=int(best_row),
        best_similarity=float(best_sim),
    )
