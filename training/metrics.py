"""Evaluation metrics: request level and account level, at fixed benign false-positive rates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def roc_auc(y: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (ties counted half); NaN when one class is absent."""
    from sklearn.metrics import roc_auc_score

    if len(np.unique(y)) < 2:
        return float("nan")
    return float(roc_auc_score(y, scores))


def pr_auc(y: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import average_precision_score

    if len(np.unique(y)) < 2:
        return float("nan")
    return float(average_precision_score(y, scores))


def threshold_allowing(benign_scores: np.ndarray, allowed: int) -> float:
    """The lowest threshold t with at most ``allowed`` (>= 0) benign scores >= t (uncapped: just
    above the highest score when ``allowed`` is 0)."""
    ranked = np.sort(np.asarray(benign_scores, dtype=np.float64))[::-1]
    if allowed >= len(ranked):
        return 0.0
    return float(np.nextafter(ranked[allowed], np.inf))


def threshold_at_fpr(benign_scores: np.ndarray, target_fpr: float) -> float:
    """The lowest threshold t such that the share of benign scores >= t is at most ``target_fpr``."""
    if len(benign_scores) == 0:
        raise ValueError("no benign scores to set a threshold on")
    return min(1.0, threshold_allowing(benign_scores, int(np.floor(target_fpr * len(benign_scores)))))


def tpr_at_fpr(y: np.ndarray, scores: np.ndarray, target_fpr: float) -> float:
    """Share of positives flagged at the threshold that keeps benign FPR <= target."""
    if not (y == 1).any() or not (y == 0).any():
        return float("nan")
    t = threshold_at_fpr(scores[y == 0], target_fpr)
    return float((scores[y == 1] >= t).mean())


def account_scores(accounts: np.ndarray, y: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per account: label (1 if any of its requests is campaign traffic) and its max probability."""
    order = np.argsort(accounts, kind="stable")
    acc, y_s, s_s = accounts[order], y[order], scores[order]
    starts = np.flatnonzero(np.r_[True, acc[1:] != acc[:-1]])
    labels = np.maximum.reduceat(y_s.astype(np.int64), starts)
    maxima = np.maximum.reduceat(s_s, starts)
    return labels, maxima


def summarise(
    y: np.ndarray,
    scores: np.ndarray,
    accounts: np.ndarray,
    populations: np.ndarray,
    thresholds: dict[str, float],
    fprs: Sequence[float] = (0.01, 0.001),
) -> dict[str, Any]:
    """The headline metrics of one evaluation, as a JSON-ready dict."""
    acc_y, acc_s = account_scores(accounts, y, scores)
    out: dict[str, Any] = {
        "requests": int(len(y)),
        "positives": int(y.sum()),
        "accounts": int(len(acc_y)),
        "positive_accounts": int(acc_y.sum()),
        "roc_auc": roc_auc(y, scores),
        "pr_auc": pr_auc(y, scores),
    }
    for fpr in fprs:
        out[f"tpr_at_{fpr:g}_fpr"] = tpr_at_fpr(y, scores, fpr)
        out[f"account_tpr_at_{fpr:g}_fpr"] = tpr_at_fpr(acc_y, acc_s, fpr)
    for name, t in thresholds.items():
        flagged = scores >= t
        out[f"{name}_request_fpr"] = float(flagged[y == 0].mean()) if (y == 0).any() else float("nan")
        out[f"{name}_request_tpr"] = float(flagged[y == 1].mean()) if (y == 1).any() else float("nan")
    out["benign_populations"] = {
        str(pop): {
            "requests": int(((populations == pop) & (y == 0)).sum()),
            **{
                f"{name}_fpr": float((scores[(populations == pop) & (y == 0)] >= t).mean())
                for name, t in thresholds.items()
            },
        }
        for pop in sorted(set(populations[y == 0].tolist()))
    }
    return out


def calibration(y: np.ndarray, scores: np.ndarray, bins: int = 10) -> dict[str, Any]:
    """Reliability bins (mean predicted vs observed rate) and the expected calibration error."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(scores, edges[1:-1]), 0, bins - 1)
    rows = []
    ece = 0.0
    for b in range(bins):
        mask = which == b
        if not mask.any():
            continue
        predicted, observed = float(scores[mask].mean()), float(y[mask].mean())
        rows.append({"bin": b, "count": int(mask.sum()), "predicted": predicted, "observed": observed})
        ece += mask.mean() * abs(predicted - observed)
    return {"bins": rows, "ece": float(ece)}


def requests_to_detect(
    accounts: np.ndarray, campaigns: np.ndarray, y: np.ndarray, scores: np.ndarray, threshold: float
) -> dict[str, dict[str, float]]:
    """Per campaign: how many of its requests an account sends before its first flag (>= threshold).

    Rows must be in time order. Reports the median over the campaign's accounts, the share of its
    accounts ever flagged, and how many accounts it has.
    """
    first: dict[str, int] = {}
    seen: dict[str, int] = {}
    campaign_of: dict[str, str] = {}
    for account, campaign, label, score in zip(
        accounts.tolist(), campaigns.tolist(), y.tolist(), scores.tolist(), strict=True
    ):
        if label != 1 or not campaign:
            continue
        campaign_of[account] = campaign
        seen[account] = seen.get(account, 0) + 1
        if account not in first and score >= threshold:
            first[account] = seen[account]
    out: dict[str, dict[str, float]] = {}
    for campaign in sorted(set(campaign_of.values())):
        members = [a for a, c in campaign_of.items() if c == campaign]
        detected = [first[a] for a in members if a in first]
        out[campaign] = {
            "accounts": len(members),
            "detected_share": len(detected) / len(members),
            "median_requests_to_detect": float(np.median(detected)) if detected else float("nan"),
        }
    return out
