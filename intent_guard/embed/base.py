"""The Embedder protocol and the shared token-window logic of every encoder."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from tokenizers import Tokenizer

from ..errors import BundleError
from ..text import HEAD_TOKENS, clean_text
from .wordpiece import AsciiWordPiece


@runtime_checkable
class Embedder(Protocol):
    """Turns texts (or token windows) into L2-normalised float32 vectors."""

    dim: int
    name: str

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed the first HEAD_TOKENS tokens of each text: float32 [n, dim], unit rows (zero if empty)."""
        ...

    def embed_ids(self, windows: list[list[int]]) -> np.ndarray:
        """Embed token-id windows (no special tokens): float32 [n, dim]."""
        ...

    def embed_segmented(self, windows: list[list[int]], spans: list[list[tuple[int, int]]]) -> np.ndarray:
        """Embed each window, then each of its spans ``window[a:b]``: float32 [sum(1 + len(spans[i])), dim],
        rows in that order (window 0, its spans, window 1, its spans, ...)."""
        ...


def expand_segments(windows: list[list[int]], spans: list[list[tuple[int, int]]]) -> list[list[int]]:
    """The windows and their spans as separate windows, in :meth:`Embedder.embed_segmented` order."""
    out: list[list[int]] = []
    for ids, window_spans in zip(windows, spans, strict=True):
        out.append(ids)
        out.extend(ids[a:b] for a, b in window_spans)
    return out


class TokenWindows:
    """The model's WordPiece tokenizer with padding and truncation off, cutting windows itself.

    Plain ASCII text takes an exact fast path (:class:`~intent_guard.embed.wordpiece.AsciiWordPiece`:
    the same ids and offsets, 1.8x faster on the shared corpus); other text, and tokenizers
    whose pipeline is not BERT's, take the full tokenizer.
    """

    def __init__(self, tokenizer_file: Path) -> None:
        try:
            self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        except Exception as exc:  # tokenizers raises a bare Exception on bad files
            raise BundleError(f"cannot read tokenizer {tokenizer_file}: {exc}") from exc
        # The packaged tokenizer.json pads and truncates every input to 128: turn both off.
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.cls_id = self._special("[CLS]", tokenizer_file)
        self.sep_id = self._special("[SEP]", tokenizer_file)
        self.vocab_size = self.tokenizer.get_vocab_size()
        self.fast: AsciiWordPiece | None = AsciiWordPiece.from_tokenizer(self.tokenizer)

    def _special(self, token: str, path: Path) -> int:
        token_id = self.tokenizer.token_to_id(token)
        if token_id is None:
            raise BundleError(f"tokenizer {path} has no {token} token")
        return token_id

    def takes_fast_path(self, text: str) -> bool:
        """True when ``text`` (already cleaned) is tokenized by the exact ASCII fast path."""
        return self.fast is not None and self.fast.accepts(text)

    def encode(self, texts: list[str]) -> list[tuple[list[int], list[tuple[int, int]]]]:
        """(token ids, token (start, end) character offsets) of each text, without special tokens."""
        cleaned = [clean_text(t) for t in texts]
        out: list[tuple[list[int], list[tuple[int, int]]] | None] = [None] * len(cleaned)
        slow: list[int] = []
        for i, text in enumerate(cleaned):
            out[i] = self.fast.encode(text) if self.fast is not None else None
            if out[i] is None:
                slow.append(i)
        if len(slow) == 1:  # encode_batch's thread pool costs more than it saves for one text
            encoding = self.tokenizer.encode(cleaned[slow[0]], add_special_tokens=False)
            out[slow[0]] = (encoding.ids, encoding.offsets)
        elif slow:
            encodings = self.tokenizer.encode_batch([cleaned[i] for i in slow], add_special_tokens=False)
            for i, encoding in zip(slow, encodings, strict=True):
                out[i] = (encoding.ids, encoding.offsets)
        return out  # type: ignore[return-value]  # every slot is filled above

    def ids(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, without special tokens (callers bound the text length)."""
        return [ids for ids, _ in self.encode(texts)]

    def head(self, texts: list[str]) -> list[list[int]]:
        return [ids[:HEAD_TOKENS] for ids in self.ids(texts)]


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    """L2-normalise rows in place; all-zero rows stay zero."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    np.divide(matrix, norms, out=matrix, where=norms > 0)
    return matrix
