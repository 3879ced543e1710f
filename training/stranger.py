"""Stranger-mode figures: the metrics of ``shared/validation/score.py``, computed in-process.

A bundle is scored on a labelled log written by someone else (``shared/validation``) and judged
with exactly the definitions of that folder's ``score.py`` (which lives outside this repository
and is not imported):

- request level: ROC-AUC, PR-AUC (average precision), TPR at 1% and 0.1% request FPR;
- account level: an account's score is the max over its requests of ``account_score`` (the
  request's ``probability`` where there is none), its label 1 if any request is labelled 1;
  ROC-AUC and TPR at 1% / 0.1% benign-account FPR;
- per population (from the accounts file): share of accounts ever flagged (review or block) and
  ever blocked; median number of an account's requests before its first flag (flagged accounts);
- per campaign style: account TPR at the 1% benign-account-FPR threshold.

TPR at FPR x uses score.py's tie rule: the threshold is the (floor(x * n_neg) + 1)-th highest
negative score and a positive counts only when strictly above it, so the realised FPR is <= x.

    python -m training evaluate --log traffic.jsonl.gz --accounts accounts.json [--verdicts-out V.jsonl]
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

DECISIONS = ("allow", "review", "block")
BENIGN_ORDER = ("casual", "students", "dev_agents", "enterprise_batch", "eval_teams", "rag_apps", "support_agents")
CAMPAIGN_ORDER = (
    "reasoning_harvest",
    "agentic_harvest",
    "coding_volume",
    "slow_low",
    "capability_sweep",
    "mixed_reseller",
)


class StrangerDataError(ValueError):
    """The log, verdicts or accounts file cannot be scored (empty, malformed, inconsistent)."""


def threshold_above_fpr(negatives: np.ndarray, fpr: float) -> float:
    """The score a positive must exceed so that at most floor(fpr * n_neg) negatives are above it."""
    if len(negatives) == 0:
        return -math.inf
    k = int(math.floor(fpr * len(negatives) + 1e-9))
    if k >= len(negatives):
        return -math.inf
    return float(np.sort(negatives)[::-1][k])


def tpr_above_fpr(y: np.ndarray, scores: np.ndarray, fpr: float) -> float:
    """Share of positives strictly above :func:`threshold_above_fpr` (NaN without positives)."""
    positives = scores[y == 1]
    if len(positives) == 0:
        return float("nan")
    return float(np.mean(positives > threshold_above_fpr(scores[y == 0], fpr)))


def _auc(kind: str, y: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import average_precision_score, roc_auc_score

    if not 0 < int(y.sum()) < len(y):
        return float("nan")
    fn = roc_auc_score if kind == "roc" else average_precision_score
    return float(fn(y, scores))


def load_accounts(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read an accounts file (account_id -> {population, label, campaign_id, ...})."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StrangerDataError(f"{path}: not a readable JSON accounts file ({exc})") from exc
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise StrangerDataError(f"{path}: an accounts file maps account_id to an object with 'population'")
    return data


def stranger_figures(
    label: Sequence[int] | np.ndarray,
    account_id: Sequence[str] | np.ndarray,
    probability: Sequence[float] | np.ndarray,
    decision: Sequence[str] | np.ndarray,
    accounts: Mapping[str, Mapping[str, Any]],
    *,
    account_score: Sequence[float] | np.ndarray | None = None,
    timestamp: Sequence[float] | np.ndarray | None = None,
    missing: int = 0,
) -> dict[str, Any]:
    """score.py's figures from per-request arrays (one entry per logged request with a verdict).

    ``account_score`` may be NaN (or None throughout) where a verdict has none: the probability is
    used instead. "Requests before the first flag" counts within each account in ``timestamp``
    order, ties (and a missing ``timestamp``) kept in the order given, as score.py keeps file
    order. ``missing`` is only reported: score.py also scores a request without a verdict as
    probability 0 / allow, so pass such requests in the arrays to reproduce that exactly.
    """
    y = np.asarray(label, dtype=np.int64)
    s = np.asarray(probability, dtype=np.float64)
    n = len(y)
    acct_ids = np.asarray(account_id, dtype=object)
    decisions = np.asarray(decision, dtype=object)
    if n == 0:
        raise StrangerDataError("no requests to score")
    if not (len(s) == len(acct_ids) == len(decisions) == n):
        raise StrangerDataError(
            f"per-request arrays differ in length: label {n}, account_id {len(acct_ids)}, "
            f"probability {len(s)}, decision {len(decisions)}"
        )
    if not np.isin(y, (0, 1)).all():
        raise StrangerDataError("labels must be 0 or 1")
    if not ((s >= 0.0) & (s <= 1.0)).all():
        raise StrangerDataError("probabilities must be numbers in [0, 1]")
    bad = sorted({str(d) for d in decisions.tolist()} - set(DECISIONS))
    if bad:
        raise StrangerDataError(f"decisions must be one of {DECISIONS}, got {bad[:5]}")
    if account_score is None:
        s_acct = s.copy()
    else:
        s_acct = np.asarray(account_score, dtype=np.float64)
        if len(s_acct) != n:
            raise StrangerDataError(f"account_score has {len(s_acct)} entries for {n} requests")
        s_acct = np.where(np.isnan(s_acct), s, s_acct)
        if not ((s_acct >= 0.0) & (s_acct <= 1.0)).all():
            raise StrangerDataError("account scores must be numbers in [0, 1]")
    t = np.zeros(n) if timestamp is None else np.asarray(timestamp, dtype=np.float64)
    flagged = decisions != "allow"
    blocked = decisions == "block"

    res: dict[str, Any] = {
        "n_requests": n,
        "n_label1": int(y.sum()),
        "n_verdicts": n,
        "missing": int(missing),
        "request": {
            "roc_auc": _auc("roc", y, s),
            "pr_auc": _auc("pr", y, s),
            "tpr@1%fpr": tpr_above_fpr(y, s, 0.01),
            "tpr@0.1%fpr": tpr_above_fpr(y, s, 0.001),
        },
    }

    # Accounts in sorted id order; each account's requests in (timestamp, given position) order.
    ids, codes = np.unique(acct_ids.astype(str), return_inverse=True)
    order = np.lexsort((np.arange(n), t, codes))
    codes_o = codes[order]
    starts = np.flatnonzero(np.r_[True, codes_o[1:] != codes_o[:-1]])
    sizes = np.diff(np.r_[starts, n])
    a_score = np.maximum.reduceat(s_acct[order], starts)
    a_label = np.maximum.reduceat(y[order], starts)
    a_flag = np.logical_or.reduceat(flagged[order], starts)
    a_block = np.logical_or.reduceat(blocked[order], starts)
    rank = np.arange(n) - np.repeat(starts, sizes)  # position within the account
    a_first = np.minimum.reduceat(np.where(flagged[order], rank, n), starts)  # n: never flagged
    res["account"] = {
        "n_accounts": len(ids),
        "n_label1": int(a_label.sum()),
        "roc_auc": _auc("roc", a_label, a_score),
        "tpr@1%fpr": tpr_above_fpr(a_label, a_score, 0.01),
        "tpr@0.1%fpr": tpr_above_fpr(a_label, a_score, 0.001),
    }
    thr1 = threshold_above_fpr(a_score[a_label == 0], 0.01)
    res["account"]["threshold@1%fpr"] = thr1

    meta = [accounts.get(a, {}) for a in ids.tolist()]
    population = np.array([m.get("population", "unknown") for m in meta], dtype=object)
    campaign = np.array([m.get("campaign_id") or "" for m in meta], dtype=object)
    present = set(population.tolist())
    known = BENIGN_ORDER + CAMPAIGN_ORDER
    res["populations"] = {}
    for pop in [p for p in known if p in present] + sorted(present - set(known)):
        members = population == pop
        firsts = a_first[members]
        befores = firsts[firsts < n]
        positive = members & (a_label == 1)
        res["populations"][pop] = {
            "label": int(a_label[members].max()),
            "accounts": int(members.sum()),
            "requests": int(sizes[members].sum()),
            "any_nonallow": float(np.mean(a_flag[members])),
            "any_block": float(np.mean(a_block[members])),
            "median_before_first_nonallow": float(np.median(befores)) if len(befores) else None,
            "never_flagged": int((firsts >= n).sum()),
            "tpr@1%benign_acct_fpr": float(np.mean(a_score[positive] > thr1)) if positive.any() else None,
        }
    style = np.where(campaign != "", campaign, population)
    res["campaigns"] = {
        c: {
            "accounts": int(((style == c) & (a_label == 1)).sum()),
            "tpr@1%benign_acct_fpr": float(np.mean(a_score[(style == c) & (a_label == 1)] > thr1)),
        }
        for c in sorted(set(style[a_label == 1].tolist()))
    }
    benign = a_label == 0
    res["benign_block_rate"] = float(np.mean(a_block[benign])) if benign.any() else float("nan")
    res["benign_nonallow_rate"] = float(np.mean(a_flag[benign])) if benign.any() else float("nan")
    res["account_score_field"] = "account_score" if bool((s_acct != s).any()) else "probability"
    return res


def _fmt(x: float | None, width: int = 7, digits: int = 4) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return f"{'-':>{width}s}"
    return f"{x:{width}.{digits}f}"


def summary_line(res: Mapping[str, Any]) -> str:
    """score.py's last line: ``validation: req_auc=... missing=...``."""
    r, a = res["request"], res["account"]
    return (
        f"validation: req_auc={_fmt(r['roc_auc'], 0)} acct_auc={_fmt(a['roc_auc'], 0)} "
        f"acct_tpr@1%fpr={_fmt(a['tpr@1%fpr'], 0)} acct_tpr@0.1%fpr={_fmt(a['tpr@0.1%fpr'], 0)} "
        f"benign_block_rate={_fmt(res['benign_block_rate'], 0)} "
        f"benign_flag_rate={_fmt(res['benign_nonallow_rate'], 0)} missing={res['missing']}"
    )


