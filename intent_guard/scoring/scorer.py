"""The LightGBM model exported to ONNX, served with onnxruntime."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import onnxruntime as ort

from ..embed.onnx import session_options
from ..errors import BackendError, BundleError


@runtime_checkable
class Scorer(Protocol):
    """Maps feature rows float32 [n, features] to extraction probabilities float [n]."""

    n_features: int

    def predict_proba(self, rows: np.ndarray) -> np.ndarray: ...


class OnnxScorer:
    """A binary classifier in ONNX whose output ``probabilities`` has P(extraction) in column 1."""

    def __init__(self, model_file: Path) -> None:
        try:
            self.session = ort.InferenceSession(
                str(model_file), sess_options=session_options(), providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises untyped errors
            raise BundleError(f"cannot load scorer {model_file}: {exc}") from exc
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise BundleError(f"scorer {model_file} must have one input, has {len(inputs)}")
        self.input_name = inputs[0].name
        self.n_features = int(inputs[0].shape[1])
        outputs = [o.name for o in self.session.get_outputs()]
        if "probabilities" not in outputs:
            raise BundleError(f"scorer {model_file} has no 'probabilities' output (outputs: {outputs})")

    def predict_proba(self, rows: np.ndarray) -> np.ndarray:
        if rows.ndim != 2 or rows.shape[1] != self.n_features:
            raise BackendError(f"scorer needs rows of shape [n, {self.n_features}], got {rows.shape}")
        if len(rows) == 0:
            return np.zeros(0, dtype=np.float64)
        try:
            (probabilities,) = self.session.run(["probabilities"], {self.input_name: rows.astype(np.float32)})
        except Exception as exc:
            raise BackendError(f"scorer failed: {exc}") from exc
        return np.clip(probabilities[:, 1].astype(np.float64), 0.0, 1.0)
