"""The ONNX scorer and the thresholds and reasons that turn its probability into a verdict."""

from .reasons import build_reasons
from .scorer import OnnxScorer, Scorer
from .thresholds import Thresholds

__all__ = ["OnnxScorer", "Scorer", "Thresholds", "build_reasons"]
