"""Fit a bundle's account thresholds on a deployment's own *unlabelled* traffic.

Assumption (stated, and what makes it work without labels): campaign accounts are a minority
(under half) of the accounts in the log, and they sit in the upper tail of the account scores.
The benign null is therefore fitted on the *lower half* only: in logit space, its location is the
median of all accounts' highest account scores and its spread comes from the gap between the
median and the lower quartile (0.6745 standard deviations of a normal). A threshold is the null's
``1 - rate`` quantile.

Known biases, both measured (``tests/test_calibrate.py``, README): campaigns lift the median a
little (a share ``c`` of campaigns reads the benign quantile ``0.5 / (1 - c)``), so the more
campaigns, the *fewer* benign accounts get flagged (0.67x the target at 5% campaigns on a
logit-normal null); a benign tail heavier than normal has the opposite effect. On the validation
log (21% campaign accounts, a heavy benign tail of batch jobs) they nearly cancel: 0.71x / 0.9x.
The plain empirical quantile would not do: where campaigns are more than ``rate`` of the
accounts, it lands among them and the benign flag rate falls far below the target.

The request-level review threshold becomes the higher of the bundle's and the same robust quantile
(at the block rate) of each account's highest request probability, so single requests cannot flag
many more accounts than the account rule.

With the deep analysis (``--deep``), the replay runs it too (synchronously, on the requests its
selection picks) and each account's highest deep score gets the same robust quantile. The two
account channels share the target: each is fitted at *half* of each rate, so that accounts
flagged by either account channel stay within it (a union bound; the request-level review
threshold is fitted as without ``--deep``). Without ``--deep`` the calibrated bundle drops the
build's deep thresholds, which were fitted together with the inline thresholds it replaces.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np

from .bundle import MANIFEST, load_manifest, sha256_file
from .errors import IntentGuardError

#: The lower quantile whose distance from the median gives the null's spread (the lower quartile:
#: the usual robust scale estimate, here one-sided so that the campaign tail cannot move it).
LOWER_QUANTILE = 0.25
_EPS = 1e-6


class CalibrationError(IntentGuardError, ValueError):
    """The log cannot support a calibration (too few accounts, or no spread in their scores)."""


@dataclass(frozen=True, slots=True)
class AccountMaxima:
    """Per account of a replayed log: its id, highest account score and highest request probability."""

    accounts: np.ndarray
    account_scores: np.ndarray
    request_probabilities: np.ndarray
    #: Highest deep score (None when the replay ran no deep analysis).
    deep_scores: np.ndarray | None = None
    #: The deep analyser's selection (``DeepSelection.to_dict()``), recorded with its thresholds.
    deep_selection: dict[str, int] | None = None


def replay_maxima(guard: Any, log: Path, *, batch_size: int = 256, progress: bool | None = None) -> AccountMaxima:
    """Score ``log`` in time order with ``guard`` (a fresh Guard: its store starts empty) and keep
    each account's highest account score and request probability, and with a (synchronous) deep
    analyser its highest deep score, read from the store after each request."""
    from .logs import batched, iter_time_order, scan_log
    from .progress import Progress
    from .session.entities import deep_key, deep_score

    if not log.is_file():
        raise IntentGuardError(f"no such log file: {log}")
    scan = scan_log(log)
    if len(scan) == 0:
        raise CalibrationError(f"{log}: no valid requests ({scan.bad_count} invalid records)")
    deep = guard.deep is not None
    if deep and guard.deep.background:
        raise IntentGuardError("calibrate needs a synchronous deep analyser: guard.with_deep(background=False)")
    best: dict[str, list[float]] = {}
    with Progress(len(scan), "calibrate", enabled=progress) as bar:
        for batch in batched((request for _, request in iter_time_order(log, scan)), batch_size):
            if deep:  # one at a time: the deep evidence the policy reads is that of the earlier requests
                verdicts = []
                for request in batch:
                    state = guard.store.get(deep_key(request.account_id))
                    seen = best.setdefault(request.account_id, [0.0, 0.0, 0.0])
                    seen[2] = max(seen[2], deep_score(state) if state is not None else 0.0)
                    verdicts.append(guard.score(request))
            else:
                verdicts = guard.score_many(batch)
            for request, verdict in zip(batch, verdicts, strict=True):
                seen = best.setdefault(request.account_id, [0.0, 0.0, 0.0])
                seen[0] = max(seen[0], verdict.account_score or 0.0)
                seen[1] = max(seen[1], verdict.probability)
            bar.update(len(batch))
    values = np.array(list(best.values()), dtype=np.float64).reshape(-1, 3)
    return AccountMaxima(
        np.array(list(best), dtype=object),
        values[:, 0],
        values[:, 1],
        values[:, 2] if deep else None,
        guard.deep.selection.to_dict() if deep else None,
    )


def robust_threshold(scores: np.ndarray, rate: float) -> float:
    """The ``1 - rate`` quantile of a logit-normal null fitted on the lower half of ``scores``."""
    if not 0.0 < rate < 0.5:
        raise CalibrationError(f"a target rate must be in (0, 0.5), got {rate}")
    p = np.clip(np.asarray(scores, dtype=np.float64), _EPS, 1 - _EPS)
    z = np.log(p / (1 - p))
    median = float(np.median(z))
    spread = (median - float(np.quantile(z, LOWER_QUANTILE))) / NormalDist().inv_cdf(1 - LOWER_QUANTILE)
    if not spread > 1e-9:
        raise CalibrationError(
            "the accounts' scores have no spread below their median (too few accounts, or all identical): "
            "calibrate on more traffic"
        )
    t = median + spread * NormalDist().inv_cdf(1 - rate)
    return float(1.0 / (1.0 + math.exp(-t)))


def fit_thresholds(
    maxima: AccountMaxima, *, review_rate: float, block_rate: float, bundled_request_review: float
) -> dict[str, Any]:
    """Account review / block thresholds at the target benign-account rates, and the request review one."""
    if block_rate > review_rate:
        raise CalibrationError(f"--block-rate ({block_rate}) must not exceed --review-rate ({review_rate})")
    n = len(maxima.account_scores)
    if n < 50:
        raise CalibrationError(f"the log has {n} accounts; calibration needs at least 50 (more is better)")
    share = 1.0 if maxima.deep_scores is None else 0.5  # two channels split each rate (union bound)
    review = robust_threshold(maxima.account_scores, review_rate * share)
    block = max(review, robust_threshold(maxima.account_scores, block_rate * share))
    request_review = max(bundled_request_review, robust_threshold(maxima.request_probabilities, block_rate))
    flagged = (maxima.account_scores >= review) | (maxima.request_probabilities >= request_review)
    blocked = maxima.account_scores >= block
    deep: dict[str, Any] = {}
    if maxima.deep_scores is not None:
        deep_review = robust_threshold(maxima.deep_scores, review_rate * share)
        deep_block = max(deep_review, robust_threshold(maxima.deep_scores, block_rate * share))
        flagged |= maxima.deep_scores >= deep_review
        blocked |= maxima.deep_scores >= deep_block
        deep = {"deep_review": deep_review, "deep_block": deep_block, "deep_selection": maxima.deep_selection}
    return {
        "account_review": review,
        "account_block": block,
        "request_review": request_review,
        "account_review_target_fpr": review_rate * share,  # what each account channel was fitted at
        "account_block_target_fpr": block_rate * share,
        "accounts": n,
        "log_flag_rate": float(flagged.mean()),
        "log_block_rate": float(blocked.mean()),
        **deep,
    }


def write_calibrated_bundle(source: Path, out: Path, fitted: dict[str, Any], log: Path) -> str:
    """Copy ``source`` to ``out`` with the fitted thresholds in its manifest, every file re-hashed
    and the version suffixed; returns the new version. ``out`` must not exist or be empty."""
    manifest = load_manifest(source)
    if out.exists() and any(out.iterdir()):
        raise IntentGuardError(f"{out} exists and is not empty: choose a new directory for the calibrated bundle")
    shutil.copytree(manifest.root, out, dirs_exist_ok=True)
    data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    decision = dict(data["decision"])
    decision.update({k: fitted[k] for k in ("account_review", "account_block", "request_review")})
    decision.update(
        {
            "account_review_target_fpr": fitted["account_review_target_fpr"],
            "account_block_target_fpr": fitted["account_block_target_fpr"],
            "chosen_on": f"intent-guard calibrate on unlabelled traffic ({log.name}, {fitted['accounts']} accounts)",
            "calibrated_from": data["bundle_version"],
            "calibrated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
    data["decision"] = decision
    deep_section = data.get("deep_content")
    if isinstance(deep_section, dict):
        deep_section.pop("decision", None)  # fitted with the inline thresholds replaced here
        if "deep_review" in fitted:
            deep_section["decision"] = {
                "selection": fitted["deep_selection"],
                "review": fitted["deep_review"],
                "block": fitted["deep_block"],
                "review_target_fpr": fitted["account_review_target_fpr"],
                "block_target_fpr": fitted["account_block_target_fpr"],
                "chosen_on": decision["chosen_on"] + "; half of each target rate per channel (union bound)",
            }
    data["files"] = {name: sha256_file(out / name) for name in data["files"]}
    fitted_decisions = {"decision": decision, "deep": (deep_section or {}).get("decision")}
    digest = hashlib.sha256(json.dumps(fitted_decisions, sort_keys=True).encode()).hexdigest()[:6]
    base = str(data["bundle_version"]).split("+cal")[0]
    data["bundle_version"] = f"{base}+cal{digest}"
    (out / MANIFEST).write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    load_manifest(out)  # verify what was written
    return str(data["bundle_version"])
