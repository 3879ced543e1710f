"""The template library, its FAISS index (== brute force) and the similarity features."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from intent_guard.templates import CATEGORIES, TemplateIndex, build_index, load_templates, similarity_features
from intent_guard.templates.similarity import category_rows

from .conftest import DEFAULT_BUNDLE


def test_library_meets_the_contract() -> None:
    templates = load_templates(DEFAULT_BUNDLE / "templates.jsonl")
    assert len(templates) >= 150
    categories = Counter(t.category for t in templates)
    assert len(categories) >= 8 and set(categories) <= set(CATEGORIES)
    assert len({t.lang for t in templates}) >= 4
    assert len({t.id for t in templates}) == len(templates)


@pytest.mark.parametrize("n", [50, 1000])
def test_faiss_search_equals_brute_force(n: int) -> None:
    rng = np.random.default_rng(n)
    vectors = rng.normal(size=(n, 64)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    queries = rng.normal(size=(20, 64)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    sims, rows = TemplateIndex(build_index(vectors)).search(queries, 10)
    brute = queries @ vectors.T
    expected_rows = np.argsort(-brute, axis=1, kind="stable")[:, :10]
    np.testing.assert_allclose(sims, np.take_along_axis(brute, expected_rows, axis=1), atol=1e-5)
    np.testing.assert_array_equal(rows, expected_rows)


def test_shipped_index_matches_its_templates(guard_factory) -> None:
    guard = guard_factory()
    pipeline = guard.pipeline
    vectors = pipeline.embedder.embed([t.embedding_text() for t in pipeline.templates])
    sims, rows = pipeline.index.search(vectors, 1)
    found_itself = rows[:, 0] == np.arange(len(vectors))
    assert found_itself.mean() > 0.97  # (near-duplicate wordings may tie)
    np.testing.assert_allclose(sims[:, 0], 1.0, atol=1e-4)  # the best hit is always a perfect match


def test_similarity_features_fold_views_per_category() -> None:
    categories = np.array([0, 0, 0, 1, 2])
    head = (np.array([0.9, 0.5, 0.4, 0.3, 0.1]), np.array([0, 3, 1, 2, 4]))
    tail = (np.array([0.95, 0.8, 0.2, 0.1, 0.0]), np.array([1, 0, 3, 2, 4]))
    features = similarity_features([head, tail], np.array([0.7, 0.2]), categories)
    assert features.best_row == 1 and features.best_similarity == pytest.approx(0.95)
    # category 0: rows 0 (0.9), 1 (0.95), 2 (0.3) -> max 0.95, top-3 mean (0.95+0.9+0.3)/3
    assert features.category_max[0] == pytest.approx(0.95)
    assert features.category_topk[0] == pytest.approx((0.95 + 0.9 + 0.3) / 3)
    assert features.category_max[1] == pytest.approx(0.5)
    assert features.system_max == pytest.approx(0.7)
    assert features.category_max[3] == 0.0  # no template of that category


@pytest.mark.parametrize("seed", range(5))
def test_single_view_fast_path_equals_general_fold(seed: int) -> None:
    rng = np.random.default_rng(seed)
    categories = rng.integers(0, len(CATEGORIES) - 1, size=40)
    sims = np.sort(rng.uniform(-0.2, 1.0, size=40).astype(np.float32))[::-1]
    rows = rng.permutation(40)
    fast = similarity_features([(sims, rows)], None, categories)
    # The same hits split over two views (so the general path runs) give the same features.
    general = similarity_features([(sims[:20], rows[:20]), (sims[20:], rows[20:])], None, categories)
    for field in ("category_max", "category_topk"):
        np.testing.assert_allclose(getattr(fast, field), getattr(general, field), atol=1e-7)
    assert (fast.best_row, fast.user_max) == (general.best_row, general.user_max)


def test_unknown_category_is_refused() -> None:
    from intent_guard import BundleError
    from intent_guard.templates import Template

    with pytest.raises(BundleError, match="outside the feature contract"):
        category_rows([Template("x", "jailbreak", "en", "t")])


def test_a_querys_hits_do_not_depend_on_its_batch(guard_factory) -> None:
    """Replayed (batched) and served (single) requests must see bit-identical similarities."""
    index = guard_factory().pipeline.index
    rng = np.random.default_rng(0)
    queries = rng.normal(size=(600, index.dim)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    batched, _ = index.search(queries, 32)
    single = np.vstack([index.search(queries[i : i + 1], 32)[0] for i in range(len(queries))])
    np.testing.assert_array_equal(batched, single)
