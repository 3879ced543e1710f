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
    """Folds template hits into per-category features with a few vectorised numpy calls.

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
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        offsets = np.arange(TOP_K_MEAN)
        # In the category-grouped order, a category's k best templates sit at starts[c] + 0..k-1.
        self.top_valid = offsets[None, :] < counts[:, None]
        self.top_positions = np.where(self.top_valid, starts[:, None] + offsets[None, :], 0)
        self.top_counts = np.maximum(np.minimum(counts, TOP_K_MEAN), 1).astype(np.float32)

    def __call__(
        self, user_hits: list[tuple[np.ndarray, np.ndarray]], system_sims: np.ndarray | None
    ) -> SimilarityFeatures:
        """Features from one request's user-view hits ((sims, rows) per non-empty view, sorted
        descending as FAISS returns them; rows -1 past the index size) and system-view sims."""
        if len(user_hits) == 1 and len(user_hits[0][1]) == self.n_templates:
            # One view searched exhaustively: its hits are already every template, best first.
            order = user_hits[0][1]
            values = np.maximum(user_hits[0][0], 0.0)
        else:
            dense = np.zeros(self.n_templates, dtype=np.float32)
            for sims, rows in user_hits:
                keep = rows >= 0
                rows = rows[keep]  # a view's rows are distinct, so plain fancy indexing is exact
                dense[rows] = np.maximum(dense[rows], sims[keep])
            order = np.argsort(-dense, kind="stable")
            values = dense[order]
        # Group by category, keeping the descending order inside each group.
        grouped = values[np.argsort(self.categories[order], kind="stable")]
        top = np.where(self.top_valid, grouped[self.top_positions], 0.0)
        best_sim = float(values[0]) if len(values) else 0.0
        best_row = int(order[0]) if best_sim > 0.0 else -1
        system_max = float(system_sims.max()) if system_sims is not None and system_sims.size else 0.0
        return SimilarityFeatures(
            category_max=np.minimum(top[:, 0], 1.0).astype(np.float32),
            category_topk=np.minimum(top.sum(axis=1) / self.top_counts, 1.0).astype(np.float32),
            user_max=min(1.0, max(0.0, best_sim)),
            system_max=max(0.0, min(1.0, system_max)),
            best_row=best_row,
            best_similarity=max(0.0, best_sim),
        )


def similarity_features(
    user_hits: list[tuple[np.ndarray, np.ndarray]],
    system_sims: np.ndarray | None,
    categories: np.ndarray,
) -> SimilarityFeatures:
    """One-off form of :class:`CategoryFolder` (build the folder once when scoring many requests)."""
    return CategoryFolder(categories)(user_hits, system_sims)
