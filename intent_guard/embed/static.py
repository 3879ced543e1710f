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
        # One small gather per window: it stays in cache, where one gather for the whole batch
        # allocates (and page-faults) hundreds of MB. A window's vector never depends on its batch.
        for row, ids in enumerate(windows):
            if ids:
                vector = self.table[ids].sum(axis=0)
                norm = float(np.sqrt(vector @ vector))
                if norm > 0:
                    out[row] = vector / norm
        return out

    def embed_segmented(self, windows: list[list[int]], spans: list[list[tuple[int, int]]]) -> np.ndarray:
        # One gather per window; its spans are sums over slices of the gathered rows (a running
        # sum along the rows measured 10x slower: numpy's cumsum over axis 0 is strided).
        out = np.zeros((sum(1 + len(s) for s in spans), self.dim), dtype=np.float32)
        row = 0
        for ids, window_spans in zip(windows, spans, strict=True):
            if ids:
                rows = self.table[ids]
                out[row] = rows.sum(axis=0)
                for k, (a, b) in enumerate(window_spans, start=1):
                    out[row + k] = rows[a:b].sum(axis=0)
            row += 1 + len(window_spans)
        norms = np.sqrt(np.einsum("ij,ij->i", out, out))
        np.divide(out, norms[:, None], out=out, where=norms[:, None] > 0)
        return out

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.embed_ids(self.windows.head(texts))
