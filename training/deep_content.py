"""The deep content model: a content-only monotone LightGBM on the transformer encoder's features.

The inline path embeds with the static encoder (microseconds). The transformer (ONNX int8) matches
a stranger's new wordings far better but costs tens of milliseconds a request, so it serves
*beside* the inline path (``intent_guard.deep``), never inside it. This module trains its model:

1. a seeded sample of the build's *train* split (the same group split: no calib / test account
   is ever seen), replayed in time order through the bundle's pipeline with the int8 encoder;
2. a LightGBM on the content features only (template similarities, elicitation cues, bounded
   output), monotone in the registry's directions, every account weighing the same;
3. exported to ONNX (parity-checked against LightGBM) as ``content-onnx-int8.onnx`` and recorded
   in the bundle's manifest (``deep_content``), every file re-hashed;
4. scored on a labelled log written by someone else (stranger mode): request ROC-AUC of each
   campaign style's requests against all benign requests, and their mean (macro).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from intent_guard.bundle import MANIFEST, load_manifest, sha256_file
from intent_guard.deep import DEEP_ENCODER
from intent_guard.features import FEATURE_GROUPS, FEATURE_NAMES, monotone_constraints

from .model import check_parity, export_onnx, train_lightgbm
from .records import LogSource, group_split
from .replay import Replayed, replay

DEEP_FILE = "content-onnx-int8.onnx"
#: The content features, in registry order: what the deep model reads.
CONTENT_FEATURES: tuple[str, ...] = FEATURE_GROUPS["content"]
CONTENT_COLUMNS: list[int] = [FEATURE_NAMES.index(f) for f in CONTENT_FEATURES]


@dataclass(frozen=True)
class DeepOptions:
    log: Path
    model: Path
    sample: int = 16000
    rounds: int = 150
    seed: int = 0
    stranger_log: Path | None = None


def sample_train_split(log: Path, n: int, seed: int) -> list[dict[str, Any]]:
    """A seeded sample of ``n`` requests of the build's train split (the build's group split with
    the same seed), in time order."""
    source = LogSource([log])
    split_of = group_split(source, seed=seed)
    train = [record for record in source if split_of.of(record) == "train"]
    if not train:
        raise ValueError(f"{log} has no train-split requests to sample")
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.permutation(len(train))[:n])
    return sorted((train[int(i)] for i in keep), key=_time_of)


def _time_of(record: dict[str, Any]) -> float:
    from intent_guard.types import Request

    return Request.from_dict(record).timestamp


def replay_deep(bundle: Path, records: list[dict[str, Any]], label: str) -> Replayed:
    """Replay ``records`` (time order) through the bundle's pipeline with the deep encoder."""
    import warnings

    from intent_guard.pipeline import FeaturePipeline
    from intent_guard.session import MemoryStore

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the int8 encoder's "slower than static" note
        pipeline = FeaturePipeline.from_manifest(load_manifest(bundle), MemoryStore(), DEEP_ENCODER)
    return replay(pipeline, records, total=len(records), batch_size=64, label=label)


def train_deep(train: Replayed, *, rounds: int, seed: int) -> Any:
    """The monotone, account-balanced LightGBM on the content columns of ``train``."""
    names = list(CONTENT_FEATURES)
    return train_lightgbm(
        train.X[:, CONTENT_COLUMNS],
        train.y,
        names,
        rounds=rounds,
        seed=seed,
        monotone=monotone_constraints(names),
        accounts=train.account,
    )


def attach_to_bundle(bundle: Path, booster: Any, train: Replayed, info: dict[str, Any]) -> dict[str, Any]:
    """Write the deep model into ``bundle`` (ONNX, parity-checked) and its ``deep_content`` manifest
    section; every file is re-hashed and the bundle verified after writing."""
    manifest = load_manifest(bundle)
    path = bundle / DEEP_FILE
    export_onnx(booster, len(CONTENT_FEATURES), path)
    parity = check_parity(booster, path, train.X[:, CONTENT_COLUMNS])
    data = json.loads(json.dumps(manifest.data))
    section = {
        "file": DEEP_FILE,
        "encoder": DEEP_ENCODER,
        "features": list(CONTENT_FEATURES),
        "version": sha256_file(path)[:8],
        "onnx_parity_max_abs_diff": parity,
        **info,
    }
    data["deep_content"] = section
    data["files"][DEEP_FILE] = sha256_file(path)
    (bundle / MANIFEST).write_text(json.dumps(data, indent=1) + "\n")
    load_manifest(bundle)  # verify what was written
    report = bundle / "report"
    report.mkdir(exist_ok=True)
    (report / "deep_content.md").write_text(
        "# Deep content model\n\n```\n" + format_section(section) + "\n```\n", encoding="utf-8"
    )
    return section


def run(options: DeepOptions) -> dict[str, Any]:
    """Sample, replay, train, attach and (with ``stranger_log``) evaluate; returns the manifest section."""
    from .generalisation import replay_stranger, style_aucs

    started = time.time()
    records = sample_train_split(options.log, options.sample, options.seed)
    train = replay_deep(options.model, records, "replay train sample (int8)")
    booster = train_deep(train, rounds=options.rounds, seed=options.seed)
    info: dict[str, Any] = {
        "training": {
            "requests": len(train),
            "accounts": len(set(train.account.tolist())),
            "positives": int(train.y.sum()),
            "sample_of": f"train split (group split, seed {options.seed})",
            "rounds": options.rounds,
            "seed": options.seed,
        }
    }
    if options.stranger_log is not None:
        stranger = replay_stranger(
            options.model, options.stranger_log, options.stranger_log.parent / "accounts.json", encoder=DEEP_ENCODER
        )
        scores = booster.predict(stranger.X[:, CONTENT_COLUMNS])
        info["stranger_content_auc"] = {"log": str(options.stranger_log), **style_aucs(stranger, scores)}
    section = attach_to_bundle(options.model, booster, train, info)
    print(f"deep content model {section['version']} written to {options.model} in {time.time() - started:.0f} s")
    return section


def format_section(section: dict[str, Any]) -> str:
    """The deep model's summary: training sample and stranger-mode content AUCs."""
    lines = [
        f"deep content model {section['version']} ({section['encoder']}, {len(section['features'])} content features), "
        f"trained on {section['training']['requests']:,} requests of {section['training']['accounts']:,} accounts",
    ]
    aucs = section.get("stranger_content_auc")
    if aucs:
        lines.append(f"stranger mode ({aucs['log']}): request ROC-AUC per campaign style against all benign requests")
        lines += [f"  {k:<20} {v:.4f}" for k, v in aucs.items() if k != "log"]
    return "\n".join(lines)
