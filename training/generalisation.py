"""How well a build generalises beyond its own generator's habits.

* **Leave one world out**: the synthetic log holds several *worlds* (each with its own products,
  models, schedules and scale). For each world, a model with the build's settings is trained on
  the other worlds' rows and scored on the held-out world's: a feature that only works in one
  world shows up as a drop here, which the pooled held-out split cannot see.
* **Stranger mode**: the finished bundle scores a labelled log written by someone else (by
  default ``../shared/validation``), whole and in time order, with score.py's figures.
* **Shift audit**: adversarial validation between the training rows and that log's rows, with
  the most shifted features and their medians on each side.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from intent_guard.features import FEATURE_NAMES, monotone_constraints

from .metrics import account_scores, roc_auc, tpr_at_fpr
from .model import train_lightgbm
from .replay import Replayed

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_STRANGER_LOG = ROOT.parent / "shared" / "validation" / "traffic.jsonl.gz"


def leave_one_world_out(rows: Replayed, *, rounds: int, seed: int) -> dict[str, dict[str, float]]:
    """Per held-out world: request and account ROC-AUC, account TPR at 1% / 0.1% benign-account FPR."""
    worlds = sorted({w for w in rows.world.tolist() if w})
    out: dict[str, dict[str, float]] = {}
    if len(worlds) < 2:
        return out
    for world in worlds:
        held = rows.world == world
        train = ~held
        if len(set(rows.y[train].tolist())) < 2 or len(set(rows.y[held].tolist())) < 2:
            continue
        booster = train_lightgbm(
            rows.X[train], rows.y[train], list(FEATURE_NAMES), rounds=rounds, seed=seed, monotone=monotone_constraints()
        )
        p = booster.predict(rows.X[held])
        acct_y, acct_s = account_scores(rows.account[held], rows.y[held], p)
        out[world] = {
            "requests": int(held.sum()),
            "accounts": len(acct_y),
            "campaign_accounts": int(acct_y.sum()),
            "request_roc_auc": roc_auc(rows.y[held], p),
            "account_roc_auc": roc_auc(acct_y, acct_s),
            "account_tpr_at_0.01_fpr": tpr_at_fpr(acct_y, acct_s, 0.01),
            "account_tpr_at_0.001_fpr": tpr_at_fpr(acct_y, acct_s, 0.001),
        }
    return out


def stranger_log_accounts(log: Path | None) -> tuple[Path, Path] | None:
    """The stranger log and its accounts file (``accounts.json`` beside it), or None if absent."""
    log = log if log is not None else DEFAULT_STRANGER_LOG
    accounts = log.parent / "accounts.json"
    if not log.is_file() or not accounts.is_file():
        return None
    return log, accounts


def stranger_and_shift(bundle: Path, log: Path, accounts: Path, train_rows: Replayed, *, seed: int) -> dict[str, Any]:
    """Stranger-mode figures of the finished bundle on ``log`` and the shift audit against training rows."""
    from intent_guard.bundle import load_manifest

    from .shift import adversarial_validation, replay_features
    from .stranger import stranger_evaluation

    figures = stranger_evaluation(bundle, log, accounts)
    stranger_rows, stranger_accounts = replay_features(
        load_manifest(bundle), log, max_rows=30_000, seed=seed, label="replay stranger log for the shift audit"
    )
    rng = np.random.default_rng(seed)
    take = rng.choice(len(train_rows), size=min(30_000, len(train_rows)), replace=False)
    shift = adversarial_validation(
        train_rows.X[take],
        stranger_rows,
        FEATURE_NAMES,
        groups_a=train_rows.account[take],
        groups_b=stranger_accounts,
        top=15,
        seed=seed,
    )
    return {"log": str(log), "figures": figures, "shift": shift}
