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
from .cues import bounded_output, cue_mask, cue_windows, elicitation_cues, words_in
from .embed import Embedder, load_embedder
from .embed.base import TokenWindows
from .errors import BundleError, InvalidRequestError
from .features import FEATURE_GROUPS, FEATURE_NAMES, FeatureInputs, content_row, feature_row
from .linking import link_values, skeleton
from .session import (
    ACCOUNT,
    LINK,
    AccountView,
    ClusterView,
    Observation,
    SessionStore,
    account_update,
    link_update,
)
from .session.entities import TOPIC_BINS, account_key, stable_hash
from .templates import Template, TemplateIndex, load_templates
from .templates.similarity import FULL_SEARCH_LIMIT, CategoryFolder, SimilarityFeatures, category_rows, search_k
from .text import HEAD_TOKENS, TAIL_TOKENS, PromptParts, prompt_parts, segment_spans
from .types import Request


@dataclass(frozen=True, slots=True)
class EmbeddedViews:
    """Vectors of the non-empty views of a batch and of their segments.

    ``index[view, request]`` is a row of ``vectors`` or -1 (views: 0 = user head, 1 = user tail,
    2 = system head); ``user_segments[request]`` and ``system_segments[request]`` list the rows of
    the sentences / lines of the user and system views.
    """

    vectors: np.ndarray
    index: np.ndarray
    user_segments: list[list[int]]
    system_segments: list[list[int]]


@dataclass(frozen=True, slots=True)
class PreparedRequest:
    """A validated request with everything computed about it that does not depend on state."""

    request: Request
    parts: PromptParts
    similarity: SimilarityFeatures
    topic: int


@dataclass(frozen=True, slots=True)
class RequestFeatures:
    """One request's feature row (FEATURE_NAMES order) and the similarity evidence behind it."""

    request: Request
    row: np.ndarray
    similarity: SimilarityFeatures
    degraded: bool = False  # the session store fell back to local state for this request


def coerce_request(request: Request | Mapping[str, Any]) -> Request:
    """A Request as is; a dict validated by Request.from_dict; anything else refused."""
    if isinstance(request, Request):
        return request
    if isinstance(request, Mapping):
        return Request.from_dict(request)
    raise InvalidRequestError(f"a request must be a Request or a dict, got {type(request).__name__}")


def load_topic_centroids(path: Path) -> np.ndarray:
    """[TOPIC_BINS, dim] unit vectors: k-means centroids of prompt embeddings."""
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise BundleError(f"cannot read topic centroids {path}: {exc}") from exc


