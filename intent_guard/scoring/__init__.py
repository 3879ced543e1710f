"""The ONNX scorer and the thresholds and reasons that turn its probability into a verdict."""

from .reasons import build_reasons
from .scorer import OnnxScorer, Scorer

__all__ = ["OnnxScorer", "Scorer", "build_reasons"]
