"""Fit the deep-evidence thresholds on the build's calibration split.

The deep channel (``intent_guard.deep_analysis``) adds a second account-evidence score to the
policy. Its thresholds are fitted where the inline ones were, on the calibration split's *benign
accounts*, by replaying that split in time order through the serving code itself: a Guard with a
synchronous :class:`~intent_guard.deep_analysis.DeepAnalyzer` using the selection the thresholds
are recorded with. Every verdict's account snapshot is recorded as the policy saw it.

The two channels share one benign-account budget per decision: with the inline thresholds as
shipped, the deep ``review`` threshold is the lowest that keeps the benign accounts flagged by
*either* channel within ``floor(review_fpr * benign accounts)`` (likewise ``block``, with the
history rule). When the inline channel already uses the whole budget on this split, the deep
threshold sits just above every benign account's deep score: the channel then flags only what
scores above all of the split's benign accounts.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from intent_guard.bundle import MANIFEST, load_manifest
from intent_guard.decision import AccountSnapshot, Decided
from intent_guard.deep_analysis import DeepSelection
from intent_guard.progress import Progress
from intent_guard.types import Reason

from .deep_content import BuildSplit, DeepDataError, log_name
from .metrics import threshold_allowing
from .records import LogSource, group_split


@dataclass(frozen=True)
class AccountTrace:
    """What the policy saw of one account over the replay."""

    label: int
    inline_flagged: bool
    inline_blocked: bool
    deep_max: float  # highest deep score at any of its verdicts
    deep_max_blockable: float  # the same, at verdicts with enough history to block


class _RecordingPolicy:
    """Delegates to the Guard's policy and keeps what each decision saw."""

    def __init__(self, policy: Any) -> None:
        self.policy = policy
        self.seen: list[tuple[float, int, float, float]] = []  # (account score, requests, deep score, probability)

    def decide(self, probability: float, account: AccountSnapshot, request_reasons: tuple[Reason, ...]) -> Decided:
        self.seen.append((account.score, account.requests, account.deep_score or 0.0, probability))
        return self.policy.decide(probability, account, request_reasons)


def calib_records(log: Path, split: BuildSplit) -> list[dict[str, Any]]:
    """The build's calibration split of ``log``, in time order."""
    from .generalisation import _time_of

    source = LogSource([log])
    split_of = group_split(source, seed=split.seed, mode=split.mode)
    calib = [record for record in source if split_of.of(record) == "calib"]
    if not calib:
        raise DeepDataError(f"{log} has no calib-split requests")
    return sorted(calib, key=_time_of)


def replay_traces(bundle: Path, records: list[dict[str, Any]], selection: DeepSelection) -> dict[str, AccountTrace]:
    """Replay ``records`` through a Guard with a synchronous deep analyser; one trace per account."""
    from intent_guard import Guard
    from intent_guard.deep import DeepContent
    from intent_guard.deep_analysis import DeepAnalyzer

    guard = Guard.load(bundle)
    analyzer = DeepAnalyzer(DeepContent(guard.manifest), guard.store, selection=selection, background=False)
    guard.with_deep(analyzer=analyzer, require_thresholds=False)  # decisions are recomputed from the trace
    recorder = _RecordingPolicy(guard.policy)
    guard.policy = recorder  # type: ignore[assignment]
    t = guard.policy.policy.thresholds
    block_min = guard.policy.policy.block_min_requests
    per: dict[str, dict[str, Any]] = {}
    bar = Progress(len(records), "replay calib split (inline + deep)")
    for record in records:
        guard.score(record)
        bar.update()
        score, requests, deep, probability = recorder.seen[-1]
        a = per.setdefault(
            record["account_id"],
            {"label": 0, "flag": False, "block": False, "deep": 0.0, "deep_block": 0.0},
        )
        a["label"] = max(a["label"], int(record["label"]))
        a["flag"] |= score >= t.account_review or probability >= t.request_review
        a["block"] |= score >= t.account_block and requests >= block_min
        a["deep"] = max(a["deep"], deep)
        if requests >= block_min:
            a["deep_block"] = max(a["deep_block"], deep)
    bar.close()
    return {
        account: AccountTrace(a["label"], a["flag"], a["block"], a["deep"], a["deep_block"])
        for account, a in per.items()
    }


