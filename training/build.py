"""Build a model bundle from a labelled log: split, replay, train, export, calibrate, evaluate.

    python -m training build --log artifacts/synth.jsonl --out models/default

1. Accounts are split into train / calib / test by campaign (labelled) or org (benign).
2. The bundle's encoders, template indexes and topic projections are prepared.
3. The template-like similarity (a session-state threshold) is set to the 90th percentile of
   benign requests' best template similarity on the train split.
4. Each split is replayed separately, in time order, through intent_guard's FeaturePipeline.
5. LightGBM is trained on train, exported to ONNX, and the export must match LightGBM's
   probabilities within 1e-5 on 10k rows (a hard gate).
6. ``review`` / ``block`` thresholds are set on calib at target benign request FPRs.
7. The test split is scored by the final ONNX model and the metrics go into the manifest and
   ``evaluation.json``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from intent_guard.bundle import draft_manifest
from intent_guard.features import FEATURE_NAMES, monotone_constraints
from intent_guard.pipeline import FeaturePipeline
from intent_guard.scoring import OnnxScorer
from intent_guard.session import MemoryStore
from intent_guard.text import prompt_parts
from intent_guard.types import Request

from .ablation import ablation, ablation_table
from .assemble import data_digest, finalise, prepare
from .decisions import account_evidence, choose_decision_thresholds, fit_platt
from .generalisation import leave_one_world_out, stranger_and_shift, stranger_log_accounts
from .metrics import summarise, threshold_at_fpr
from .model import check_parity, export_onnx, train_lightgbm
from .records import SPLITS, LogSource, group_split
from .replay import Replayed, replay
from .report import Scored, write_report

REFERENCE_PREFIXES = ("requests_", "template_share_", "template_sim_mean_", "cue_share_", "cluster_")


@dataclass
class BuildOptions:
    log: Path | list[Path]  # JSONL / Parquet files or folders
    out: Path
    encoders_dir: Path
    templates: Path
    corpus: Path
    serving_encoder: str = "static"
    encoders: tuple[str, ...] = ("static", "onnx-int8")
    review_fpr: float = 0.01
    block_fpr: float = 0.001
    account_review_fpr: float = 0.01  # benign-account FPR at the account review threshold
    account_block_fpr: float = 0.001  # ... and at the account block threshold
    report: Path | None = None  # default: <out>/report
    baseline: Path | None = None
    rounds: int = 150
    #: A labelled log written by someone else, scored by the finished bundle (stranger mode);
    #: None: ../shared/validation/traffic.jsonl.gz when present.
    stranger_log: Path | None = None
    stranger: bool = True
    leave_one_world_out: bool = True
    seed: int = 0
    split: str = "group"  # or "time"
    skip_unlabelled: bool = False


def template_like_threshold(pipeline: FeaturePipeline, records: list[dict[str, Any]], quantile: float = 0.9) -> float:
    """A quantile of benign requests' best template similarity (stateless: no session updates)."""
    sims: list[float] = []
    for start in range(0, len(records), 512):
        chunk = [Request.from_dict(r) for r in records[start : start + 512]]
        parts = [prompt_parts(r) for r in chunk]
        sims += [s.user_max for s in pipeline.match(pipeline.embed_views(parts))]
    return round(float(np.quantile(sims, quantile)), 4) if sims else 0.5


def replay_splits(
    options: BuildOptions, manifest: Any, source: LogSource, split_of: Any, counts: dict[str, int]
) -> dict[str, Replayed]:
    """Replay each split through a fresh pipeline (group split: no state crosses splits), or the
    whole log once and cut it afterwards (time split: accounts keep their history across days)."""
    if getattr(split_of, "replay_whole", False):
        pipeline = FeaturePipeline.from_manifest(manifest, MemoryStore())
        whole = replay(pipeline, source, total=sum(counts.values()), label="replay all  ")
        sides = np.array([split_of.of(r) for r in source], dtype=object)
        return {split: whole.subset(sides == split) for split in SPLITS}
    out = {}
    for split in SPLITS:
        pipeline = FeaturePipeline.from_manifest(manifest, MemoryStore())
        records = (r for r in source if split_of.of(r) == split)
        out[split] = replay(pipeline, records, total=counts[split], label=f"replay {split:<5}")
    return out


