"""LightGBM training and its ONNX export, with the probability-parity gate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

PARITY_TOLERANCE = 1e-5
PARITY_ROWS = 10_000

DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.1,
    "num_leaves": 31,
    "min_data_in_leaf": 200,
    "feature_fraction": 0.7,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 2,
    "verbose": -1,
}


class ParityError(RuntimeError):
    """The ONNX export's probabilities differ from LightGBM's beyond the tolerance."""


def train_lightgbm(
    X: np.ndarray,
    y: np.ndarray,
    feature_names: list[str],
    *,
    rounds: int = 300,
    seed: int = 0,
    params: dict[str, Any] | None = None,
    monotone: list[int] | None = None,
    accounts: np.ndarray | None = None,
) -> Any:
    """Fit a deterministic LightGBM binary classifier (same data + seed -> same model).

    With ``accounts`` (one account id per row), every account weighs the same in training, however
    many requests it sent (each row weighs 1 / its account's row count, rescaled to the row count):
    a provider decides about accounts, and request weighting lets a few high-volume accounts (cron
    jobs, coding hydras) drown the slow, low-volume campaigns.

    ``monotone`` holds one direction per feature (+1, -1, 0), from the feature registry
    (:func:`intent_guard.features.monotone_constraints`); LightGBM then never lets a feature act
    against its stated direction, whatever the training data's accidents.
    """
    import lightgbm as lgb

    config = dict(DEFAULT_PARAMS, seed=seed, **(params or {}))
    if monotone is not None:
        if len(monotone) != len(feature_names):
            raise ValueError(f"{len(monotone)} monotone directions for {len(feature_names)} features")
        config["monotone_constraints"] = list(monotone)
    data = lgb.Dataset(X, label=y, weight=account_weights(accounts), feature_name=feature_names, free_raw_data=False)
    return snap_thresholds_to_float32(lgb.train(config, data, num_boost_round=rounds))


def account_weights(accounts: np.ndarray | None) -> np.ndarray | None:
    """1 / (rows of the row's account), scaled so the weights sum to the number of rows."""
    if accounts is None:
        return None
    _, inverse, counts = np.unique(np.asarray(accounts, dtype=str), return_inverse=True, return_counts=True)
    weights = 1.0 / counts[inverse]
    return weights * (len(weights) / weights.sum())


def snap_thresholds_to_float32(booster: Any) -> Any:
    """Replace every split threshold t by the largest float32 <= t.

    LightGBM splits in float64; ONNX's tree ensemble compares float32 features with float32
    thresholds, and rounding t to the *nearest* float32 can flip ``x <= t`` for a feature value
    x just above t. For float32 inputs ``x <= t`` holds exactly when ``x <= floor32(t)``, so the
    snapped model predicts identically to the original on float32 features, and exports exactly.
    """
    import lightgbm as lgb

    lines = booster.model_to_string().split("\n")
    for i, line in enumerate(lines):
        if line.startswith("threshold="):
            values = np.array([float(v) for v in line[len("threshold=") :].split()], dtype=np.float64)
            snapped = values.astype(np.float32)
            above = snapped.astype(np.float64) > values
            snapped[above] = np.nextafter(snapped[above], np.float32(-np.inf))
            lines[i] = "threshold=" + " ".join(f"{float(v):.17g}" for v in snapped)
    # tree_sizes holds byte offsets of the old text; without it LightGBM parses tree by tree.
    lines = [line for line in lines if not line.startswith("tree_sizes=")]
    return lgb.Booster(model_str="\n".join(lines))


def export_onnx(booster: Any, n_features: int, path: Path) -> None:
    """Convert with onnxmltools (opset 15, no ZipMap): output ``probabilities`` [n, 2]."""
    import onnxmltools
    from onnxmltools.convert.common.data_types import FloatTensorType

    model = onnxmltools.convert_lightgbm(
        booster, initial_types=[("input", FloatTensorType([None, n_features]))], target_opset=15, zipmap=False
    )
    # Keep the bytes a function of the model alone (the converter names the graph with a uuid).
    model.producer_version = ""
    model.graph.name = "intent_guard_scorer"
    path.write_bytes(model.SerializeToString())


def check_parity(booster: Any, onnx_path: Path, X: np.ndarray, rows: int = PARITY_ROWS, seed: int = 0) -> float:
    """Max |P_onnx - P_lightgbm| over ``rows`` rows of X; raises ParityError above the tolerance."""
    from intent_guard.scoring import OnnxScorer

    rng = np.random.default_rng(seed)
    sample = X if len(X) <= rows else X[rng.choice(len(X), size=rows, replace=False)]
    expected = booster.predict(sample)
    actual = OnnxScorer(onnx_path).predict_proba(sample.astype(np.float32))
    diff = float(np.max(np.abs(actual - expected))) if len(sample) else 0.0
    if diff > PARITY_TOLERANCE:
        raise ParityError(
            f"ONNX scorer differs from LightGBM by {diff:.2e} > {PARITY_TOLERANCE:g} on {len(sample)} rows"
        )
    return diff