def union_threshold(inline_hit: np.ndarray, deep: np.ndarray, target_fpr: float) -> float:
    """The lowest deep threshold keeping benign accounts hit by either channel within
    ``floor(target_fpr * n)``; above 1 (nothing can reach it) when the inline channel alone fills it."""
    room = int(np.floor(target_fpr * len(deep))) - int(inline_hit.sum())
    if room < 0:
        return float(np.nextafter(1.0, np.inf))
    return threshold_allowing(deep[~inline_hit], room)


def fit(traces: dict[str, AccountTrace], review_fpr: float, block_fpr: float) -> dict[str, Any]:
    """The deep thresholds, and the rates the union rule gives on these accounts."""
    benign = [tr for tr in traces.values() if tr.label == 0]
    campaign = [tr for tr in traces.values() if tr.label == 1]
    if not benign:
        raise DeepDataError("the calibration split has no benign accounts to fit thresholds on")

    def arrays(rows: list[AccountTrace]) -> tuple[np.ndarray, ...]:
        return (
            np.array([r.inline_flagged for r in rows], dtype=bool),
            np.array([r.inline_blocked for r in rows], dtype=bool),
            np.array([r.deep_max for r in rows], dtype=np.float64),
            np.array([r.deep_max_blockable for r in rows], dtype=np.float64),
        )

    flag_b, block_b, deep_b, deep_block_b = arrays(benign)
    review = union_threshold(flag_b, deep_b, review_fpr)
    block = max(review, union_threshold(block_b, deep_block_b, block_fpr))

    def rates(rows: list[AccountTrace]) -> dict[str, float | None]:
        if not rows:
            return {"flag": None, "block": None, "flag_inline_only": None, "block_inline_only": None}
        flag, blocked, deep, deep_block = arrays(rows)
        return {
            "flag": float((flag | (deep >= review) | (deep_block >= block)).mean()),
            "block": float((blocked | (deep_block >= block)).mean()),
            "flag_inline_only": float(flag.mean()),
            "block_inline_only": float(blocked.mean()),
        }

    return {
        "review": review,
        "block": block,
        "review_target_fpr": review_fpr,
        "block_target_fpr": block_fpr,
        "calib_benign_accounts": len(benign),
        "calib_campaign_accounts": len(campaign),
        "calib_benign": rates(benign),
        "calib_campaign": rates(campaign),
        "benign_deep_score_quantiles": {q: float(np.quantile(deep_b, float(q))) for q in ("0.5", "0.9", "0.99", "1.0")},
        "chosen_on": "calib split, benign accounts: one budget shared with the inline thresholds (union rule)",
    }


def attach(bundle: Path, section: dict[str, Any]) -> None:
    """Write ``deep_content.decision`` into the bundle's manifest (atomically) and verify it."""
    manifest = load_manifest(bundle)
    data = json.loads(json.dumps(manifest.data))
    if "deep_content" not in data:
        raise DeepDataError(f"bundle {bundle} has no deep content model: run python -m training deep-content first")
    data["deep_content"]["decision"] = section
    staged = bundle / (MANIFEST + ".tmp")
    staged.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(staged, bundle / MANIFEST)
    load_manifest(bundle)


def run(
    log: Path,
    bundle: Path,
    *,
    selection: DeepSelection | None = None,
    review_fpr: float | None = None,
    block_fpr: float | None = None,
) -> dict[str, Any]:
    """Replay the calib split, fit, attach; returns the ``deep_content.decision`` section. The target
    FPRs default to the inline thresholds' own (the bundle's ``decision`` section)."""
    started = time.time()
    manifest = load_manifest(bundle)
    if "deep_content" not in manifest.data:
        raise DeepDataError(f"bundle {bundle} has no deep content model: run python -m training deep-content first")
    decision = manifest.data["decision"]
    review_fpr = float(decision["account_review_target_fpr"]) if review_fpr is None else review_fpr
    block_fpr = float(decision["account_block_target_fpr"]) if block_fpr is None else block_fpr
    split = BuildSplit.of(bundle)
    split.check(log)
    selection = selection or DeepSelection()
    traces = replay_traces(bundle, calib_records(log, split), selection)
    section = {
        "selection": selection.to_dict(),
        **fit(traces, review_fpr, block_fpr),
        "log": log_name(log),
        "deep_model_version": manifest.data["deep_content"].get("version"),
        "seconds": round(time.time() - started),
    }
    attach(bundle, section)
    return section
