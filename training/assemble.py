"""Assemble a model bundle directory: per-encoder template indexes, topic projections, manifest.

A bundle is built in two steps because the session features need an index before a scorer can be
trained: :func:`prepare` writes everything but the scorer and returns an in-memory manifest that
``FeaturePipeline.from_manifest`` can replay logs with; :func:`finalise` adds the scorer,
thresholds and digests, hashes every file and writes ``manifest.json``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import platform
import shutil
from collections.abc import Mapping
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from intent_guard import __version__
from intent_guard.bundle import FORMAT_VERSION, MANIFEST, Manifest, draft_manifest, sha256_file
from intent_guard.embed import load_embedder
from intent_guard.features import FEATURE_NAMES, describe
from intent_guard.session.entities import TOPIC_BINS
from intent_guard.templates import build_index, load_templates
from intent_guard.templates.index import TemplateIndex
from intent_guard.text import HEAD_CHARS

ENCODER_FILES = {"static": "encoder-static.npy", "onnx-int8": "encoder-int8.onnx", "onnx-fp32": "encoder-fp32.onnx"}
TOPIC_SAMPLE = 4000
VERSIONED_PACKAGES = (
    "numpy",
    "onnxruntime",
    "tokenizers",
    "faiss-cpu",
    "lightgbm",
    "onnxmltools",
    "onnx",
    "torch",
    "sentence-transformers",
)


def package_versions() -> dict[str, str]:
    versions = {"intent-guard": __version__, "python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return versions


def corpus_texts(corpus_dir: Path, limit: int = TOPIC_SAMPLE, seed: int = 0) -> list[str]:
    """A seeded sample of prompt texts (for the topic projection), head-window sized."""
    texts: list[str] = []
    for file in sorted(corpus_dir.glob("*.jsonl")):
        with file.open(encoding="utf-8") as handle:
            texts.extend(json.loads(line)["text"][:HEAD_CHARS] for line in handle if line.strip())
    rng = np.random.default_rng(seed)
    if len(texts) > limit:
        texts = [texts[i] for i in sorted(rng.choice(len(texts), size=limit, replace=False).tolist())]
    return texts


def topic_centroids(vectors: np.ndarray, k: int = TOPIC_BINS, iterations: int = 30, seed: int = 0) -> np.ndarray:
    """Spherical k-means (k-means++ seeding, fixed seed): [k, dim] unit centroids."""
    rng = np.random.default_rng(seed)
    live = vectors[np.linalg.norm(vectors, axis=1) > 0]
    centroids = [live[rng.integers(len(live))]]
    for _ in range(1, k):
        distance = 1.0 - np.max(live @ np.array(centroids).T, axis=1)
        weights = np.maximum(distance, 0.0) ** 2
        centroids.append(live[rng.choice(len(live), p=weights / weights.sum())])
    c = np.array(centroids)
    for _ in range(iterations):
        assign = np.argmax(live @ c.T, axis=1)
        for j in range(k):
            members = live[assign == j]
            if len(members):
                c[j] = members.sum(axis=0)
        c /= np.linalg.norm(c, axis=1, keepdims=True)
    return c.astype(np.float32)


def prepare(
    out: Path,
    *,
    encoders_dir: Path,
    templates_file: Path,
    corpus_dir: Path,
    encoders: tuple[str, ...] = ("static", "onnx-int8"),
    serving_encoder: str = "static",
    template_like_similarity: float = 0.5,
) -> Manifest:
    """Copy encoders and templates into ``out``, build each encoder's index and topic projection."""
    out.mkdir(parents=True, exist_ok=True)
    for name in ("tokenizer.json", *(ENCODER_FILES[k] for k in encoders)):
        if (encoders_dir / name).resolve() != (out / name).resolve():
            shutil.copyfile(encoders_dir / name, out / name)
    if templates_file.resolve() != (out / "templates.jsonl").resolve():
        shutil.copyfile(templates_file, out / "templates.jsonl")
    templates = load_templates(out / "templates.jsonl")
    sample = corpus_texts(corpus_dir)
    spec: dict[str, dict[str, str]] = {}
    for kind in encoders:
        embedder = load_embedder(kind, out / ENCODER_FILES[kind], out / "tokenizer.json")
        index_name, topic_name = f"templates-{kind}.faiss", f"topic-{kind}.npy"
        TemplateIndex(build_index(embedder.embed([t.embedding_text() for t in templates]))).save(out / index_name)
        np.save(out / topic_name, topic_centroids(embedder.embed(sample)), allow_pickle=False)
        spec[kind] = {"file": ENCODER_FILES[kind], "index": index_name, "topic_centroids": topic_name}
    data: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "bundle_version": "unfinished",
        "serving_encoder": serving_encoder,
        "encoders": spec,
        "tokenizer": "tokenizer.json",
        "templates": "templates.jsonl",
        "template_count": len(templates),
        "template_like_similarity": template_like_similarity,
        "features": list(FEATURE_NAMES),
        "feature_registry": describe(),
        "thresholds": {"review": 1.0, "block": 1.0},
        "files": {},
    }
    return draft_manifest(out, data)


def data_digest(paths: list[Path]) -> str:
    """sha256 over the training logs' bytes, in the order given."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(sha256_file(path).encode())
    return digest.hexdigest()


def finalise(manifest: Manifest, extra: Mapping[str, Any]) -> Path:
    """Write ``manifest.json`` with ``extra`` merged in and every bundle file hashed."""
    data = dict(manifest.data)
    data.update(extra)
    data["versions"] = package_versions()
    data["created_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    files = ["tokenizer.json", data["templates"], data["scorer"]]
    for spec in data["encoders"].values():
        files += [spec["file"], spec["index"], spec["topic_centroids"]]
    data["files"] = {name: sha256_file(manifest.root / name) for name in sorted(set(files))}
    if "bundle_version" not in extra:
        scorer_hash = data["files"][data["scorer"]][:8]
        data["bundle_version"] = f"{__version__}-{scorer_hash}"
    path = manifest.root / MANIFEST
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
