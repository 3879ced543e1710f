"""The static encoder: a model2vec-style token table distilled from all-MiniLM-L6-v2.

At run time a text is its token ids, and its vector is the normalised mean of their rows: a
tokenizer call plus a numpy gather, microseconds per request.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import BundleError
from .base import TokenWindows


class StaticEmbedder:
    """Embedder backed by a [vocab, dim] table (``encoder-static.npy``, float16 on disk)."""

    name = "static"

    def __init__(self, table_file: Path, tokenizer_file: Path) -> None:
        try:
            table = np.load(table_file, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise BundleError(f"cannot read static encoder table {table_file}: {exc}") from exc
        self.windows = TokenWindows(tokenizer_file)
        if table.ndim != 2 or table.shape[0] != self.windows.vocab_size:
            raise BundleError(
                f"static table {table_file} has shape {table.shape}; "
                f"expected [{self.windows.vocab_size}, dim] for this tokenizer"
            )
        self.table = table.astype(np.float32)
        self.dim = int(table.shape[1])

    def embed_ids(self, windows: list[list[int]]) -> np.ndarray:
        out = np.zeros((len(windows), self.dim), dtype=np.float32)
        live = [i for i, ids in enumerate(windows) if ids]
        if not live:
            return out
        # One gather and one segmented sum for the whole batch. Each row's sum runs over its own
        # tokens in order, so a window's vector does not depend on the batch it came in.
        lengths = np.fromiter((len(windows[i]) for i in live), dtype=np.int64, count=len(live))
        flat = np.fromiter((t for i in live for t in windows[i]), dtype=np.int64, count=int(lengths.sum()))
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        sums = np.add.reduceat(self.table[flat], starts, axis=0)
        norms = np.sqrt(np.einsum("ij,ij->i", sums, sums))
        np.divide(sums, norms[:, None], out=sums, where=norms[:, None] > 0)
        out[live] = sums
        return out

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.embed_ids(self.windows.head(texts))