def format_stranger(res: Mapping[str, Any]) -> str:
    """The figures as score.py prints them (same tables, same summary line last)."""
    r, a = res["request"], res["account"]
    lines = [
        f"requests {res['n_requests']} (label1 {res['n_label1']}), verdicts {res['n_verdicts']}, "
        f"missing {res['missing']}",
        "",
        f"{'level':10s} {'ROC-AUC':>8s} {'PR-AUC':>8s} {'TPR@1%FPR':>10s} {'TPR@0.1%FPR':>12s}",
        f"{'request':10s} {_fmt(r['roc_auc'], 8)} {_fmt(r['pr_auc'], 8)} {_fmt(r['tpr@1%fpr'], 10)} "
        f"{_fmt(r['tpr@0.1%fpr'], 12)}",
        f"{'account':10s} {_fmt(a['roc_auc'], 8)} {_fmt(None, 8)} {_fmt(a['tpr@1%fpr'], 10)} "
        f"{_fmt(a['tpr@0.1%fpr'], 12)}",
        "",
        f"{'population':18s} {'lbl':>3s} {'accts':>6s} {'reqs':>7s} {'nonallow':>9s} {'block':>7s} "
        f"{'med_before_flag':>15s} {'never':>6s} {'TPR@1%bFPR':>10s}",
    ]
    for name, v in res["populations"].items():
        median = v["median_before_first_nonallow"]
        med = "-" if median is None or not v["label"] else f"{median:.1f}"
        never = v["never_flagged"] if v["label"] else "-"
        lines.append(
            f"{name:18s} {v['label']:3d} {v['accounts']:6d} {v['requests']:7d} {_fmt(v['any_nonallow'], 9, 3)} "
            f"{_fmt(v['any_block'], 7, 3)} {med:>15s} {never:>6} {_fmt(v['tpr@1%benign_acct_fpr'], 10, 3)}"
        )
    lines += [
        "(nonallow/block: fraction of accounts with any review-or-block / any block decision; med_before_flag: "
        "median requests before the first non-allow, flagged campaign accounts only; never: campaign accounts "
        "never flagged)",
        "",
    ]
    thr = a["threshold@1%fpr"]
    head = "per campaign: account TPR at 1% benign-account FPR"
    lines.append(f"{head} (score > {thr:.4f})" if math.isfinite(thr) else head)
    for c, v in res["campaigns"].items():
        lines.append(f"  {c:20s} {v['tpr@1%benign_acct_fpr']:.3f}  ({v['accounts']} accounts)")
    lines += ["", summary_line(res)]
    return "\n".join(lines)


