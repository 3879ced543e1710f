"""Template mining: propose new extraction templates from traffic no known template explains.

1. Take campaign traffic: labelled campaign requests, or (``--flagged``) requests the bundle
   scores at ``review`` or above.
2. Keep the ones whose best template similarity is below the bundle's template-like similarity:
   the library does not explain them.
3. Cluster their user-head embeddings greedily (a request joins the first cluster whose centroid
   is within ``min_similarity`` cosine, else starts one; at most ``max_clusters``).
4. Propose every cluster with ``min_support`` requests from at least ``min_accounts`` accounts:
   its medoid text (the member nearest the centroid, head window), a category guess (the
   category of the centroid's nearest existing template), its support and example accounts.

A person reviews ``proposals.jsonl``, edits texts and categories, and adds the accepted ones with
``python -m training templates add``, which appends them to the library and rebuilds every
encoder's index in the bundle (and its manifest hashes). The scorer was trained on the old
library's similarities: retrain the bundle to make full use of new templates.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from intent_guard import Guard
from intent_guard.bundle import MANIFEST, load_manifest, sha256_file
from intent_guard.embed import load_embedder
from intent_guard.logs import batched
from intent_guard.templates import Template, TemplateIndex, build_index, load_templates, write_templates
from intent_guard.templates.similarity import CATEGORIES
from intent_guard.text import prompt_parts
from intent_guard.types import Request

from .records import LogSource


@dataclass
class Proposal:
    id: str
    category: str
    lang: str
    text: str
    support: int
    accounts: int
    example_accounts: list[str]
    nearest_template: str
    nearest_similarity: float


def mine(
    model: Path | None,
    logs: list[Path],
    *,
    flagged: bool = False,
    min_similarity: float = 0.75,
    min_support: int = 20,
    min_accounts: int = 2,
    max_clusters: int = 2000,
) -> list[Proposal]:
    guard = Guard.load(model)
    pipeline = guard.pipeline
    threshold = pipeline.template_like_similarity
    source = LogSource(logs, require_labels=not flagged)
    texts: list[str] = []
    accounts: list[str] = []
    vectors: list[np.ndarray] = []

    def flush(batch: list[dict[str, Any]]) -> None:
        if flagged:
            keep = [r for r, v in zip(batch, guard.score_many(batch), strict=True) if v.decision != "allow"]
        else:
            keep = [r for r in batch if r.get("label") == 1]
        if not keep:
            return
        requests = [Request.from_dict(r) for r in keep]
        parts = [prompt_parts(r) for r in requests]
        views = pipeline.embed_views(parts)
        for request, part, sim, row in zip(
            requests, parts, pipeline.match(views), views.index[0].tolist(), strict=True
        ):
            if row >= 0 and sim.user_max < threshold:
                texts.append(part.user_head[:600])
                accounts.append(request.account_id)
                vectors.append(views.vectors[row])

    for batch in batched(source, 512):
        flush(batch)
    return _propose(pipeline, texts, accounts, vectors, min_similarity, min_support, min_accounts, max_clusters)


def _propose(
    pipeline: Any,
    texts: list[str],
    accounts: list[str],
    vectors: list[np.ndarray],
    min_similarity: float,
    min_support: int,
    min_accounts: int,
    max_clusters: int,
) -> list[Proposal]:
    centroids: list[np.ndarray] = []
    members: list[list[int]] = []
    for i, vector in enumerate(vectors):
        if centroids:
            sims = np.array(centroids) @ vector / np.maximum(np.linalg.norm(centroids, axis=1), 1e-9)
            best = int(np.argmax(sims))
            if sims[best] >= min_similarity:
                members[best].append(i)
                centroids[best] = centroids[best] + vector
                continue
        if len(centroids) < max_clusters:
            centroids.append(vector.copy())
            members.append([i])
    proposals = []
    for centroid, rows in zip(centroids, members, strict=True):
        owners = Counter(accounts[r] for r in rows)
        if len(rows) < min_support or len(owners) < min_accounts:
            continue
        unit = centroid / max(np.linalg.norm(centroid), 1e-9)
        medoid = rows[int(np.argmax(np.array([vectors[r] for r in rows]) @ unit))]
        sims, hits = pipeline.index.search(unit[None, :].astype(np.float32), 1)
        nearest = pipeline.templates[int(hits[0, 0])]
        proposals.append(
            Proposal(
                id=f"mined-{len(proposals) + 1:03d}",
                category=nearest.category,
                lang="en",
                text=texts[medoid],
                support=len(rows),
                accounts=len(owners),
                example_accounts=[a for a, _ in owners.most_common(3)],
                nearest_template=nearest.id,
                nearest_similarity=round(float(sims[0, 0]), 4),
            )
        )
    proposals.sort(key=lambda p: -p.support)
    return proposals


def write_proposals(proposals: list[Proposal], path: Path) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for proposal in proposals:
            handle.write(json.dumps(asdict(proposal), ensure_ascii=False) + "\n")


def add_templates(bundle: Path, proposals_file: Path) -> int:
    """Append accepted templates to the bundle's library, rebuild its indexes, re-hash its manifest."""
    manifest = load_manifest(bundle)
    library_file = manifest.path(manifest.data["templates"])
    templates = load_templates(library_file)
    known = {t.id for t in templates}
    added = 0
    for number, line in enumerate(proposals_file.read_text(encoding="utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        record = json.loads(line)
        template = Template(
            id=str(record["id"]),
            category=str(record["category"]),
            lang=str(record.get("lang", "en")),
            text=str(record["text"]),
        )
        if template.category not in CATEGORIES:
            raise ValueError(f"{proposals_file}:{number}: category {template.category!r} is not one of {CATEGORIES}")
        if template.id in known:
            raise ValueError(f"{proposals_file}:{number}: template id {template.id!r} already exists")
        templates.append(template)
        known.add(template.id)
        added += 1
    write_templates(templates, library_file)
    data = dict(manifest.data)
    for kind, spec in data["encoders"].items():
        embedder = load_embedder(kind, manifest.path(spec["file"]), manifest.path(data["tokenizer"]))
        vectors = embedder.embed([t.embedding_text() for t in templates])
        TemplateIndex(build_index(vectors)).save(manifest.path(spec["index"]))
    data["template_count"] = len(templates)
    data["files"] = {name: sha256_file(manifest.path(name)) for name in data["files"]}
    data["bundle_version"] = f"{data['bundle_version'].split('+')[0]}+templates{len(templates)}"
    (bundle / MANIFEST).write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return added