class FeaturePipeline:
    """Computes feature rows in request order, updating the session store as it goes."""

    def __init__(
        self,
        *,
        embedder: Embedder,
        windows: TokenWindows,
        index: TemplateIndex,
        templates: list[Template],
        topic_centroids: np.ndarray,
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
        if topic_centroids.shape != (TOPIC_BINS, embedder.dim):
            raise BundleError(
                f"topic centroids have shape {topic_centroids.shape}; expected {(TOPIC_BINS, embedder.dim)}"
            )
        self.embedder = embedder
        self.windows = windows
        self.index = index
        self.templates = templates
        self.store = store
        self.template_like_similarity = float(template_like_similarity)
        self.topic_centroids = topic_centroids
        self._centroids_t = np.ascontiguousarray(topic_centroids.T, dtype=np.float32)
        self._row_category = category_rows(templates)
        self._fold = CategoryFolder(self._row_category)
        self._k = search_k(index)
        # A library small enough to search exhaustively is scored as one small matrix product per
        # request (no top-k sort): exact, and a request's similarities never depend on its batch.
        self._dense = (
            np.ascontiguousarray(index.vectors().T, dtype=np.float32) if index.size <= FULL_SEARCH_LIMIT else None
        )

    @classmethod
    def from_manifest(cls, manifest: Manifest, store: SessionStore, encoder: str | None = None) -> FeaturePipeline:
        """Build the pipeline a bundle describes (its serving encoder unless ``encoder`` is given)."""
        import faiss

        spec = manifest.encoder(encoder or manifest.serving_encoder)
        faiss.omp_set_num_threads(1)  # single queries are faster on one thread (see FACTS)
        # Never switch to the BLAS kernel for large query batches: a query's similarities must not
        # depend on the batch it came in (replayed features == served features, bit for bit).
        faiss.cvar.distance_compute_blas_threshold = 1 << 30
        embedder = load_embedder(
            encoder or manifest.serving_encoder, manifest.path(spec.file), manifest.path(manifest.tokenizer)
        )
        return cls(
            embedder=embedder,
            windows=embedder.windows,  # type: ignore[attr-defined]
            index=TemplateIndex.load(manifest.path(spec.index)),
            templates=load_templates(manifest.path(manifest.templates)),
            topic_centroids=load_topic_centroids(manifest.path(spec.topic_centroids)),
            store=store,
            template_like_similarity=manifest.template_like_similarity,
        )

    def run(self, requests: Sequence[Request | Mapping[str, Any]]) -> list[RequestFeatures]:
        """Feature rows for a batch, in order. All requests are validated before any state changes."""
        return [self.session(prepared) for prepared in self.prepare(requests)]

    def prepare(self, requests: Sequence[Request | Mapping[str, Any]]) -> list[PreparedRequest]:
        """The stateless part for a batch (validation, views, embeddings, template matches, topics).

        Every request is validated before anything is returned, so a bad one changes no state."""
        parsed = [coerce_request(r) for r in requests]
        if not parsed:
            return []
        parts = [prompt_parts(r) for r in parsed]
        views = self.embed_views(parts)
        sims = self.match(views)
        topics = self.topics(views)
        return [
            PreparedRequest(request, part, sim, int(topic))
            for request, part, sim, topic in zip(parsed, parts, sims, topics.tolist(), strict=True)
        ]

    def session(self, prepared: PreparedRequest) -> RequestFeatures:
        """The stateful part for one request (in time order): update its account and link values in
        one store call and read its feature row.

        (No per-key state is kept: no feature reads it, and a missing ``api_key_id`` must not matter.)"""
        request, part, sim, topic = prepared.request, prepared.parts, prepared.similarity, prepared.topic
        template_like = sim.user_max >= self.template_like_similarity
        cues, bounded = lexical_features(part)
        skeleton_text = skeleton(part.user_text)
        obs = Observation(
            timestamp=request.timestamp,
            template_like=template_like,
            similarity=sim.user_max,
            category=int(self._row_category[sim.best_row]) if template_like and sim.best_row >= 0 else -1,
            topic=topic,
            cues=cue_mask(cues),
            skeleton=stable_hash(skeleton_text) if skeleton_text else -1,
        )
        links = link_values(request, part, skeleton_text)
        updates = [
            (account_key(request.account_id), ACCOUNT, account_update(obs)),
            *((key, LINK, link_update(obs, request.account_id)) for key in links.values()),
        ]
        states, degraded = self.store.apply(updates)
        inputs = FeatureInputs(
            sim=sim,
            cues=cues,
            bounded=bounded,
            account=AccountView(states[0], obs),
            cluster=ClusterView(dict(zip(links, states[1:], strict=True)), request.timestamp),
        )
        return RequestFeatures(request, feature_row(inputs), sim, degraded)

    def content_rows(self, requests: Sequence[Request | Mapping[str, Any]]) -> np.ndarray:
        """The content features alone of each request (``FEATURE_GROUPS["content"]`` order), exactly
        as :meth:`session` computes them, with no state read or written."""
        rows = [content_row(p.similarity, *lexical_features(p.parts)) for p in self.prepare(requests)]
        return np.stack(rows) if rows else np.zeros((0, len(FEATURE_GROUPS["content"])), dtype=np.float32)

    def embed_views(self, parts: list[PromptParts]) -> EmbeddedViews:
        """Embed the non-empty head, tail and system views of each request, and their segments, in one call."""
        n = len(parts)
        texts: list[str] = []
        slots: list[tuple[int, int]] = []  # (view, request)
        for i, p in enumerate(parts):
            for view, text in enumerate((p.user_head, p.user_tail, p.system_head)):
                if text:
                    texts.append(text)
                    slots.append((view, i))
        encoded: list[list[tuple[str, list[int], list[tuple[int, int]]]]] = [[("", [], [])] * n for _ in range(3)]
        for (view, i), text, (token_ids, offsets) in zip(slots, texts, self.windows.encode(texts), strict=True):
            encoded[view][i] = (text, token_ids, offsets)
        index = np.full((3, n), -1, dtype=np.int64)
        user_segments: list[list[int]] = [[] for _ in range(n)]
        system_segments: list[list[int]] = [[] for _ in range(n)]
        live: list[list[int]] = []  # windows to embed
        live_spans: list[list[tuple[int, int]]] = []  # each window's segments
        row = 0  # row of the next vector in embed_segmented's output
        for i in range(n):
            head_text, head, head_offsets = encoded[0][i]
            tail_text, tail, tail_offsets = encoded[1][i]
            system_text, system, system_offsets = encoded[2][i]
            windows = [(head_text, head, head_offsets, 0, min(len(head), HEAD_TOKENS), False)]
            if tail:
                windows.append((tail_text, tail, tail_offsets, max(0, len(tail) - TAIL_TOKENS), len(tail), True))
            elif len(head) > HEAD_TOKENS:  # fits the character window but not the token window
                windows.append((head_text, head, head_offsets, len(head) - TAIL_TOKENS, len(head), True))
            else:
                windows.append(("", [], [], 0, 0, True))
            windows.append((system_text, system, system_offsets, 0, min(len(system), HEAD_TOKENS), False))
            for view, (text, ids, offsets, lo, hi, from_end) in enumerate(windows):
                if hi <= lo:
                    continue
                spans = segment_spans(text, offsets, lo, hi, from_end=from_end)
                index[view, i] = row
                (system_segments[i] if view == 2 else user_segments[i]).extend(range(row + 1, row + 1 + len(spans)))
                live.append(ids[lo:hi])
                live_spans.append(spans)
                row += 1 + len(spans)
        return EmbeddedViews(
            vectors=self.embedder.embed_segmented(live, live_spans),
            index=index,
            user_segments=user_segments,
            system_segments=system_segments,
        )

    def match(self, views: EmbeddedViews) -> list[SimilarityFeatures]:
        """Template similarity features of every embedded view and segment of each request."""
        if self._dense is not None:
            return [self._match_dense(views, i) for i in range(views.index.shape[1])]
        if len(views.vectors):
            sims, rows = self.index.search(views.vectors, self._k)
        else:
            sims = np.zeros((0, self._k), dtype=np.float32)
            rows = np.zeros((0, self._k), dtype=np.int64)
        out = []
        for i in range(views.index.shape[1]):
            user, system_rows = _rows_of(views, i)
            out.append(self._fold([(sims[r], rows[r]) for r in user], sims[system_rows] if system_rows else None))
        return out

    def _match_dense(self, views: EmbeddedViews, i: int) -> SimilarityFeatures:
        user, system_rows = _rows_of(views, i)
        if user:
            dense = (views.vectors[user] @ self._dense).max(axis=0)
            np.maximum(dense, 0.0, out=dense)
        else:
            dense = np.zeros(self.index.size, dtype=np.float32)
        system_max = float((views.vectors[system_rows] @ self._dense).max()) if system_rows else 0.0
        return self._fold.from_dense(dense, system_max)

    def topics(self, views: EmbeddedViews) -> np.ndarray:
        """Nearest topic centroid of each request's head view; -1 for an empty prompt."""
        # One vector-matrix product per row: a row's result must not depend on the batch it came in
        # (a batched matmul may pick another BLAS kernel and round differently).
        out = np.full(views.index.shape[1], -1, dtype=np.int64)
        for i, row in enumerate(views.index[0].tolist()):
            if row >= 0:
                out[i] = int(np.argmax(self._centroids_t.T @ views.vectors[row]))
        return out


def lexical_features(parts: PromptParts) -> tuple[tuple[float, ...], float]:
    """The request's elicitation cues and bounded-output cue, read off its cue windows once."""
    lower = cue_windows(parts)
    found = words_in(lower)
    return elicitation_cues(parts, lower, found), bounded_output(parts, lower, found)


def _rows_of(views: EmbeddedViews, i: int) -> tuple[list[int], list[int]]:
    """Rows of ``views.vectors`` holding request ``i``'s user windows and segments, and its system ones."""
    head, tail, system = views.index[:, i].tolist()
    user = [r for r in (head, tail, *views.user_segments[i]) if r >= 0]
    return user, [r for r in (system, *views.system_segments[i]) if r >= 0]


__all__ = ["FEATURE_NAMES", "FeaturePipeline", "RequestFeatures", "coerce_request"]
