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
from .stranger import CAMPAIGN_ORDER

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
            rows.X[train],
            rows.y[train],
            list(FEATURE_NAMES),
            rounds=rounds,
            seed=seed,
            monotone=monotone_constraints(),
            accounts=rows.account[train],
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


def stranger_and_shift(
    bundle: Path, log: Path, accounts: Path, train_rows: Replayed, *, rounds: int, seed: int
) -> dict[str, Any]:
    """Stranger-mode figures of the finished bundle on ``log``, the content channel's per-style
    figures there, and the shift audit against the training rows."""
    from .shift import adversarial_validation
    from .stranger import stranger_evaluation

    figures = stranger_evaluation(bundle, log, accounts)
    stranger = replay_stranger(bundle, log, accounts)
    content = content_channel(train_rows, stranger, rounds=rounds, seed=seed)
    rng = np.random.default_rng(seed)
    keep = rng.choice(len(stranger), size=min(30_000, len(stranger)), replace=False)
    stranger_rows, stranger_accounts = stranger.X[keep], stranger.account[keep]
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
    return {"log": str(log), "figures": figures, "content_channel": content, "shift": shift}


CAMPAIGN_STYLES = CAMPAIGN_ORDER  # score.py's order of the campaign styles


def content_channel(train: Replayed, stranger: Replayed, *, rounds: int, seed: int) -> dict[str, dict[str, float]]:
    """Request ROC-AUC of the content channel alone on the stranger log, per campaign style (each
    style's campaign requests against all benign requests) and their mean ("macro").

    Two scores: ``similarity`` (the best template similarity of any window or segment, no
    training) and ``content model`` (a monotone LightGBM on the content features alone, trained on
    the synthetic rows). ``stranger.population`` holds each request's population.
    """
    from .ablation import train_on_groups

    booster, columns = train_on_groups(train, ("content",), rounds=rounds, seed=seed)
    sim_columns = [i for i, f in enumerate(FEATURE_NAMES) if f.startswith("sim_max_") and f != "sim_max_system"]
    scores = {
        "similarity": stranger.X[:, sim_columns].max(axis=1),
        "content model": booster.predict(stranger.X[:, columns]),
    }
    return {name: style_aucs(stranger, s) for name, s in scores.items()}


def style_aucs(stranger: Replayed, scores: np.ndarray) -> dict[str, float]:
    """Request ROC-AUC of each campaign style's requests against all benign requests, their mean
    ("macro") and the pooled figure. ``stranger.population`` holds each request's population."""
    benign = stranger.y == 0
    per_style: dict[str, float] = {}
    for style in CAMPAIGN_STYLES:
        campaign = (stranger.y == 1) & (stranger.population == style)
        if campaign.any():
            mask = benign | campaign
            per_style[style] = roc_auc(stranger.y[mask], scores[mask])
    per_style["macro"] = float(np.mean(list(per_style.values()))) if per_style else float("nan")
    per_style["pooled"] = roc_auc(stranger.y, scores)
    return per_style


def replay_stranger(bundle: Path, log: Path, accounts: Path, *, encoder: str | None = None) -> Replayed:
    """The whole labelled stranger log replayed in time order through the bundle's pipeline (its
    serving encoder, or ``encoder``), with each request's population from ``accounts``."""
    from intent_guard.bundle import load_manifest
    from intent_guard.pipeline import FeaturePipeline
    from intent_guard.session import MemoryStore

    from .records import LogSource
    from .replay import replay
    from .stranger import load_accounts

    populations = {a: str(v.get("population", "")) for a, v in load_accounts(accounts).items()}
    records = sorted(LogSource([log]), key=lambda r: _time_of(r))
    for record in records:
        record["population"] = populations.get(record["account_id"], "")
    pipeline = FeaturePipeline.from_manifest(load_manifest(bundle), MemoryStore(), encoder)
    return replay(pipeline, records, total=len(records), label="replay stranger log")


def _time_of(record: dict[str, Any]) -> float:
    from intent_guard.types import Request

    return Request.from_dict(record).timestamp
