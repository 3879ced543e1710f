"""The deep content model: a content-only monotone LightGBM on the transformer encoder's features.

The inline path embeds with the static encoder (microseconds). The transformer (ONNX int8) matches
a stranger's new wordings far better but costs tens of milliseconds a request, so it serves
*beside* the inline path (``intent_guard.deep``), never inside it. This module trains its model:

1. a seeded sample of the build's *train* split (the split mode and seed its manifest records, on
   the log whose digest it records: no calib / test account is ever seen), replayed in time
   order through the bundle's pipeline with the int8 encoder;
2. a LightGBM on the content features only (template similarities, elicitation cues, bounded
   output), monotone in the registry's directions, every account weighing the same;
3. exported to ONNX (parity-checked against LightGBM) as ``content-onnx-int8.onnx`` and recorded
   in the bundle's manifest (``deep_content``), every file re-hashed;
4. scored on a labelled log written by someone else (stranger mode): request ROC-AUC of each
   campaign style's requests against all benign requests, and their mean (macro).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from intent_guard.bundle import MANIFEST, load_manifest, sha256_file
from intent_guard.deep import DEEP_ENCODER
from intent_guard.features import FEATURE_GROUPS, FEATURE_NAMES

from .ablation import train_on_groups
from .model import check_parity, export_onnx
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
    stranger_log: Path | None = None


class DeepDataError(ValueError):
    """The log cannot train this bundle's deep model (not the log it was built from, no train split)."""


@dataclass(frozen=True)
class BuildSplit:
    """How the bundle's build split its log: the deep model samples the same train side."""

    mode: str
    seed: int
    digest: str

    @classmethod
    def of(cls, bundle: Path) -> BuildSplit:
        data = load_manifest(bundle).data
        try:
            return cls(
                str(data["training_data"]["split"]), int(data["training"]["seed"]), str(data["training_data"]["digest"])
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DeepDataError(
                f"bundle {bundle} does not record its build's split, seed and data digest: {exc}"
            ) from exc

    def check(self, log: Path) -> None:
        """Refuse a log other than the one the bundle was built from (its calib / test accounts
        would then not be known, and could end up in the deep model's training sample)."""
        from .assemble import data_digest

        if data_digest([log]) != self.digest:
            raise DeepDataError(
                f"{log} is not the log this bundle was built from (its training_data.digest differs): the deep "
                "model must sample the build's own train split"
            )


def sample_train_split(log: Path, n: int, split: BuildSplit) -> list[dict[str, Any]]:
    """A seeded sample of ``n`` requests of the build's train split (its split mode and seed), in time order."""
    source = LogSource([log])
    split_of = group_split(source, seed=split.seed, mode=split.mode)
    train = [record for record in source if split_of.of(record) == "train"]
    if not train:
        raise DeepDataError(f"{log} has no train-split requests to sample")
    rng = np.random.default_rng(split.seed)
    keep = np.sort(rng.permutation(len(train))[:n])
    from .generalisation import _time_of

    return sorted((train[int(i)] for i in keep), key=_time_of)


def replay_deep(bundle: Path, records: list[dict[str, Any]], label: str) -> Replayed:
    """Replay ``records`` (time order) through the bundle's pipeline with the deep encoder."""
    from intent_guard.pipeline import FeaturePipeline
    from intent_guard.session import MemoryStore

    pipeline = FeaturePipeline.from_manifest(load_manifest(bundle), MemoryStore(), DEEP_ENCODER)
    return replay(pipeline, records, total=len(records), label=label)


def train_deep(train: Replayed, *, rounds: int, seed: int) -> Any:
    """The build's recipe (monotone, account-balanced LightGBM) on the content columns of ``train``."""
    booster, _ = train_on_groups(train, ("content",), rounds=rounds, seed=seed)  # columns: CONTENT_COLUMNS
    return booster


def attach_to_bundle(bundle: Path, booster: Any, train: Replayed, info: dict[str, Any]) -> dict[str, Any]:
    """Write the deep model into ``bundle`` (ONNX, parity-checked) and its ``deep_content`` manifest
    section, tied to the template library and int8 index it was trained against; every file is
    re-hashed and the bundle verified after writing. The model and the manifest are each written
    to a temporary file and moved into place, so a failure leaves the bundle as it was (or, between
    the two moves, fails the hash check by name instead of serving a half-written file)."""
    manifest = load_manifest(bundle)
    path = bundle / DEEP_FILE
    staged = bundle / (DEEP_FILE + ".tmp")
    try:
        export_onnx(booster, len(CONTENT_FEATURES), staged)
        parity = check_parity(booster, staged, train.X[:, CONTENT_COLUMNS])
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    data = json.loads(json.dumps(manifest.data))
    files = data["files"]
    section = {
        "file": DEEP_FILE,
        "encoder": DEEP_ENCODER,
        "features": list(CONTENT_FEATURES),
        "version": sha256_file(staged)[:8],
        "trained_against": {
            manifest.templates: files[manifest.templates],
            manifest.encoder(DEEP_ENCODER).index: files[manifest.encoder(DEEP_ENCODER).index],
        },
        "onnx_parity_max_abs_diff": parity,
        **info,
    }
    data["deep_content"] = section
    files[DEEP_FILE] = sha256_file(staged)
    os.replace(staged, path)
    manifest_tmp = bundle / (MANIFEST + ".tmp")
    manifest_tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(manifest_tmp, bundle / MANIFEST)
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
    split = BuildSplit.of(options.model)
    split.check(options.log)
    records = sample_train_split(options.log, options.sample, split)
    train = replay_deep(options.model, records, "replay train sample (int8)")
    booster = train_deep(train, rounds=options.rounds, seed=split.seed)
    info: dict[str, Any] = {"training": training_info(train, split, options.rounds)}
    if options.stranger_log is not None:
        stranger = replay_stranger(
            options.model, options.stranger_log, options.stranger_log.parent / "accounts.json", encoder=DEEP_ENCODER
        )
        scores = booster.predict(stranger.X[:, CONTENT_COLUMNS])
        info["stranger_content_auc"] = {"log": log_name(options.stranger_log), **style_aucs(stranger, scores)}
    section = attach_to_bundle(options.model, booster, train, info)
    print(f"deep content model {section['version']} written to {options.model} in {time.time() - started:.0f} s")
    return section


def training_info(train: Replayed, split: BuildSplit, rounds: int) -> dict[str, Any]:
    """What the manifest records of the deep model's training sample."""
    return {
        "requests": len(train),
        "accounts": len(set(train.account.tolist())),
        "positives": int(train.y.sum()),
        "sample_of": f"the build's train split ({split.mode}, seed {split.seed}, data digest {split.digest[:12]})",
        "rounds": rounds,
        "seed": split.seed,
    }


def log_name(path: Path) -> str:
    """A log's folder and file name (no machine-specific absolute path in a shipped bundle)."""
    return f"{path.parent.name}/{path.name}"


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
