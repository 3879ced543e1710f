"""Fit what the decision layer needs on the build's calibration split: the Platt map of the raw
scorer output, and the account-score thresholds at target benign-account FPRs.

Account scores are replayed through the serving code itself (the memory store, ``evidence_update``
and :class:`~intent_guard.decision.AccountSnapshot`), in time order, so the thresholds are fitted on
exactly the numbers the Guard will compare them with.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from intent_guard.decision import AccountSnapshot, Platt
from intent_guard.session import ACCOUNT, MemoryStore
from intent_guard.session.entities import account_key, evidence_update

from .metrics import account_scores, threshold_at_fpr


def fit_platt(raw: np.ndarray, y: np.ndarray) -> Platt:
    """Platt scaling of raw probabilities on labelled requests; ``prior`` is their campaign share."""
    from sklearn.linear_model import LogisticRegression

    p = np.clip(np.asarray(raw, dtype=np.float64), 1e-6, 1 - 1e-6)
    z = np.log(p / (1 - p))[:, None]
    model = LogisticRegression(C=1e6, max_iter=1000).fit(z, y)
    return Platt(float(model.coef_[0, 0]), float(model.intercept_[0]), float(np.mean(y)))


def account_evidence(accounts: np.ndarray, timestamps: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Each request's account score after it (requests in time order), as the Guard computes it."""
    store = MemoryStore()
    out = np.zeros(len(probabilities), dtype=np.float64)
    for i, (account, t, p) in enumerate(
        zip(accounts.tolist(), timestamps.tolist(), probabilities.tolist(), strict=True)
    ):
        (state,), _ = store.apply([(account_key(account), ACCOUNT, evidence_update(t, p))])
        out[i] = AccountSnapshot(state).score
    return out


def choose_decision_thresholds(
    accounts: np.ndarray,
    y: np.ndarray,
    probabilities: np.ndarray,
    evidence: np.ndarray,
    *,
    review_fpr: float,
    block_fpr: float,
    request_fpr: float,
) -> dict[str, Any]:
    """Account-score thresholds at the target benign-account FPRs, and the single-request review
    threshold at ``request_fpr`` of benign requests; with the rates they give on these accounts."""
    acc_y, acc_s = account_scores(accounts, y, evidence)
    benign = acc_s[acc_y == 0]
    review = threshold_at_fpr(benign, review_fpr)
    block = max(review, threshold_at_fpr(benign, block_fpr))
    request_review = threshold_at_fpr(probabilities[y == 0], request_fpr)
    _, acc_p = account_scores(accounts, y, probabilities)
    flagged = (acc_s >= review) | (acc_p >= request_review)
    return {
        "account_review": review,
        "account_block": block,
        "request_review": request_review,
        "account_review_target_fpr": review_fpr,
        "account_block_target_fpr": block_fpr,
        "request_review_target_fpr": request_fpr,
        "calib_benign_accounts": int((acc_y == 0).sum()),
        "calib_benign_account_flag_rate": float(flagged[acc_y == 0].mean()) if (acc_y == 0).any() else None,
        "calib_benign_account_block_rate": float((acc_s[acc_y == 0] >= block).mean()) if (acc_y == 0).any() else None,
        "calib_campaign_account_flag_rate": float(flagged[acc_y == 1].mean()) if (acc_y == 1).any() else None,
        "calib_campaign_account_block_rate": float((acc_s[acc_y == 1] >= block).mean()) if (acc_y == 1).any() else None,
        "chosen_on": "calib split: benign accounts (account score) and benign requests (request review)",
    }
