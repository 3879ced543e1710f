"""The Embedder protocol and the shared token-window logic of every encoder."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from tokenizers import Encoding, Tokenizer

from ..errors import BundleError
from ..text import HEAD_TOKENS, clean_text


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


#: Characters BERT's normaliser deletes from ASCII text (control characters other than tab, newline
#: and carriage return); a text holding one takes the full normaliser.
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class TokenWindows:
    """The model's WordPiece tokenizer with padding and truncation off, cutting windows itself.

    ASCII text takes a fast path: BERT's normaliser (control-character removal, whitespace mapping,
    CJK spacing, accent stripping, lower-casing: a third of the tokenizer's time on a 128-token
    prompt) does nothing to ASCII text without control characters but lower-case it, so such text
    is lower-cased by ``str.lower`` (one character for one: offsets unchanged) and tokenized with
    no normaliser: the same ids and the same offsets (``tests/test_embed.py`` checks both against
    the full tokenizer). Other text, and tokenizers whose normaliser is not that BERT normaliser,
    take the full tokenizer.
    """

    def __init__(self, tokenizer_file: Path) -> None:
        self.tokenizer = self._load(tokenizer_file)
        self.cls_id = self._special("[CLS]", tokenizer_file)
        self.sep_id = self._special("[SEP]", tokenizer_file)
        self.vocab_size = self.tokenizer.get_vocab_size()
        self.ascii_tokenizer: Tokenizer | None = None
        if _is_lowercasing_bert_normalizer(json.loads(self.tokenizer.to_str()).get("normalizer")):
            self.ascii_tokenizer = self._load(tokenizer_file)
            self.ascii_tokenizer.normalizer = None

    @staticmethod
    def _load(tokenizer_file: Path) -> Tokenizer:
        try:
            tokenizer = Tokenizer.from_file(str(tokenizer_file))
        except Exception as exc:  # tokenizers raises a bare Exception on bad files
            raise BundleError(f"cannot read tokenizer {tokenizer_file}: {exc}") from exc
        # The packaged tokenizer.json pads and truncates every input to 128: turn both off.
        tokenizer.no_padding()
        tokenizer.no_truncation()
        return tokenizer

    def _special(self, token: str, path: Path) -> int:
        token_id = self.tokenizer.token_to_id(token)
        if token_id is None:
            raise BundleError(f"tokenizer {path} has no {token} token")
        return token_id

    def tokenizer_for(self, text: str) -> Tokenizer:
        """The fast ASCII tokenizer where it gives the full tokenizer's result, else the full one."""
        if self.ascii_tokenizer is not None and text.isascii() and _ASCII_CONTROL.search(text) is None:
            return self.ascii_tokenizer
        return self.tokenizer

    def _encodings(self, texts: list[str]) -> list[Encoding]:
        cleaned = [clean_text(t) for t in texts]
        if len(cleaned) == 1:  # encode_batch's thread pool costs more than it saves for one text
            text = cleaned[0]
            tokenizer = self.tokenizer_for(text)
            if tokenizer is self.ascii_tokenizer:
                text = text.lower()
            return [tokenizer.encode(text, add_special_tokens=False)]
        if self.ascii_tokenizer is not None and all(self.tokenizer_for(t) is self.ascii_tokenizer for t in cleaned):
            return self.ascii_tokenizer.encode_batch([t.lower() for t in cleaned], add_special_tokens=False)
        return self.tokenizer.encode_batch(cleaned, add_special_tokens=False)

    def ids(self, texts: list[str]) -> list[list[int]]:
        """Token ids of each text, without special tokens (callers bound the text length)."""
        return [e.ids for e in self._encodings(texts)] if texts else []

    def encode(self, texts: list[str]) -> list[tuple[list[int], list[tuple[int, int]]]]:
        """(token ids, token (start, end) character offsets) of each text, without special tokens."""
        if not texts:
            return []
        return [(e.ids, e.offsets) for e in self._encodings(texts)]

    def head(self, texts: list[str]) -> list[list[int]]:
        return [ids[:HEAD_TOKENS] for ids in self.ids(texts)]


def _is_lowercasing_bert_normalizer(spec: object) -> bool:
    """True for BERT's normaliser in the form the ASCII fast path reproduces: cleaning text, lower-casing
    (which strips accents unless told otherwise)."""
    return (
        isinstance(spec, dict)
        and spec.get("type") == "BertNormalizer"
        and spec.get("clean_text") is True
        and spec.get("lowercase") is True
    )


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    """L2-normalise rows in place; all-zero rows stay zero."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    np.divide(matrix, norms, out=matrix, where=norms > 0)
    return matrix
