"""The feature pipeline: request -> views -> embeddings -> template hits -> session update -> feature row.

This is the one code path that computes features, for serving (:class:`intent_guard.Guard`) and
for training (``training/`` replays labelled logs through it), so there is no train/serve skew.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .bundle import Manifest
from .embed import Embedder, load_embedder
from .embed.base import TokenWindows, normalise_rows
from .errors import BundleError, InvalidRequestError
from .features import FEATURE_NAMES, request_features
from .session import TOPIC_DIM, Event, SessionStore
from .templates import Template, TemplateIndex, load_templates
from .templates.similarity import SimilarityFeatures, category_rows, search_k, similarity_features
from .text import HEAD_TOKENS, TAIL_TOKENS, PromptParts, prompt_parts
from .types import Request


@dataclass(frozen=True, slots=True)
class RequestFeatures:
    """One request's feature row (FEATURE_NAMES order) and the similarity evidence behind it."""

    request: Request
    row: np.ndarray
    similarity: SimilarityFeatures


def coerce_request(request: Request | Mapping[str, Any]) -> Request:
    """A Request as is; a dict validated by Request.from_dict; anything else refused."""
    if isinstance(request, Request):
        return request
    if isinstance(request, Mapping):
        return Request.from_dict(request)
    raise InvalidRequestError(f"a request must be a Request or a dict, got {type(request).__name__}")


def load_topic_projection(path: Path) -> np.ndarray:
    """[TOPIC_DIM + 1, dim]: row 0 the mean embedding, rows 1.. the principal axes."""
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise BundleError(f"cannot read topic projection {path}: {exc}") from exc


class FeaturePipeline:
    """Computes feature rows in request order, updating the session store as it goes."""

    def __init__(
        self,
        *,
        embedder: Embedder,
        windows: TokenWindows,
        index: TemplateIndex,
        templates: list[Template],
        topic_projection: np.ndarray,
        store: SessionStore,
        template_like_similarity: float,
    ) -> None:
        if len(templates) != index.size:
            raise BundleError(
                f"template index has {index.size} vectors but the library has {len(templates)} templates; "
                "rebuild the index"
            )
        if index.dim != embedder.dim:
            raise BundleError(f"template index has dimension {index.dim}, encoder {embedder.dim}")
        if topic_projection.shape != (TOPIC_DIM + 1, embedder.dim):
            raise BundleError(
                f"topic projection has shape {topic_projection.shape}; expected {(TOPIC_DIM + 1, embedder.dim)}"
            )
        self.embedder = embedder
        self.windows = windows
        self.index = index
        self.templates = templates
        self.store = store
        self.template_like_similarity = float(template_like_similarity)
        self.topic_projection = topic_projection
        self._topic_mean = topic_projection[0].astype(np.float32)
        self._topic_axes = np.ascontiguousarray(topic_projection[1:].T, dtype=np.float32)
        self._categories = category_rows(templates)
        self._k = search_k(index)

    @classmethod
    def from_manifest(cls, manifest: Manifest, store: SessionStore, encoder: str | None = None) -> FeaturePipeline:
        """Build the pipeline a bundle describes (its serving encoder unless ``encoder`` is given)."""
        import faiss

        spec = manifest.encoder(encoder or manifest.serving_encoder)
        faiss.omp_set_num_threads(1)  # single queries are faster on one thread (see FACTS)
        embedder = load_embedder(
            encoder or manifest.serving_encoder, manifest.path(spec["file"]), manifest.path(manifest.data["tokenizer"])
        )
        return cls(
            embedder=embedder,
            windows=embedder.windows,  # type: ignore[attr-defined]
            index=TemplateIndex.load(manifest.path(spec["index"])),
            templates=load_templates(manifest.path(manifest.data["templates"])),
            topic_projection=load_topic_projection(manifest.path(spec["topic_projection"])),
            store=store,
            template_like_similarity=manifest.data["template_like_similarity"],
        )

    def run(self, requests: Sequence[Request | Mapping[str, Any]]) -> list[RequestFeatures]:
        """Feature rows for a batch, in order. All requests are validated before any state changes."""
        parsed = [coerce_request(r) for r in requests]
        if not parsed:
            return []
        parts = [prompt_parts(r) for r in parsed]
        head, tail, system = self.embed_views(parts)
        sims = self.match(head, tail, system)
        topics = self.topics(head)
        out: list[RequestFeatures] = []
        for i, (request, part, sim) in enumerate(zip(parsed, parts, sims, strict=True)):
            event = Event(
                timestamp=request.timestamp,
                template_like=sim.user_max >= self.template_like_similarity,
                similarity=sim.user_max,
                topic=topics[i],
            )
            account_state, key_state = self.store.apply(
                [
                    (f"a:{request.account_id}", event),
                    (f"k:{request.api_key_id or request.account_id}", event),
                ]
            )
            out.append(RequestFeatures(request, request_features(request, part, sim, account_state, key_state), sim))
        return out

    def embed_views(self, parts: list[PromptParts]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Head, tail and system vectors per request (zero rows where a view is empty)."""
        n = len(parts)
        texts: list[str] = []
        slots: list[tuple[int, int]] = []  # (view, request)
        for i, p in enumerate(parts):
            for view, text in enumerate((p.user_head, p.user_tail, p.system_head)):
                if text:
                    texts.append(text)
                    slots.append((view, i))
        windows: list[list[list[int]]] = [[[] for _ in range(n)] for _ in range(3)]
        for (view, i), token_ids in zip(slots, self.windows.ids(texts), strict=True):
            windows[view][i] = token_ids
        for i in range(n):
            head = windows[0][i]
            if windows[1][i]:
                windows[1][i] = windows[1][i][-TAIL_TOKENS:]
            elif len(head) > HEAD_TOKENS:  # fits the character window but not the token window
                windows[1][i] = head[-TAIL_TOKENS:]
            windows[0][i] = head[:HEAD_TOKENS]
            windows[2][i] = windows[2][i][:HEAD_TOKENS]
        vectors = self.embedder.embed_ids(windows[0] + windows[1] + windows[2])
        return vectors[:n], vectors[n : 2 * n], vectors[2 * n :]

    def match(self, head: np.ndarray, tail: np.ndarray, system: np.ndarray) -> list[SimilarityFeatures]:
        """Template similarity features from one FAISS search over every view of the batch."""
        n = len(head)
        queries = np.vstack([head, tail, system])
        sims, rows = self.index.search(queries, self._k)
        live = queries.any(axis=1)
        sims = np.where(live[:, None], sims, 0.0)
        rows = np.where(live[:, None], rows, -1)
        return [
            similarity_features(
                np.stack([sims[i], sims[n + i]]),
                np.stack([rows[i], rows[n + i]]),
                sims[2 * n + i] if live[2 * n + i] else None,
                self._categories,
            )
            for i in range(n)
        ]

    def topics(self, head: np.ndarray) -> np.ndarray:
        """Unit topic vectors (TOPIC_DIM) of the head views; zero for empty prompts."""
        # einsum, not BLAS matmul: each row's result must not depend on the batch it came in.
        topics = np.einsum("ij,jk->ik", head - self._topic_mean, self._topic_axes, optimize=False)
        topics[~head.any(axis=1)] = 0.0
        return normalise_rows(topics.astype(np.float32))


__all__ = ["FEATURE_NAMES", "FeaturePipeline", "RequestFeatures", "coerce_request"]
