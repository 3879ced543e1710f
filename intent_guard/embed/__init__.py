"""Sentence encoders: the Embedder protocol and its implementations (static, ONNX)."""

from __future__ import annotations

from pathlib import Path

from ..errors import BundleError
from .base import Embedder, TokenWindows
from .onnx import OnnxEmbedder
from .static import StaticEmbedder

__all__ = ["Embedder", "OnnxEmbedder", "StaticEmbedder", "TokenWindows", "load_embedder"]

ENCODER_KINDS = ("static", "onnx-int8", "onnx-fp32")


def load_embedder(kind: str, encoder_file: Path, tokenizer_file: Path) -> Embedder:
    """Build the encoder named by a bundle manifest (``static``, ``onnx-int8`` or ``onnx-fp32``)."""
    if kind == "static":
        return StaticEmbedder(encoder_file, tokenizer_file)
    if kind.startswith("onnx"):
        return OnnxEmbedder(encoder_file, tokenizer_file)
    raise BundleError(f"unknown encoder kind {kind!r}; expected one of {ENCODER_KINDS}")