def build(options: BuildOptions) -> dict[str, Any]:
    """Run the whole build; returns the evaluation summary written to the manifest."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    source = LogSource(
        options.log if isinstance(options.log, list) else [options.log], require_labels=not options.skip_unlabelled
    )
    split_of = group_split(source, seed=options.seed, mode=options.split)
    counts = {s: 0 for s in SPLITS}
    benign_sample: list[dict[str, Any]] = []
    rng = np.random.default_rng(options.seed)
    for record in source:
        split = split_of.of(record)
        counts[split] += 1
        if split == "train" and record.get("label") == 0 and rng.random() < 0.05:
            benign_sample.append(record)
    print(f"{options.split} split by campaign / org: {counts}")
    if source.skipped or source.unlabelled:
        print(f"skipped {source.skipped:,} invalid and {source.unlabelled:,} unlabelled records; first errors:")
        for message in source.errors[:5]:
            print(f"  {message}")

    t = time.perf_counter()
    manifest = prepare(
        options.out,
        encoders_dir=options.encoders_dir,
        templates_file=options.templates,
        corpus_dir=options.corpus,
        serving_encoder=options.serving_encoder,
        encoders=options.encoders,
    )
    probe = FeaturePipeline.from_manifest(manifest, MemoryStore())
    manifest.data["template_like_similarity"] = template_like_threshold(probe, benign_sample)
    manifest = draft_manifest(manifest.root, manifest.data)  # the typed fields follow the data
    timings["prepare_s"] = time.perf_counter() - t
    print(f"template-like similarity: {manifest.data['template_like_similarity']}")

    t = time.perf_counter()
    replayed = replay_splits(options, manifest, source, split_of, counts)
    timings["replay_s"] = time.perf_counter() - t
    train, calib, test = (replayed[s] for s in SPLITS)
    for name, part in replayed.items():
        if len(set(part.y.tolist())) < 2:
            print(
                f"warning: the {name} split has only {'campaign' if part.y.any() else 'benign'} traffic; "
                "its metrics are undefined (more data, or --split group)"
            )
    timings["replay_requests_per_s"] = sum(len(r) for r in replayed.values()) / timings["replay_s"]

    t = time.perf_counter()
    booster = train_lightgbm(
        train.X,
        train.y,
        list(FEATURE_NAMES),
        rounds=options.rounds,
        seed=options.seed,
        monotone=monotone_constraints(),
        accounts=train.account,
    )
    timings["lightgbm_s"] = time.perf_counter() - t
    scorer_path = options.out / "scorer.onnx"
    export_onnx(booster, len(FEATURE_NAMES), scorer_path)
    parity = check_parity(booster, scorer_path, np.vstack([train.X, calib.X, test.X]), seed=options.seed)
    print(f"ONNX parity: max |diff| = {parity:.2e}")

    scorer = OnnxScorer(scorer_path)
    calib_raw = scorer.predict_proba(calib.X)
    platt = fit_platt(calib_raw, calib.y)
    calib_p = platt.many(calib_raw)
    thresholds = choose_thresholds(calib, calib_p, options)
    decision = {
        "calibration": platt.to_dict(),
        **choose_decision_thresholds(
            calib.account,
            calib.y,
            calib_p,
            account_evidence(calib.account, calib.timestamp, calib_p),
            review_fpr=options.account_review_fpr,
            block_fpr=options.account_block_fpr,
            request_fpr=options.block_fpr,
        ),
    }
    print(
        "decision thresholds (calib split): account review {account_review:.4f}, block {account_block:.4f}, "
        "request review {request_review:.4f}; benign accounts flagged {calib_benign_account_flag_rate:.4f}, "
        "blocked {calib_benign_account_block_rate:.4f}".format(**decision)
    )
    test_p = platt.many(scorer.predict_proba(test.X))
    evaluation = summarise(test.y, test_p, test.account, test.population, thresholds)
    evaluation["split"] = "test (held-out campaigns and orgs)"
    benign_train = train.X[train.y == 0]
    reference = {
        name: float(np.quantile(benign_train[:, i], 0.99))
        for i, name in enumerate(FEATURE_NAMES)
        if name.startswith(REFERENCE_PREFIXES)
    }
    t = time.perf_counter()
    ablated = ablation(train, calib, test, review_fpr=options.review_fpr, rounds=options.rounds, seed=options.seed)
    timings["ablation_s"] = time.perf_counter() - t
    print(ablation_table(ablated))
    lowo: dict[str, Any] = {}
    if options.leave_one_world_out:
        t = time.perf_counter()
        lowo = leave_one_world_out(_concat([train, calib, test]), rounds=options.rounds, seed=options.seed)
        timings["leave_one_world_out_s"] = time.perf_counter() - t
        for world, figures in lowo.items():
            print(
                f"held-out world {world}: account AUC {figures['account_roc_auc']:.4f}, "
                f"TPR@1% {figures['account_tpr_at_0.01_fpr']:.3f}, @0.1% {figures['account_tpr_at_0.001_fpr']:.3f}"
            )
    importance = dict(zip(FEATURE_NAMES, booster.feature_importance("gain").round(1).tolist(), strict=True))
    sample = test.X[np.random.default_rng(options.seed).choice(len(test.X), size=min(5000, len(test.X)), replace=False)]
    contributions = np.abs(booster.predict(sample, pred_contrib=True)[:, :-1]).mean(axis=0)
    shap = dict(zip(FEATURE_NAMES, contributions.round(5).tolist(), strict=True))
    timings["total_s"] = time.perf_counter() - started
    finalise(
        manifest,
        {
            "scorer": "scorer.onnx",
            "thresholds": {
                **thresholds,
                "review_target_fpr": options.review_fpr,
                "block_target_fpr": options.block_fpr,
                "chosen_on": "calib split, benign requests (calibrated probabilities)",
            },
            "decision": decision,
            "feature_reference": reference,
            "training_data": {
                "digest": data_digest(source.files),
                "files": [f.name for f in source.files],
                "split": options.split,
                "skipped_invalid": source.skipped,
                "requests": counts,
                "positives_train": int(train.y.sum()),
            },
            "training": {"rounds": options.rounds, "seed": options.seed, "onnx_parity_max_abs_diff": parity},
            "evaluation": evaluation,
        },
    )
    stranger: dict[str, Any] | None = None
    located = stranger_log_accounts(options.stranger_log) if options.stranger else None
    if options.stranger and located is None:
        print("stranger mode skipped: no labelled log with accounts.json beside it (--stranger-log)")
    if located is not None:
        t = time.perf_counter()
        stranger = stranger_and_shift(options.out, *located, train, rounds=options.rounds, seed=options.seed)
        timings["stranger_s"] = time.perf_counter() - t
        from .stranger import summary_line

        print(f"stranger mode on {located[0]}:\n  {summary_line(stranger['figures'])}")
    report = {
        "evaluation": evaluation,
        "stranger": stranger,
        "leave_one_world_out": lowo,
        "ablation": ablated,
        "feature_shap": shap,
        "timings": timings,
        "feature_gain": importance,
        "thresholds": thresholds,
    }
    (options.out / "evaluation.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    manifest_data = json.loads((options.out / "manifest.json").read_text(encoding="utf-8"))
    scored = Scored(
        manifest_data["bundle_version"],
        test.y,
        test_p,
        test.account,
        test.campaign,
        test.population,
        thresholds,
        {"gain": importance, "mean |SHAP|": shap},
    )
    baseline = None
    if options.baseline is not None:
        baseline = score_baseline(options.baseline, source, split_of, test)
    report_dir = options.report or options.out / "report"
    write_report(
        scored, report_dir, manifest=manifest_data, baseline=baseline, ablation=ablated, stranger=stranger, lowo=lowo
    )
    print(f"report: {report_dir / 'report.html'}")
    return report


def _concat(parts: list[Replayed]) -> Replayed:
    return Replayed(*(np.concatenate([getattr(p, f) for p in parts]) for f in Replayed.__dataclass_fields__))


def choose_thresholds(calib: Replayed, calib_p: np.ndarray, options: BuildOptions) -> dict[str, float]:
    """Request-level thresholds at the target benign-request FPRs (report figures; decisions use
    the account policy's thresholds of the manifest's ``decision`` section)."""
    benign = calib_p[calib.y == 0]
    out = {
        name: threshold_at_fpr(benign, fpr)
        for name, fpr in (("review", options.review_fpr), ("block", options.block_fpr))
    }
    out["review"] = min(out["review"], out["block"])
    return out


def score_baseline(bundle: Path, source: LogSource, split_of: Any, test: Replayed) -> Scored:
    """The baseline bundle's scores on the same held-out requests (replayed through its own Guard)."""
    from intent_guard import Guard

    guard = Guard.load(bundle)
    records = (r for r in source if split_of.of(r) == "test")
    probabilities = [v.probability for v in guard.score_many(records)]
    # The baseline's request-level report thresholds (its decisions use the account policy).
    thresholds = {name: float(guard.manifest.data["thresholds"][name]) for name in ("review", "block")}
    return Scored(
        f"baseline {guard.model_version}",
        test.y,
        np.array(probabilities),
        test.account,
        test.campaign,
        test.population,
        thresholds,
    )
