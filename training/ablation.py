"""Feature-group ablation on the same replayed splits: content only, + session, + cluster.

Each variant is a LightGBM model on a subset of the columns, with its own `review` threshold set
on the calibration split at the same target FPR, evaluated on the held-out split.
"""

from __future__ import annotations

from typing import Any

from intent_guard.features import FEATURE_GROUPS, FEATURE_NAMES, monotone_constraints

from .metrics import summarise, threshold_at_fpr
from .model import train_lightgbm
from .replay import Replayed

VARIANTS: dict[str, tuple[str, ...]] = {
    "content only": ("content",),
    "content + session": ("content", "session"),
    "content + session + cluster": ("content", "session", "cluster"),
}


def train_on_groups(train: Replayed, groups: tuple[str, ...], *, rounds: int, seed: int) -> tuple[Any, list[int]]:
    """The build's LightGBM recipe (monotone, account-balanced) on the features of ``groups`` only;
    returns the booster and the feature columns it reads."""
    columns = [FEATURE_NAMES.index(f) for g in groups for f in FEATURE_GROUPS[g]]
    names = [FEATURE_NAMES[c] for c in columns]
    booster = train_lightgbm(
        train.X[:, columns],
        train.y,
        names,
        rounds=rounds,
        seed=seed,
        monotone=monotone_constraints(names),
        accounts=train.account,
    )
    return booster, columns


def ablation(
    train: Replayed, calib: Replayed, test: Replayed, *, review_fpr: float, rounds: int, seed: int
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, groups in VARIANTS.items():
        booster, columns = train_on_groups(train, groups, rounds=rounds, seed=seed)
        calib_p = booster.predict(calib.X[:, columns])
        review = threshold_at_fpr(calib_p[calib.y == 0], review_fpr)
        test_p = booster.predict(test.X[:, columns])
        summary = summarise(test.y, test_p, test.account, test.population, {"review": review})
        out[name] = summary
    return out


def ablation_table(results: dict[str, Any]) -> str:
    """Markdown: headline metrics per variant, then review FPR per benign population."""
    lines = [
        "| features | ROC-AUC | TPR @1% FPR | TPR @0.1% FPR | account TPR @1% | review FPR / TPR |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['roc_auc']:.4f} | {r['tpr_at_0.01_fpr']:.3f} | {r['tpr_at_0.001_fpr']:.3f} | "
            f"{r['account_tpr_at_0.01_fpr']:.3f} | {r['review_request_fpr']:.2%} / {r['review_request_tpr']:.2%} |"
        )
    populations = sorted({p for r in results.values() for p in r["benign_populations"]})
    lines += ["", "| benign population (review FPR) | " + " | ".join(results) + " |", "|---" * (len(results) + 1) + "|"]
    for pop in populations:
        cells = [
            f"{r['benign_populations'].get(pop, {}).get('review_fpr', float('nan')):.2%}" for r in results.values()
        ]
        lines.append(f"| {pop} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
