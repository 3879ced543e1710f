"""A FAISS inner-product index over template embeddings (exact up to EXACT_LIMIT vectors)."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

from ..errors import BackendError, BundleError

#: Up to this many templates the index is exact (IndexFlatIP); above, HNSW (approximate).
EXACT_LIMIT = 100_000


def build_index(vectors: np.ndarray) -> faiss.Index:
    """An inner-product index for L2-normalised vectors, its type chosen by their number."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    dim = vectors.shape[1]
    if len(vectors) <= EXACT_LIMIT:
        index = faiss.IndexFlatIP(dim)
    else:
        index = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = 128
    index.add(vectors)
    return index


class TemplateIndex:
    """Top-k template search: ``search(vectors, k) -> (similarities, template rows)``."""

    def __init__(self, index: faiss.Index) -> None:
        self.index = index
        self.dim = int(index.d)
        self.size = int(index.ntotal)

    @classmethod
    def load(cls, path: Path) -> TemplateIndex:
        try:
            return cls(faiss.read_index(str(path)))
        except RuntimeError as exc:
            raise BundleError(f"cannot read FAISS index {path}: {exc}") from exc

    def save(self, path: Path) -> None:
        faiss.write_index(self.index, str(path))

    def vectors(self) -> np.ndarray:
        """The stored template vectors [size, dim] (float32)."""
        return self.index.reconstruct_n(0, self.size)

    def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Similarities (descending) and template rows, both [n, k]; rows are -1 past the index size."""
        queries = np.ascontiguousarray(vectors, dtype=np.float32)
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise BackendError(f"template search needs vectors of shape [n, {self.dim}], got {queries.shape}")
        try:
            sims, rows = self.index.search(queries, k)
        except RuntimeError as exc:
            raise BackendError(f"FAISS search failed: {exc}") from exc
        return sims, rows
