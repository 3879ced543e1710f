"""Compare the encoders on what they are for: finding extraction wrappers in labelled traffic.

For a seeded sample of a labelled log, each encoder embeds the requests' views and matches them
against its own template index (stateless: no session features). Reported per encoder: ROC-AUC of
the best template similarity for campaign vs benign requests, agreement of its best template with
the fp32 transformer's, and embedding latency per request (one at a time, p50 / p99).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from intent_guard.bundle import load_manifest
from intent_guard.embed import OnnxEmbedder
from intent_guard.pipeline import FeaturePipeline
from intent_guard.session import MemoryStore
from intent_guard.templates import TemplateIndex, build_index
from intent_guard.text import prompt_parts
from intent_guard.types import Request

from .metrics import roc_auc
from .records import iter_records


def _sample(log: Path, n: int, seed: int = 0) -> list[dict[str, Any]]:
    records = list(iter_records(log))
    rng = np.random.default_rng(seed)
    picked = sorted(rng.choice(len(records), size=min(n, len(records)), replace=False).tolist())
    return [records[i] for i in picked]


def _measure(pipeline: FeaturePipeline, requests: list[Request]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    parts = [prompt_parts(r) for r in requests]
    sims = pipeline.match(pipeline.embed_views(parts))
    latencies = []
    for part in parts[:300]:
        t = time.perf_counter()
        pipeline.match(pipeline.embed_views([part]))
        latencies.append(time.perf_counter() - t)
    return (
        np.array([s.user_max for s in sims]),
        np.array([s.best_row for s in sims]),
        np.array(latencies) * 1e3,
    )


def compare(model: Path, log: Path, fp32: Path | None, sample: int = 3000) -> dict[str, Any]:
    manifest = load_manifest(model)
    records = _sample(log, sample)
    requests = [Request.from_dict(r) for r in records]
    y = np.array([r["label"] for r in records])
    pipelines = {
        kind: FeaturePipeline.from_manifest(manifest, MemoryStore(), kind) for kind in manifest.data["encoders"]
    }
    if fp32 is not None and fp32.is_file():
        base = pipelines["onnx-int8"] if "onnx-int8" in pipelines else next(iter(pipelines.values()))
        embedder = OnnxEmbedder(fp32, manifest.path(manifest.data["tokenizer"]))
        index = TemplateIndex(build_index(embedder.embed([t.embedding_text() for t in base.templates])))
        if base.topic_centroids.shape[1] == embedder.dim:  # session state is unused here
            pipelines["onnx-fp32"] = FeaturePipeline(
                embedder=embedder,
                windows=embedder.windows,
                index=index,
                templates=base.templates,
                topic_centroids=base.topic_centroids,
                store=MemoryStore(),
                template_like_similarity=0.5,
            )
    measured = {kind: _measure(p, requests) for kind, p in pipelines.items()}
    reference = measured.get("onnx-fp32")
    out: dict[str, Any] = {"sample": len(records), "positives": int(y.sum())}
    for kind, (best_sim, best_row, latency) in measured.items():
        out[kind] = {
            "roc_auc_best_template_similarity": round(roc_auc(y, best_sim), 4),
            "embed_and_match_ms_p50": round(float(np.percentile(latency, 50)), 3),
            "embed_and_match_ms_p99": round(float(np.percentile(latency, 99)), 3),
        }
        if reference is not None:
            out[kind]["best_template_agrees_with_fp32"] = round(float((best_row == reference[1]).mean()), 4)
    return out
