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


class CategoryFolder:
    """Folds template similarities into per-category features with a few vectorised numpy calls.

    A template's similarity is its best over the user views (0 where a view did not return it,
    negative similarities count as 0); a category's max is its best template, its top-k mean the
    mean of its TOP_K_MEAN best templates (0 where the library has none of that category).
    """

    def __init__(self, categories: np.ndarray) -> None:
        self.categories = categories
        self.n_templates = len(categories)
        counts = (
            np.bincount(categories, minlength=len(CATEGORIES)) if len(categories) else np.zeros(len(CATEGORIES), int)
        )
        width = max(1, int(counts.max()) if len(counts) else 1)
        # [category, slot] -> template row (padded): one gather gives every category's similarities.
        self.pad_index = np.zeros((len(CATEGORIES), width), dtype=np.int64)
        self.pad_valid = np.zeros((len(CATEGORIES), width), dtype=bool)
        for c in range(len(CATEGORIES)):
            rows = np.flatnonzero(categories == c)
            self.pad_index[c, : len(rows)] = rows
            self.pad_valid[c, : len(rows)] = True
        self.top_counts = np.maximum(np.minimum(counts, TOP_K_MEAN), 1).astype(np.float32)

    def from_dense(self, dense: np.ndarray, system_max: float) -> SimilarityFeatures:
        """Features from each template's best user-view similarity (``dense`` [n_templates], >= 0)."""
        if self.n_templates == 0:
            zeros = np.zeros(len(CATEGORIES), dtype=np.float32)
            return SimilarityFeatures(zeros, zeros, 0.0, max(0.0, min(1.0, system_max)), -1, 0.0)
        values = np.where(self.pad_valid, dense[self.pad_index], 0.0)
        top = -np.sort(-values, axis=1)[:, :TOP_K_MEAN]
        best_row = int(np.argmax(dense))
        best_sim = float(dense[best_row])
        return SimilarityFeatures(
            category_max=np.minimum(top[:, 0], 1.0).astype(np.float32),
            category_topk=np.minimum(top.sum(axis=1) / self.top_counts, 1.0).astype(np.float32),
            user_max=min(1.0, max(0.0, best_sim)),
            system_max=max(0.0, min(1.0, system_max)),
            best_row=best_row if best_sim > 0.0 else -1,
            best_similarity=max(0.0, best_sim),
        )

    def __call__(
        self, user_hits: list[tuple[np.ndarray, np.ndarray]], system_sims: np.ndarray | None
    ) -> SimilarityFeatures:
        """Features from top-k hits ((sims, rows) per non-empty user view; rows -1 past the index
        size) and the system views' similarities."""
        dense = np.zeros(self.n_templates, dtype=np.float32)
        for sims, rows in user_hits:
            keep = rows >= 0
            rows = rows[keep]  # a view's rows are distinct, so plain fancy indexing is exact
            dense[rows] = np.maximum(dense[rows], sims[keep])
        system_max = float(system_sims.max()) if system_sims is not None and system_sims.size else 0.0
        return self.from_dense(dense, system_max)


def similarity_features(
    user_hits: list[tuple[np.ndarray, np.ndarray]],
    system_sims: np.ndarray | None,
    categories: np.ndarray,
) -> SimilarityFeatures:
    """One-off form of :class:`CategoryFolder` (build the folder once when scoring many requests)."""
    return CategoryFolder(categories)(user_hits, system_sims)