def stranger_evaluation(
    bundle_dir: str | Path | None,
    log_path: str | Path,
    accounts_path: str | Path,
    *,
    verdicts_out: str | Path | None = None,
    encoder: str | None = None,
    batch_size: int = 512,
) -> dict[str, Any]:
    """Score a whole labelled log with a fresh Guard, in time order, and return score.py's figures.

    The figures use the verdicts as written (``Verdict.to_dict``), so ``score.py`` run on
    ``verdicts_out`` prints the same numbers. Invalid records get no verdict: they are counted in
    ``missing`` and ``invalid_records`` (score.py would score them 0 / allow).
    """
    from intent_guard import Guard
    from intent_guard.logs import InputOrderWriter, batched, iter_time_order, scan_log, verdict_line
    from intent_guard.progress import Progress

    log_path = Path(log_path)
    if not log_path.is_file():
        raise FileNotFoundError(f"no such log file: {log_path}")
    accounts = load_accounts(accounts_path)
    guard = Guard.load(bundle_dir, encoder=encoder)
    scan = scan_log(log_path)
    n = len(scan)
    if n == 0:
        raise StrangerDataError(f"{log_path}: no valid requests ({scan.bad_count} invalid records)")
    label = np.zeros(n, dtype=np.int8)
    unlabelled = 0
    account = np.empty(n, dtype=object)
    request_id = np.empty(n, dtype=object)
    probability = np.zeros(n, dtype=np.float64)
    account_score = np.full(n, np.nan, dtype=np.float64)
    decision = np.empty(n, dtype=object)

    out = open(verdicts_out, "w", encoding="utf-8") if verdicts_out is not None else None  # noqa: SIM115
    try:
        writer = InputOrderWriter(out, scan.time_order()) if out is not None else None
        with Progress(n, "scoring ") as bar:
            for batch in batched(iter_time_order(log_path, scan), batch_size):
                for (position, request), verdict in zip(batch, guard.score_many([r for _, r in batch]), strict=True):
                    written = verdict.to_dict()  # rounded as in the verdict file
                    unlabelled += request.label is None
                    label[position] = request.label or 0
                    account[position] = request.account_id
                    request_id[position] = request.request_id
                    probability[position] = written["probability"]
                    account_score[position] = written.get("account_score", np.nan)
                    decision[position] = written["decision"]
                    if writer is not None:
                        writer.write(position, verdict_line(verdict))
                bar.update(len(batch))
        if writer is not None:
            writer.close()
    finally:
        if out is not None:
            out.close()
    duplicates = _last_verdict_wins(request_id, probability, account_score, decision)
    figures = stranger_figures(
        label,
        account,
        probability,
        decision,
        accounts,
        account_score=account_score,
        timestamp=scan.timestamps,
        missing=scan.bad_count,
    )
    figures.update(
        duplicate_ids=duplicates,
        invalid_records=scan.bad_count,
        first_errors=[str(b) for b in scan.bad[:5]],
        unlabelled=unlabelled,
        unknown_accounts=int(sum(a not in accounts for a in set(account.tolist()))),
        model_version=guard.model_version,
        log=str(log_path),
        accounts_file=str(accounts_path),
    )
    return figures


def _last_verdict_wins(
    request_id: np.ndarray, probability: np.ndarray, account_score: np.ndarray, decision: np.ndarray
) -> int:
    """A request id logged twice takes its last verdict (in input order) on every row, as score.py does."""
    last: dict[str, int] = {}
    repeated = 0
    for position, rid in enumerate(request_id.tolist()):
        repeated += rid in last
        last[rid] = position
    if repeated:
        for position, rid in enumerate(request_id.tolist()):
            src = last[rid]
            probability[position], account_score[position] = probability[src], account_score[src]
            decision[position] = decision[src]
    return repeated
