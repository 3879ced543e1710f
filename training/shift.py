"""Shift audit: can a classifier tell the training log's feature rows from another log's?

Adversarial validation. Rows of log A (what a bundle was trained on) and of log B (traffic it
will meet, e.g. ``shared/validation``) are replayed through the same FeaturePipeline, each log
in time order with a fresh MemoryStore. A small LightGBM learns A-vs-B with cross-validation
grouped by account (so it cannot win by recognising accounts); its held-out-fold ROC-AUC says how
separable the two logs are (0.5: indistinguishable; the mean of per-fold AUCs, folds stratified
by side). The features it leans on most are listed with their median on each side and their
single-feature AUC (shift = |AUC - 0.5|).

    python -m training shift --model models/default --train-log artifacts/synth.jsonl \\
        --log ../shared/validation/traffic.jsonl.gz
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


class ShiftInputError(ValueError):
    """The two feature matrices cannot be compared (shapes, names, too few rows or groups)."""


def single_feature_auc(is_b: np.ndarray, values: np.ndarray) -> float:
    """ROC-AUC of one feature as an A-vs-B score (NaN ranked lowest); 0.5 when constant."""
    from sklearn.metrics import roc_auc_score

    v = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(v)
    if not finite.any():
        return 0.5
    v = np.where(np.isnan(v), np.min(v[finite]) - 1.0, v)
    v = np.clip(v, np.min(v[finite]) - 1.0, np.max(v[finite]) + 1.0)  # +-inf -> just past the range
    return float(roc_auc_score(is_b, v))


def _subsample(n: int, cap: int, rng: np.random.Generator) -> np.ndarray:
    return np.arange(n) if n <= cap else np.sort(rng.choice(n, size=cap, replace=False))


def adversarial_validation(
    a: np.ndarray,
    b: np.ndarray,
    feature_names: Sequence[str],
    *,
    groups_a: Sequence[str] | np.ndarray | None = None,
    groups_b: Sequence[str] | np.ndarray | None = None,
    top: int = 20,
    folds: int = 5,
    max_rows: int = 50_000,
    rounds: int = 100,
    seed: int = 0,
    threads: int = 1,
) -> dict[str, Any]:
    """A-vs-B classifier AUC (grouped CV) and the ``top`` features it uses most.

    ``groups_*`` are account ids (rows of one account stay in one fold; ids are kept apart per
    side); without them every row is its own group. Each side is subsampled to ``max_rows``.
    Features are ranked by the share of the classifier's total gain, averaged over folds.
    """
    import lightgbm as lgb
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    names = list(feature_names)
    for side, m in (("A", a), ("B", b)):
        if m.ndim != 2 or m.shape[1] != len(names):
            raise ShiftInputError(f"matrix {side} has shape {m.shape}; expected (rows, {len(names)}) for the names")
        if len(m) < 2:
            raise ShiftInputError(f"matrix {side} has {len(m)} rows; at least 2 are needed")
    if max_rows < 2:
        raise ShiftInputError(f"max_rows must be at least 2, got {max_rows}")
    rng = np.random.default_rng(seed)
    keep_a, keep_b = _subsample(len(a), max_rows, rng), _subsample(len(b), max_rows, rng)

    def side_groups(groups: Sequence[str] | np.ndarray | None, n: int, keep: np.ndarray, tag: str) -> np.ndarray:
        if groups is None:
            return np.array([f"{tag}:row{i}" for i in keep.tolist()], dtype=object)
        g = np.asarray(groups, dtype=object)
        if len(g) != n:
            raise ShiftInputError(f"groups_{tag.lower()} has {len(g)} entries for {n} rows")
        return np.array([f"{tag}:{x}" for x in g[keep].tolist()], dtype=object)

    x = np.vstack([a[keep_a], b[keep_b]])
    y = np.r_[np.zeros(len(keep_a), np.int8), np.ones(len(keep_b), np.int8)]
    groups = np.r_[side_groups(groups_a, len(a), keep_a, "A"), side_groups(groups_b, len(b), keep_b, "B")]
    n_groups = len(set(groups.tolist()))
    k = min(folds, n_groups)
    if k < 2:
        raise ShiftInputError(f"{n_groups} group(s): grouped cross-validation needs at least 2")

    # Folds keep each side's share (else a fold's class mix alone pushes pooled AUCs below 0.5),
    # and the AUC is the mean of per-fold AUCs, immune to the base rate differing between folds.
    fold_aucs: list[float] = []
    gain = np.zeros(len(names))
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    for train, test in splitter.split(x, y, groups):
        if len(set(y[train].tolist())) < 2 or len(set(y[test].tolist())) < 2:
            raise ShiftInputError("a cross-validation fold holds rows of one side only; give more accounts")
        model = lgb.LGBMClassifier(
            n_estimators=rounds,
            learning_rate=0.1,
            num_leaves=15,
            min_child_samples=20,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.8,
            importance_type="gain",
            random_state=seed,
            n_jobs=threads,  # one thread by default: OpenMP spin-waits badly on a busy 2-core machine
            verbose=-1,
        )
        model.fit(x[train], y[train])
        fold_aucs.append(float(roc_auc_score(y[test], model.predict_proba(x[test])[:, 1])))
        fold_gain = np.asarray(model.booster_.feature_importance("gain"), dtype=np.float64)
        gain += fold_gain / fold_gain.sum() if fold_gain.sum() > 0 else 0.0
    importance = gain / k

    rows = []
    for i, name in enumerate(names):
        auc = single_feature_auc(y, x[:, i])
        side_a, side_b = x[y == 0, i], x[y == 1, i]
        rows.append(
            {
                "feature": name,
                "importance": float(importance[i]),
                "median_a": float(np.nanmedian(side_a)) if np.isfinite(side_a).any() else float("nan"),
                "median_b": float(np.nanmedian(side_b)) if np.isfinite(side_b).any() else float("nan"),
                "auc": auc,
                "shift": abs(auc - 0.5),
            }
        )
    rows.sort(key=lambda r: (-r["importance"], -r["shift"], r["feature"]))
    return {
        "auc": float(np.mean(fold_aucs)),
        "auc_folds": fold_aucs,
        "rows_a": int(len(keep_a)),
        "rows_b": int(len(keep_b)),
        "groups": n_groups,
        "folds": k,
        "features_shifted_0.1": int(sum(r["shift"] > 0.1 for r in rows)),
        "features_total": len(names),
        "top": rows[: max(top, 0)],
    }


def format_shift(result: dict[str, Any], *, label_a: str = "A", label_b: str = "B") -> str:
    """The audit as markdown: the classifier's AUC, then a table of the most used features."""
    auc = result["auc"]
    verdict = (
        "indistinguishable"
        if auc < 0.6
        else "mildly shifted"
        if auc < 0.75
        else "clearly shifted"
        if auc < 0.9
        else "trivially separable"
    )
    lines = [
        f"**Adversarial validation** {label_a} vs {label_b}: ROC-AUC **{auc:.3f}** ({verdict}; "
        f"{result['folds']}-fold CV grouped by account, {result['rows_a']:,} vs {result['rows_b']:,} rows, "
        f"{result['groups']:,} groups). {result['features_shifted_0.1']} of {result['features_total']} features "
        "have a single-feature |AUC - 0.5| above 0.1.",
        "",
        f"| rank | feature | importance | median {label_a} | median {label_b} | AUC | shift |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for rank, r in enumerate(result["top"], start=1):
        lines.append(
            f"| {rank} | `{r['feature']}` | {r['importance']:.3f} | {r['median_a']:.4g} | {r['median_b']:.4g} | "
            f"{r['auc']:.3f} | {r['shift']:.3f} |"
        )
    return "\n".join(lines)


def replay_features(
    manifest: Any,
    log: str | Path,
    *,
    max_rows: int = 50_000,
    seed: int = 0,
    encoder: str | None = None,
    batch_size: int = 512,
    label: str = "replay",
) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows and account ids of up to ``max_rows`` requests of a log (plain or gzip).

    The whole log is replayed in time order through a fresh pipeline (every request updates the
    session state); only the sampled rows are kept, so memory is O(max_rows).
    """
    from intent_guard.logs import batched, iter_time_order, scan_log
    from intent_guard.pipeline import FeaturePipeline
    from intent_guard.progress import Progress
    from intent_guard.session import MemoryStore

    log = Path(log)
    if not log.is_file():
        raise FileNotFoundError(f"no such log file: {log}")
    scan = scan_log(log)
    n = len(scan)
    if n == 0:
        raise ShiftInputError(f"{log}: no valid requests ({scan.bad_count} invalid records)")
    keep = np.zeros(n, dtype=bool)
    keep[_subsample(n, max_rows, np.random.default_rng(seed))] = True
    pipeline = FeaturePipeline.from_manifest(manifest, MemoryStore(), encoder)
    rows: list[np.ndarray] = []
    accounts: list[str] = []
    with Progress(n, label) as bar:
        for batch in batched(iter_time_order(log, scan), batch_size):
            for (position, request), computed in zip(batch, pipeline.run([r for _, r in batch]), strict=True):
                if keep[position]:
                    rows.append(computed.row)
                    accounts.append(request.account_id)
            bar.update(len(batch))
    return np.stack(rows), np.asarray(accounts, dtype=object)


def shift_audit(
    model: str | Path | None,
    train_log: str | Path,
    log: str | Path,
    *,
    max_rows: int = 50_000,
    top: int = 20,
    folds: int = 5,
    seed: int = 0,
    encoder: str | None = None,
) -> dict[str, Any]:
    """Replay both logs through ``model``'s pipeline and run :func:`adversarial_validation`."""
    from intent_guard.bundle import default_bundle_path, load_manifest
    from intent_guard.features import FEATURE_NAMES

    manifest = load_manifest(Path(model) if model is not None else default_bundle_path())
    a, groups_a = replay_features(manifest, train_log, max_rows=max_rows, seed=seed, encoder=encoder, label="replay A")
    b, groups_b = replay_features(manifest, log, max_rows=max_rows, seed=seed, encoder=encoder, label="replay B")
    result = adversarial_validation(
        a, b, FEATURE_NAMES, groups_a=groups_a, groups_b=groups_b, top=top, folds=folds, max_rows=max_rows, seed=seed
    )
    result.update(train_log=str(train_log), log=str(log))
    return result
